/**
 * watch across two service processes on one PostgreSQL database. Writers on both instances at once,
 * a watcher on each: each watcher receives every change exactly once, with no gap, in an order
 * consistent with each job's versions, and both see the same order. That holds because the store
 * appends `job_changes` rows under a transaction-level advisory lock held until commit, so id order is
 * commit order (a watcher that read past id N can never later find a committed id below N), and because
 * NOTIFY wakes the hub of every instance on every commit (docs/watch.md, docs/scale-out.md). Also
 * list-then-watch with the list's cursor taken on one instance and the watch on the other misses
 * nothing.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { JobLifecycle } from "../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import { Job, JobInfo_ResourceGroup } from "../gen/spaceone/api/identity/v2/job_pb.js";
import { ensureLocalSecret } from "../src/auth/keys.js";
import { signToken } from "../src/auth/token.js";
import { loadConfig } from "../src/config.js";
import { type ChildServer, startChildServer } from "./support/child-server.js";
import { createTestDatabase, describePostgres, type TestDatabase } from "./support/postgres.js";
import { connectWatch, type OpenStream, type WireEvent } from "./support/watch-client.js";

interface Instance {
  readonly server: ChildServer;
  readonly jobs: Client<typeof Job>;
  readonly lifecycle: Client<typeof JobLifecycle>;
  watch(request: Record<string, unknown>): OpenStream;
}

const dirs: string[] = [];
const servers: ChildServer[] = [];
const streams: OpenStream[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "job-pg-watch-"));
  dirs.push(dir);
  return dir;
}

/** The change id a cursor names (tests may look inside; clients must not). */
const position = (cursor: string) => Number.parseInt(cursor.replace(/^w1\./, ""), 36);

