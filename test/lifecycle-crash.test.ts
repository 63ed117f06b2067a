/**
 * Crash safety: the real server (`src/main.ts`, a child process) takes a stream of lifecycle writes
 * from several concurrent workers and is killed with SIGKILL in the middle of it. Restarted on the
 * same database, every write a client saw acknowledged must be there (synchronous = NORMAL in WAL
 * mode survives a process crash), each job's timeline must be whole, idempotency keys must still
 * hold, and SQLite's integrity and foreign-key checks must pass.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { JobLifecycle } from "../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import { Job, JobInfo_ResourceGroup, JobInfo_Status } from "../gen/spaceone/api/identity/v2/job_pb.js";
import { ensureLocalSecret } from "../src/auth/keys.js";
import { signToken } from "../src/auth/token.js";
import { loadConfig } from "../src/config.js";

const root = path.resolve(import.meta.dirname, "..");
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "job-service-crash-"));
const children = new Set<ChildProcess>();

afterAll(() => {
  for (const child of children) child.kill("SIGKILL");
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** Start `node --import tsx src/main.ts` (one process, so SIGKILL hits the server itself); resolve with its URL. */
async function startServerProcess(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: root,
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      HOST: "127.0.0.1",
      PORT: "0",
      LOG_LEVEL: "info",
      DATABASE_READ_WORKERS: "0",
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  children.add(child);
  child.on("exit", () => children.delete(child));
  const lines = createInterface({ input: child.stderr as NodeJS.ReadableStream });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("server did not log 'listening' within 30 s")), 30_000);
    child.on("exit", (code) => reject(new Error(`server exited early with ${code}`)));
    lines.on("line", (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === "listening" && entry.url) {
          clearTimeout(timer);
          resolve(entry.url);
        }
      } catch {
        // not a log line
      }
    });
  });
  return { child, url };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once("exit", (code, signal) => resolve({ code, signal }));
  });
}

interface Acked {
  key: string;
  trustedAccountId: string;
  version: number;
  status: JobInfo_Status;
  recordsProcessed: number;
}

describe("crash safety", () => {
  it("keeps every acknowledged write through a SIGKILL in the middle of a write stream", async () => {
    const config = loadConfig({ DATA_DIR: dataDir });
    ensureLocalSecret(config);
    const token = await signToken(config, {
      role: "DOMAIN_ADMIN",
      domainId: "domain-a",
      ttlSeconds: 600,
      tokenType: "SYSTEM_TOKEN",
      subject: "crash-test",
    });
    const headers = { token };

    const first = await startServerProcess();
    const client = createClient(
      JobLifecycle,
      createConnectTransport({ baseUrl: first.url, httpVersion: "1.1" }),
    );
    const acked = new Map<string, Acked>();
    let writes = 0;
    let killed = false;

    /** One worker: create, start, then heartbeats; every fifth job succeeds and a new one begins. */
    const worker = async (w: number) => {
      for (let n = 0; !killed; n++) {
        const key = `crash-${w}-${n}`;
        const trustedAccountId = `ta-crash-${w}-${n}`;
        const record = (
          jobId: string,
          job: { version: number; status: JobInfo_Status; recordsProcessed?: number },
        ) => {
          acked.set(jobId, {
            key,
            trustedAccountId,
            version: job.version,
            status: job.status,
            recordsProcessed: job.recordsProcessed ?? 0,
          });
          writes++;
        };
        const created = await client.create(
          {
            trustedAccountId,
            resourceGroup: JobInfo_ResourceGroup.WORKSPACE,
            workspaceId: `ws-${w}`,
            idempotencyKey: key,
          },
          { headers },
        );
        record(created.jobId, created);
        record(
          created.jobId,
          await client.start({ jobId: created.jobId, expectedVersion: created.version }, { headers }),
        );
        for (let i = 1; i <= 20 && !killed; i++) {
          record(
            created.jobId,
            await client.report_progress({ jobId: created.jobId, recordsProcessed: i * 10 }, { headers }),
          );
        }
        if (n % 5 === 4) record(created.jobId, await client.succeed({ jobId: created.jobId }, { headers }));
      }
    };
    let failedEarly: unknown = null;
    const workers = Array.from({ length: 4 }, (_, w) =>
      worker(w).catch((error: unknown) => {
        if (!killed) failedEarly = error;
      }),
    );

    // Let the stream run, then kill the server mid-stream without warning.
    while (writes < 400 && failedEarly === null) await new Promise((r) => setTimeout(r, 5));
    if (failedEarly !== null) throw failedEarly;
    killed = true;
    first.child.kill("SIGKILL");
    expect((await exited(first.child)).signal).toBe("SIGKILL");
    await Promise.all(workers);
    expect(acked.size).toBeGreaterThan(4);

    const second = await startServerProcess();
    try {
      const transport = createConnectTransport({ baseUrl: second.url, httpVersion: "1.1" });
      const jobs = createClient(Job, transport);
      const again = createClient(JobLifecycle, transport);
      for (const [jobId, want] of acked) {
        const job = await jobs.get({ jobId }, { headers });
        expect(job.version).toBeGreaterThanOrEqual(want.version);
        expect(job.recordsProcessed ?? 0).toBeGreaterThanOrEqual(want.recordsProcessed);
        if (want.status !== JobInfo_Status.PENDING) expect(job.status).not.toBe(JobInfo_Status.PENDING);
        if (want.status === JobInfo_Status.SUCCESS) expect(job.status).toBe(JobInfo_Status.SUCCESS);
        // The timeline is whole: numbered 1..n without gaps, and it agrees with the status.
        const events = await again.list_events({ jobId }, { headers });
        expect(events.results.map((e) => e.seq)).toEqual(events.results.map((_, i) => i + 1));
        expect(events.results.at(-1)?.toStatus).toBe(job.status);
        // The idempotency key survived: a retried create finds the same job.
        const retried = await again.create(
          {
            trustedAccountId: want.trustedAccountId,
            resourceGroup: JobInfo_ResourceGroup.WORKSPACE,
            workspaceId: job.workspaceId,
            idempotencyKey: want.key,
          },
          { headers },
        );
        expect(retried.jobId).toBe(jobId);
      }
      const db = new Database(path.join(dataDir, "jobs.db"));
      try {
        expect(db.pragma("integrity_check")).toEqual([{ integrity_check: "ok" }]);
        expect(db.pragma("foreign_key_check")).toEqual([]);
      } finally {
        db.close();
      }
    } finally {
      second.child.kill("SIGTERM");
      expect(await exited(second.child)).toEqual({ code: 0, signal: null });
    }
  }, 120_000);
});
