/**
 * Load and soak on loopback: mixed reads (list, get, stat over Connect JSON on HTTP/1.1, Connect binary
 * on h2c and gRPC) and lifecycle writes (create -> start -> report_progress -> succeed / fail / cancel,
 * and deletes) from 32 concurrent loops against the server in a child process. No call may fail, no
 * acknowledged write may be lost (every job's final state is read back), and the server's heap after a
 * full GC must stay roughly flat once warmed up.
 *
 * Bounded: the default run makes SOAK_REQUESTS (3,000) calls; `npm run test:soak` runs for SOAK_SECONDS
 * (300) instead, checking memory every 30 s.
 */
import { type ChildProcess, fork } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { fromJson } from "@bufbuild/protobuf";
import { createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobLifecycle } from "../../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import {
  Job,
  JobInfo_ResourceGroup,
  type JobInfo_Status,
  JobStatQuerySchema,
  JobsQuerySchema,
} from "../../gen/spaceone/api/identity/v2/job_pb.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const LONG = process.env.SOAK === "1";
const SECONDS = Number(process.env.SOAK_SECONDS ?? 300);
const REQUESTS = Number(process.env.SOAK_REQUESTS ?? 3000);
const CONCURRENCY = 32;
/** Heap may grow by this much past the warmed-up baseline (caches fill: statements, regexes, h2 sessions). */
const HEAP_SLACK_BYTES = 24 * 1024 * 1024;

const STAT_BY_STATUS = fromJson(JobStatQuerySchema, {
  query: {
    aggregate: [
      { group: { keys: [{ key: "status", name: "s" }], fields: [{ name: "n", operator: "count" }] } },
    ],
  },
});

interface Ready {
  url: string;
  admin: string;
  system: string;
}
interface Memory {
  heapUsed: number;
  rss: number;
  gc: boolean;
}

let child: ChildProcess;
let ready: Ready;

function next<T>(predicate: (message: Record<string, unknown>) => boolean): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown) => {
      if (typeof message === "object" && message !== null && predicate(message as Record<string, unknown>)) {
        child.off("message", onMessage);
        resolve(message as T);
      }
    };
    child.on("message", onMessage);
    child.once("exit", (code) => reject(new Error(`soak server exited (${code})`)));
  });
}

async function memory(): Promise<Memory> {
  const answer = next<{ mem: Memory }>((m) => "mem" in m);
  child.send("mem");
  return (await answer).mem;
}