describePostgres("watch across two instances on one PostgreSQL database", () => {
  let db: TestDatabase;
  let secretFile: string;
  let headers: { token: string };
  let admin: string;
  let a: Instance;
  let b: Instance;

  async function instance(): Promise<Instance> {
    const server = await startChildServer(tempDir(), {
      DATABASE_URL: db.url,
      JWT_SECRET_FILE: secretFile,
      DATABASE_POOL_SIZE: "4",
      // Only NOTIFY (and the instance's own commits) should wake the hub in this test: a poll every
      // minute would hide a lost notification.
      WATCH_POLL_MS: "60000",
    });
    servers.push(server);
    const transport = createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" });
    const h2 = createConnectTransport({ baseUrl: server.url, httpVersion: "2" });
    return {
      server,
      jobs: createClient(Job, transport),
      lifecycle: createClient(JobLifecycle, transport),
      watch(request) {
        const stream = connectWatch(h2, admin, request);
        streams.push(stream);
        return stream;
      },
    };
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    const shared = tempDir();
    const config = loadConfig({ DATA_DIR: shared });
    ensureLocalSecret(config);
    secretFile = config.jwt.secretFile;
    const system = { role: "DOMAIN_ADMIN", domainId: "domain-pg", ttlSeconds: 600 } as const;
    headers = { token: await signToken(config, { ...system, tokenType: "SYSTEM_TOKEN", subject: "worker" }) };
    admin = await signToken(config, { ...system, subject: "admin" });
    [a, b] = await Promise.all([instance(), instance()]);
  }, 120_000);

  afterAll(async () => {
    for (const s of streams) s.cut();
    for (const server of servers) server.process.kill("SIGKILL");
    await Promise.all(servers.map((s) => s.exited));
    await db?.drop();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  const create = (on: Instance, trustedAccountId: string) =>
    on.lifecycle.create(
      { trustedAccountId, resourceGroup: JobInfo_ResourceGroup.WORKSPACE, workspaceId: "ws-1" },
      { headers },
    );

  /** One job's whole life, each call on the instance after the previous one's: `writes` changes. */
  async function life(index: number, account: string): Promise<string> {
    const on = (step: number) => ((index + step) % 2 === 0 ? a : b);
    const job = await create(on(0), account);
    await on(1).lifecycle.start({ jobId: job.jobId }, { headers });
    for (let p = 1; p <= PROGRESS; p++)
      await on(1 + p).lifecycle.report_progress({ jobId: job.jobId, progressPercent: p * 10 }, { headers });
    await on(2 + PROGRESS).lifecycle.succeed({ jobId: job.jobId }, { headers });
    return job.jobId;
  }
  const JOBS = 8;
  const PROGRESS = 5;
  const WRITES_PER_JOB = 3 + PROGRESS;

  it("concurrent writers on both: each instance's watcher gets every change once, in each job's version order", async () => {
    // One account per job: jobs of one account that overlap are duplicates by upstream's rule (a job
    // created while another of its account runs is FAILURE at once), which would depend on timing here.
    const accounts = Array.from({ length: JOBS }, (_, i) => `ta-race-${i}`);
    const filter = { query: { filter: [{ k: "trusted_account_id", v: accounts, o: "in" }] } };
    const watchers = [a.watch(filter), b.watch(filter)];
    // A stream without a snapshot starts with a HEARTBEAT once it has joined its hub.
    await Promise.all(watchers.map((w) => w.until((e) => e.some((x) => x.type === "HEARTBEAT"))));

    const ids = await Promise.all(accounts.map((account, i) => life(i, account)));
    const total = JOBS * WRITES_PER_JOB;
    await Promise.all(watchers.map((w) => w.until(() => w.changes().length >= total, 30_000)));
    // Anything extra (a duplicate) would have arrived with the last batch; give it a moment to show.
    await new Promise((r) => setTimeout(r, 300));

    const sequences: string[][] = [];
    for (const w of watchers) {
      const changes = w.changes();
      expect(changes.length).toBe(total);
      const cursors = changes.map((e) => e.cursor);
      expect(new Set(cursors).size).toBe(total);
      // Commit order: strictly increasing change ids (with the count above: none missing, none twice).
      const positions = cursors.map(position);
      for (let i = 1; i < positions.length; i++)
        expect(positions[i]).toBeGreaterThan(positions[i - 1] ?? Number.POSITIVE_INFINITY);
      sequences.push(cursors);

      const byJob = new Map<string, WireEvent[]>();
      for (const e of changes) {
        const id = e.job?.job_id ?? "";
        byJob.set(id, [...(byJob.get(id) ?? []), e]);
      }
      expect([...byJob.keys()].sort()).toEqual([...ids].sort());
      for (const [, events] of byJob) {
        expect(events.length).toBe(WRITES_PER_JOB);
        expect(events[0]?.type).toBe("CREATED");
        const versions = events.map((e) => e.job?.version ?? 0);
        for (let i = 1; i < versions.length; i++)
          expect(versions[i]).toBeGreaterThanOrEqual(versions[i - 1] ?? 0);
        // The timeline entries are exact (not read at delivery): create, start, succeed in that order.
        expect(events.flatMap((e) => (e.event ? [e.event.action] : []))).toEqual([
          "create",
          "start",
          "succeed",
        ]);
        expect(events.at(-1)?.job?.status).toBe("SUCCESS");
      }
    }
    // The database's order, not an instance's: both streams are the same sequence.
    expect(sequences[1]).toEqual(sequences[0]);
    for (const w of watchers) w.cut();
  }, 60_000);

  it("list on one instance, watch from its cursor on the other: nothing in between is missed", async () => {
    const account = "ta-list";
    const before = await create(a, account);
    const listed = await a.jobs.list({ trustedAccountId: account }, { headers: { token: admin } });
    expect(listed.results.map((j) => j.jobId)).toEqual([before.jobId]);
    // Between the list and the watch, writes on both instances.
    const later = await create(b, account);
    await b.lifecycle.start({ jobId: before.jobId }, { headers });
    await a.lifecycle.start({ jobId: later.jobId }, { headers });
    const s = b.watch({ trusted_account_id: account, cursor: listed.cursor });
    await s.until((e) => e.filter((x) => x.type !== "HEARTBEAT").length >= 3, 15_000);
    // And after the watch began, a write on the instance that did not serve it.
    await a.lifecycle.succeed({ jobId: before.jobId }, { headers });
    await s.until((e) => e.filter((x) => x.type !== "HEARTBEAT").length >= 4, 15_000);
    // The job in an event is read at delivery; the timeline entry names the exact change.
    expect(s.changes().map((e) => `${e.type}:${e.job?.job_id}:${e.event?.action}`)).toEqual([
      `CREATED:${later.jobId}:create`,
      `UPDATED:${before.jobId}:start`,
      `UPDATED:${later.jobId}:start`,
      `UPDATED:${before.jobId}:succeed`,
    ]);
    s.cut();
  }, 60_000);
});
