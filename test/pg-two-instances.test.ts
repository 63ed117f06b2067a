/**
 * Two service processes on one PostgreSQL database, as N instances behind a load balancer: calls
 * alternate between them and everything stays exact. A lifecycle walked across both; 24 concurrent
 * idempotent creates over both make one job; concurrent transitions on one job keep the version
 * sequence gap-free; SIGKILL of one instance in the middle of a write stream loses no acknowledged
 * write and the other keeps serving; the reapers of two instances finish a lost-heartbeat job once.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type Client, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { JobLifecycle } from "../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import { Job, JobInfo_ResourceGroup, JobInfo_Status } from "../gen/spaceone/api/identity/v2/job_pb.js";
import { ensureLocalSecret } from "../src/auth/keys.js";
import { signToken } from "../src/auth/token.js";
import { loadConfig } from "../src/config.js";
import { type ChildServer, startChildServer } from "./support/child-server.js";
import { createTestDatabase, describePostgres, type TestDatabase } from "./support/postgres.js";

interface Instance {
  readonly server: ChildServer;
  readonly jobs: Client<typeof Job>;
  readonly lifecycle: Client<typeof JobLifecycle>;
}

const dirs: string[] = [];
const servers: ChildServer[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "job-pg-two-"));
  dirs.push(dir);
  return dir;
}

describePostgres("two instances on one PostgreSQL database", () => {
  let db: TestDatabase;
  let secretFile: string;
  let headers: { token: string };
  let adminHeaders: { token: string };
  let a: Instance;
  let b: Instance;

  async function instance(env: Record<string, string> = {}): Promise<Instance> {
    const server = await startChildServer(tempDir(), {
      DATABASE_URL: db.url,
      JWT_SECRET_FILE: secretFile,
      DATABASE_POOL_SIZE: "4",
      ...env,
    });
    servers.push(server);
    const transport = createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" });
    return { server, jobs: createClient(Job, transport), lifecycle: createClient(JobLifecycle, transport) };
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    const shared = tempDir();
    const config = loadConfig({ DATA_DIR: shared });
    ensureLocalSecret(config);
    secretFile = config.jwt.secretFile;
    const system = { role: "DOMAIN_ADMIN", domainId: "domain-pg", ttlSeconds: 600 } as const;
    headers = { token: await signToken(config, { ...system, tokenType: "SYSTEM_TOKEN", subject: "worker" }) };
    adminHeaders = { token: await signToken(config, { ...system, subject: "admin" }) };
    // Both start together: the migration runs once under its advisory lock.
    [a, b] = await Promise.all([instance(), instance()]);
  }, 120_000);

  afterAll(async () => {
    for (const server of servers) server.process.kill("SIGKILL");
    await Promise.all(servers.map((s) => s.exited));
    await db?.drop();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  const create = (on: Instance, trustedAccountId: string, idempotencyKey?: string) =>
    on.lifecycle.create(
      {
        trustedAccountId,
        resourceGroup: JobInfo_ResourceGroup.WORKSPACE,
        workspaceId: "ws-1",
        idempotencyKey,
      },
      { headers },
    );

  it("walks a job's lifecycle with every call on the other instance", async () => {
    const created = await create(a, "ta-walk");
    const started = await b.lifecycle.start(
      { jobId: created.jobId, expectedVersion: created.version },
      { headers },
    );
    const reported = await a.lifecycle.report_progress(
      { jobId: created.jobId, recordsProcessed: 10 },
      { headers },
    );
    const cancel = await b.lifecycle.cancel(
      { jobId: created.jobId, reason: "stop" },
      { headers: adminHeaders },
    );
    expect(cancel.cancelRequestedAt).toBeTruthy();
    const seenOnA = await a.jobs.get({ jobId: created.jobId }, { headers });
    expect(seenOnA.version).toBe(cancel.version);
    const confirmed = await a.lifecycle.fail(
      { jobId: created.jobId, errorCode: "ERROR_JOB_CANCELED" },
      { headers },
    );
    expect(confirmed.status).toBe(JobInfo_Status.CANCELED);
    const seenOnB = await b.jobs.get({ jobId: created.jobId }, { headers });
    expect(seenOnB.status).toBe(JobInfo_Status.CANCELED);
    expect([created.version, started.version, reported.version, cancel.version, confirmed.version]).toEqual([
      1, 2, 3, 4, 5,
    ]);
    const events = await b.lifecycle.list_events({ jobId: created.jobId }, { headers });
    expect(events.results.map((e) => e.action)).toEqual(["create", "start", "cancel_request", "fail"]);
  });

  it("24 concurrent creates with one idempotency key, spread over both, make one job", async () => {
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, i) => create(i % 2 === 0 ? a : b, "ta-idem", "key-shared")),
    );
    const ids = new Set(answers.map((r) => r.jobId));
    expect(ids.size).toBe(1);
    const listed = await a.jobs.list({ trustedAccountId: "ta-idem" }, { headers });
    expect(listed.totalCount).toBe(1);
  });

  it("concurrent transitions on one job from both keep the version sequence gap-free", async () => {
    const created = await create(b, "ta-race");
    await a.lifecycle.start({ jobId: created.jobId }, { headers });
    const reports = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? a : b).lifecycle.report_progress(
          { jobId: created.jobId, recordsProcessed: i + 1, currentStep: `step-${i}` },
          { headers },
        ),
      ),
    );
    const versions = reports.map((r) => r.version).sort((x, y) => x - y);
    expect(versions).toEqual(Array.from({ length: 20 }, (_, i) => i + 3));
    // Version-checked cancels racing with one expected version: exactly one wins.
    const current = (await b.jobs.get({ jobId: created.jobId }, { headers })).version;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) =>
        (i % 2 === 0 ? a : b).lifecycle.cancel(
          { jobId: created.jobId, expectedVersion: current },
          { headers: adminHeaders },
        ),
      ),
    );
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    for (const o of outcomes) if (o.status === "rejected") expect(ConnectError.from(o.reason).code).toBe(10); // aborted
    const events = await a.lifecycle.list_events({ jobId: created.jobId }, { headers });
    expect(events.results.map((e) => e.seq)).toEqual(events.results.map((_, i) => i + 1));
  });

  it("SIGKILL of one instance in the middle of a write stream: the other serves every acknowledged write", async () => {
    const acked = new Map<string, { version: number; records: number }>();
    let writes = 0;
    let killed = false;
    const worker = async (w: number) => {
      for (let n = 0; n < 200; n++) {
        // Alternate instances; once A is dead every call goes to B (what a load balancer does).
        const pick = () => (killed || (n + w) % 2 === 1 ? b : a);
        try {
          const created = await create(pick(), `ta-kill-${w}-${n}`, `kill-${w}-${n}`);
          acked.set(created.jobId, { version: created.version, records: 0 });
          const started = await pick().lifecycle.start({ jobId: created.jobId }, { headers });
          acked.set(created.jobId, { version: started.version, records: 0 });
          for (let i = 1; i <= 5; i++) {
            const r = await pick().lifecycle.report_progress(
              { jobId: created.jobId, recordsProcessed: i },
              { headers },
            );
            acked.set(created.jobId, { version: r.version, records: i });
            writes++;
          }
        } catch (error) {
          // Only calls that were in flight on the killed instance may fail.
          if (!killed) throw error;
        }
        if (killed && writes > 400) return;
      }
    };
    const workers = Array.from({ length: 4 }, (_, w) => worker(w));
    while (writes < 150) await new Promise((r) => setTimeout(r, 5));
    killed = true;
    a.server.process.kill("SIGKILL");
    expect(await a.server.exited).toBe("SIGKILL");
    await Promise.all(workers);
    expect(acked.size).toBeGreaterThan(10);
    for (const [jobId, want] of acked) {
      const job = await b.jobs.get({ jobId }, { headers });
      expect(job.version).toBeGreaterThanOrEqual(want.version);
      expect(Number(job.recordsProcessed ?? 0)).toBeGreaterThanOrEqual(want.records);
    }
  }, 120_000);

  it("the reapers of two instances finish a lost-heartbeat job exactly once", async () => {
    const fast = {
      JOB_REAPER_INTERVAL_SECONDS: "1",
      JOB_HEARTBEAT_TIMEOUT_SECONDS: "1",
      JOB_PENDING_TIMEOUT_SECONDS: "3600",
    };
    const [c, d] = await Promise.all([instance(fast), instance(fast)]);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const created = await create(i % 2 === 0 ? c : d, `ta-reap-${i}`);
      await (i % 2 === 0 ? d : c).lifecycle.start({ jobId: created.jobId }, { headers });
      ids.push(created.jobId);
    }
    const deadline = Date.now() + 30_000;
    for (const jobId of ids) {
      while ((await c.jobs.get({ jobId }, { headers })).status !== JobInfo_Status.FAILURE) {
        if (Date.now() > deadline) throw new Error(`${jobId} was not reaped within 30 s`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    // Several more passes of both reapers: nothing more happens to the finished jobs.
    await new Promise((r) => setTimeout(r, 2500));
    for (const jobId of ids) {
      const job = await d.jobs.get({ jobId }, { headers });
      expect(job.errorCode).toBe("ERROR_HEARTBEAT_LOST");
      const events = await c.lifecycle.list_events({ jobId }, { headers });
      expect(events.results.map((e) => e.action)).toEqual(["create", "start", "time_out"]);
      expect(job.version).toBe(3);
    }
  }, 120_000);
});