beforeAll(async () => {
  child = fork(path.join(here, "../support/soak-server.ts"), [], {
    execArgv: ["--expose-gc", "--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  ready = await next<Ready>((m) => m.ready === true);
}, 60_000);

afterAll(async () => {
  if (!child || child.exitCode !== null) return;
  const stopped = next((m) => m.stopped === true).catch(() => undefined);
  child.send("stop");
  await Promise.race([stopped, new Promise((r) => setTimeout(r, 5000))]);
  child.kill("SIGKILL");
});

/** What the writes acknowledged: each job's last confirmed status, or "deleted". */
type Ack = JobInfo_Status | "deleted";

describe("soak", () => {
  it(
    LONG ? `mixed load for ${SECONDS} s` : `${REQUESTS} mixed calls, ${CONCURRENCY} at a time`,
    async () => {
      const transports: Transport[] = [
        createConnectTransport({ baseUrl: ready.url, httpVersion: "1.1" }),
        createConnectTransport({ baseUrl: ready.url, httpVersion: "2", useBinaryFormat: true }),
        createGrpcTransport({ baseUrl: ready.url }),
      ];
      const jobs = transports.map((t) => createClient(Job, t));
      const lifecycles = transports.map((t) => createClient(JobLifecycle, t));
      const read = { headers: { token: ready.admin } };
      const write = { headers: { token: ready.system } };

      const acked = new Map<string, Ack>();
      const failures: string[] = [];
      let calls = 0;
      let created = 0;
      const deadline = Date.now() + SECONDS * 1000;
      const more = () => (LONG ? Date.now() < deadline : calls < REQUESTS);
      const samples: { calls: number; mem: Memory }[] = [];

      /** One loop: a job's whole life interleaved with reads, over a transport picked per call. */
      async function loop(worker: number): Promise<void> {
        let mine: { id: string; step: number } | null = null;
        for (let i = 0; more(); i++) {
          calls++;
          const t = (worker + i) % transports.length;
          const job = jobs[t] as (typeof jobs)[number];
          const lifecycle = lifecycles[t] as (typeof lifecycles)[number];
          try {
            switch (i % 8) {
              case 0:
                await job.list(
                  { query: { page: { limit: 20 }, sort: [{ key: "created_at", desc: true }] } },
                  read,
                );
                break;
              case 1:
                await job.list(
                  fromJson(JobsQuerySchema, {
                    query: { filter: [{ k: "error_message", v: "denied", o: "contain" }], count_only: true },
                  }),
                  read,
                );
                break;
              case 2: {
                // Oldest first: seeded jobs, which no loop deletes (a soak job could vanish before the get).
                const page = await job.list(
                  {
                    query: {
                      sort: [{ key: "created_at" }],
                      page: { start: 1 + (i % 50), limit: 1 },
                      only: ["job_id"],
                    },
                  },
                  read,
                );
                const id = page.results[0]?.jobId;
                if (id) await job.get({ jobId: id }, read);
                break;
              }
              case 3:
                await job.stat(STAT_BY_STATUS, read);
                break;
              default: {
                // The write pipeline: create, start, report, then finish one of three ways, then delete half.
                if (mine === null) {
                  const info = await lifecycle.create(
                    {
                      trustedAccountId: `ta-soak-${worker}-${i}`,
                      resourceGroup: JobInfo_ResourceGroup.DOMAIN,
                      options: { worker, i },
                    },
                    write,
                  );
                  created++;
                  mine = { id: info.jobId, step: 0 };
                  acked.set(info.jobId, info.status);
                  break;
                }
                const id = mine.id;
                if (mine.step === 0) {
                  acked.set(id, (await lifecycle.start({ jobId: id }, write)).status);
                } else if (mine.step === 1) {
                  acked.set(
                    id,
                    (
                      await lifecycle.report_progress(
                        { jobId: id, progressPercent: 50, recordsProcessed: i },
                        write,
                      )
                    ).status,
                  );
                } else if (mine.step === 2) {
                  const end = (worker + i) % 3;
                  const info =
                    end === 0
                      ? await lifecycle.succeed({ jobId: id, recordsProcessed: i + 1 }, write)
                      : end === 1
                        ? await lifecycle.fail(
                            { jobId: id, errorCode: "ERROR_SOAK", errorMessage: "planned" },
                            write,
                          )
                        : await lifecycle.cancel({ jobId: id, reason: "soak" }, write);
                  acked.set(id, info.status);
                } else {
                  if ((worker + i) % 2 === 0) {
                    await job.delete({ jobId: id }, write);
                    acked.set(id, "deleted");
                  }
                  mine = null;
                  break;
                }
                mine.step++;
              }
            }
          } catch (error) {
            failures.push(`${i % 8} on transport ${t}: ${(error as Error).message}`);
          }
          if (LONG && worker === 0 && i % 2000 === 0) samples.push({ calls, mem: await memory() });
        }
      }

      // Warm-up: caches (prepared statements, compiled regexes, h2 sessions) fill before the baseline.
      const warm = LONG ? 3000 : Math.floor(REQUESTS / 5);
      const target = REQUESTS;
      {
        let warmCalls = 0;
        const warmLoop = async (w: number) => {
          for (let i = 0; warmCalls < warm; i++) {
            warmCalls++;
            await (jobs[(w + i) % 3] as (typeof jobs)[number]).list({ query: { page: { limit: 20 } } }, read);
          }
        };
        await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => warmLoop(w)));
      }
      const baseline = await memory();
      await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => loop(w)));
      const after = await memory();

      console.info(
        `soak: ${calls} calls (+${warm} warm-up), ${created} jobs written, ${failures.length} failures; ` +
          `heap ${(baseline.heapUsed / 2 ** 20).toFixed(1)} -> ${(after.heapUsed / 2 ** 20).toFixed(1)} MiB, ` +
          `rss ${(baseline.rss / 2 ** 20).toFixed(1)} -> ${(after.rss / 2 ** 20).toFixed(1)} MiB (gc: ${after.gc})`,
      );
      expect(failures.slice(0, 5), `${failures.length} calls failed`).toEqual([]);
      if (!LONG) expect(calls).toBeGreaterThanOrEqual(target);

      // No lost writes: every job's last acknowledged state is what the server has.
      const check = jobs[0] as (typeof jobs)[number];
      for (const [id, status] of acked) {
        if (status === "deleted") {
          await expect(check.get({ jobId: id }, read)).rejects.toThrow(/not_found|NOT_FOUND|cannot be found/);
        } else {
          const job = await check.get({ jobId: id }, read);
          expect(job.status, id).toBe(status);
        }
      }
      expect(acked.size).toBe(created);

      // Memory: flat after warm-up. Heap after a full GC when the child has --expose-gc, else RSS.
      if (after.gc) expect(after.heapUsed).toBeLessThan(baseline.heapUsed * 1.5 + HEAP_SLACK_BYTES);
      else expect(after.rss).toBeLessThan(baseline.rss * 2 + 64 * 1024 * 1024);
      if (LONG && samples.length > 2) {
        // The second half of the run must not keep growing over the first half's peak.
        const half = samples.slice(Math.floor(samples.length / 2));
        const firstPeak = Math.max(
          ...samples.slice(0, Math.floor(samples.length / 2)).map((s) => s.mem.heapUsed),
        );
        for (const s of half) expect(s.mem.heapUsed).toBeLessThan(firstPeak * 1.5 + HEAP_SLACK_BYTES);
      }
    },
    LONG ? (SECONDS + 120) * 1000 : 120_000,
  );
});
