/**
 * The job lifecycle at the service level, on the composed app with an injected clock: create and
 * its idempotency key, upstream's duplicate rule, every transition and every refusal through the
 * real write path, progress rules, versions, cancel with and without a worker, the reaper,
 * retention and the expired answer, the timeline, and the new fields in list queries.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Principal } from "../src/auth/principal.js";
import { SpaceOneError } from "../src/errors.js";
import type { CreateJobRequest } from "../src/service/job-lifecycle.js";
import { type JobView, toJobView } from "../src/service/job-view.js";
import type { Backend } from "./support/backends.js";
import { BACKENDS } from "./support/backends.js";
import {
  admin,
  type BackendHarness,
  closeSharedStores,
  DAY,
  harnessOn,
  MINUTE,
  otherDomainWorker,
  SECOND,
  T0,
  worker,
  ws1Owner,
  ws1Worker,
  wsJob,
} from "./support/lifecycle.js";

let h: BackendHarness;
let backend: Backend;

async function failure(fn: () => unknown): Promise<SpaceOneError> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof SpaceOneError) return e;
    throw e;
  }
  throw new Error("expected the call to fail");
}

const lc = () => h.app.lifecycle;
const create = (request: CreateJobRequest = wsJob(), who: Principal = worker) => lc().create(who, request);
const start = (jobId: string, who: Principal = worker) => lc().start(who, { job_id: jobId });
const events = async (jobId: string) => (await lc().listEvents(admin, { job_id: jobId })).results;
const count = async (table: string) =>
  (await h.sql<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))[0]?.n;

let taSeq = 0;
/** A job in the named state, for a trusted account of its own (so the duplicate rule stays out of the way). */
async function jobIn(state: string): Promise<JobView> {
  const job = await create(wsJob(`ta-state-${++taSeq}`));
  const id = job.job_id as string;
  switch (state) {
    case "PENDING":
      return job;
    case "IN_PROGRESS":
      return await start(id);
    case "CANCEL_REQUESTED":
      await start(id);
      return await lc().cancel(admin, { job_id: id });
    case "SUCCESS":
      await start(id);
      return await lc().succeed(worker, { job_id: id });
    case "FAILURE":
      await start(id);
      return await lc().fail(worker, { job_id: id, error_message: "boom" });
    case "CANCELED":
      return await lc().cancel(admin, { job_id: id });
    default:
      throw new Error(state);
  }
}

describe.each(BACKENDS)("on $name", (b) => {
  beforeEach(async () => {
    backend = b;
    h = await harnessOn(b);
  });
  afterEach(() => h?.close());
  afterAll(() => closeSharedStores());
  if (b.skip) it.skip(`skipped: ${b.skip}`, () => {});
  else {
    describe("create", () => {
      it("creates a PENDING job with an upstream-style id, version 1 and a create event", async () => {
        const job = await create(wsJob("ta-1", { options: { provider: "aws", regions: ["us-east-1"] } }));
        expect(job.job_id).toMatch(/^job-[0-9a-f]{12}$/);
        expect(job).toMatchObject({
          status: "PENDING",
          resource_group: "WORKSPACE",
          domain_id: "domain-a",
          workspace_id: "ws-1",
          trusted_account_id: "ta-1",
          plugin_id: "plugin-aws",
          options: { provider: "aws", regions: ["us-east-1"] },
          created_at: T0.toISOString(),
          updated_at: T0.toISOString(),
          version: 1,
        });
        for (const absent of [
          "finished_at",
          "started_at",
          "progress_percent",
          "duration_seconds",
          "error_code",
        ]) {
          expect(job).not.toHaveProperty(absent);
        }
        expect(await events(job.job_id as string)).toEqual([
          {
            job_id: job.job_id,
            seq: 1,
            action: "create",
            to_status: "PENDING",
            actor: "system:collector-1",
            created_at: T0.toISOString(),
          },
        ]);
        // Readable through the read API at once.
        expect(await h.app.service.get(admin, { job_id: job.job_id as string })).toEqual(job);
      });

      it("stores DOMAIN jobs with workspace_id '*', options {} by default, and trims strings", async () => {
        const job = await create({ trusted_account_id: "  ta-dom  ", resource_group: "DOMAIN" });
        expect(job).toMatchObject({
          workspace_id: "*",
          resource_group: "DOMAIN",
          trusted_account_id: "ta-dom",
          options: {},
        });
        expect(job).not.toHaveProperty("plugin_id");
        expect(
          (await create({ trusted_account_id: "ta-dom2", resource_group: "DOMAIN", workspace_id: "*" }))
            .workspace_id,
        ).toBe("*");
      });

      it("validates the request", async () => {
        expect(
          (await failure(() => create({ resource_group: "WORKSPACE", workspace_id: "ws-1" } as never)))
            .message,
        ).toBe("Required parameter. (key = trusted_account_id)");
        expect((await failure(() => create({ trusted_account_id: "ta" } as never))).message).toBe(
          "Required parameter. (key = resource_group)",
        );
        expect((await failure(() => create(wsJob("ta", { resource_group: "PROJECT" })))).code).toBe(
          "ERROR_INVALID_PARAMETER",
        );
        expect((await failure(() => create(wsJob("ta", { workspace_id: "" })))).message).toBe(
          "Required parameter. (key = workspace_id)",
        );
        expect((await failure(() => create(wsJob("ta", { workspace_id: "*" })))).message).toContain(
          "'*' is for DOMAIN jobs",
        );
        expect(
          (
            await failure(() =>
              create({ trusted_account_id: "ta", resource_group: "DOMAIN", workspace_id: "ws-1" }),
            )
          ).code,
        ).toBe("ERROR_INVALID_PARAMETER");
        expect((await failure(() => create(wsJob("ta", { options: [1, 2] })))).code).toBe(
          "ERROR_INVALID_PARAMETER_TYPE",
        );
        expect((await failure(() => create(wsJob("x".repeat(65))))).message).toContain(
          "longer than 64 characters",
        );
        expect(
          (await failure(() => create(wsJob("ta", { idempotency_key: "k".repeat(129) })))).message,
        ).toContain("key = idempotency_key");
        expect(await count("jobs")).toBe(0);
      });

      it("pins workspace-scoped callers to their workspace; they cannot create DOMAIN jobs", async () => {
        const own = await create({ trusted_account_id: "ta-w", resource_group: "WORKSPACE" }, ws1Worker);
        expect(own.workspace_id).toBe("ws-1");
        expect((await failure(() => create(wsJob("ta-w2", { workspace_id: "ws-2" }), ws1Worker))).code).toBe(
          "ERROR_PERMISSION_DENIED",
        );
        expect(
          (await failure(() => create({ trusted_account_id: "ta-w3", resource_group: "DOMAIN" }, ws1Worker)))
            .code,
        ).toBe("ERROR_PERMISSION_DENIED");
      });
    });

    describe("idempotent create", () => {
      it("returns the job the key created, and creates nothing more", async () => {
        const first = await create(
          wsJob("ta-1", { idempotency_key: "sync-ta-1-2026031512", options: { a: 1, b: { c: 2 } } }),
        );
        h.advance(5 * SECOND);
        const again = await create(
          wsJob("ta-1", { idempotency_key: "sync-ta-1-2026031512", options: { b: { c: 2 }, a: 1 } }),
        );
        expect(again).toEqual(first);
        expect(await count("jobs")).toBe(1);
        expect(await count("job_events")).toBe(1);
        // Once the job moved on, a retry answers with its current state (still nothing new).
        await start(first.job_id as string);
        expect(
          await create(
            wsJob("ta-1", { idempotency_key: "sync-ta-1-2026031512", options: { a: 1, b: { c: 2 } } }),
          ),
        ).toMatchObject({ job_id: first.job_id, status: "IN_PROGRESS", version: 2 });
        expect(await count("jobs")).toBe(1);
      });

      it("refuses a key reused for a different job, naming what differs", async () => {
        await create(wsJob("ta-1", { idempotency_key: "k1" }));
        const e = await failure(() =>
          create(wsJob("ta-2", { idempotency_key: "k1", plugin_id: "plugin-gcp" })),
        );
        expect(e.status).toBe("invalid_argument");
        expect(e.message).toMatch(
          /k1 was already used for job-[0-9a-f]{12} with a different trusted_account_id, plugin_id/,
        );
        expect(
          (await failure(() => create(wsJob("ta-1", { idempotency_key: "k1", options: { x: 1 } })))).message,
        ).toContain("different options");
        expect(await count("jobs")).toBe(1);
      });

      it("scopes keys by workspace: another workspace neither sees nor uses up a key", async () => {
        const inWs1 = await create(wsJob("ta-1", { idempotency_key: "nightly", workspace_id: "ws-1" }));
        // ws-2 reusing the key with different fields: a new job, and nothing about ws-1's job in the answer.
        const inWs2 = await create(
          wsJob("ta-2", { idempotency_key: "nightly", workspace_id: "ws-2", options: { other: true } }),
        );
        expect(inWs2.job_id).not.toBe(inWs1.job_id);
        expect(inWs2.workspace_id).toBe("ws-2");
        expect(await count("jobs")).toBe(2);
        // Each workspace's retry finds its own job.
        expect(await create(wsJob("ta-1", { idempotency_key: "nightly", workspace_id: "ws-1" }))).toEqual(
          inWs1,
        );
        expect(
          (
            await create(
              wsJob("ta-2", { idempotency_key: "nightly", workspace_id: "ws-2", options: { other: true } }),
            )
          ).job_id,
        ).toBe(inWs2.job_id);
        // A caller pinned to ws-1 reusing the key for a different job is refused about ws-1's job only.
        const e = await failure(() => create(wsJob("ta-9", { idempotency_key: "nightly" }), ws1Worker));
        expect(e.message).toContain(`nightly was already used for ${inWs1.job_id}`);
        expect(e.message).not.toContain(inWs2.job_id as string);
        expect(await count("jobs")).toBe(2);
      });

      it("keeps DOMAIN jobs' keys apart from workspace jobs' keys", async () => {
        const ws = await create(wsJob("ta-1", { idempotency_key: "k" }));
        const domain = await create({
          trusted_account_id: "ta-1",
          resource_group: "DOMAIN",
          idempotency_key: "k",
        });
        expect(domain.job_id).not.toBe(ws.job_id);
        expect(domain.workspace_id).toBe("*");
      });

      it("scopes keys by domain", async () => {
        const a = await create(wsJob("ta-1", { idempotency_key: "same" }));
        const b = await create(wsJob("ta-1", { idempotency_key: "same" }), otherDomainWorker);
        expect(b.job_id).not.toBe(a.job_id);
        expect(b.domain_id).toBe("domain-b");
      });

      it("is backed by a UNIQUE index (a second writer process could not slip a duplicate in)", async () => {
        await create(wsJob("ta-1", { idempotency_key: "k" }));
        expect(() =>
          h.sql(
            `INSERT INTO jobs (job_id, status, resource_group, domain_id, workspace_id, trusted_account_id, created_at,
           updated_at, idempotency_key) VALUES ('job-forged', 'PENDING', 'WORKSPACE', 'domain-a', 'ws-1', 'ta-1', ?, ?, 'k')`,
            [T0.toISOString(), T0.toISOString()],
          ),
        ).rejects.toThrow(/UNIQUE|unique/);
        // The index is per workspace: the same key in ws-2 is another key.
        await h.sql(
          `INSERT INTO jobs (job_id, status, resource_group, domain_id, workspace_id, trusted_account_id, created_at,
         updated_at, idempotency_key) VALUES ('job-other-ws', 'PENDING', 'WORKSPACE', 'domain-a', 'ws-2', 'ta-1', ?, ?, 'k')`,
          [T0.toISOString(), T0.toISOString()],
        );
        expect(await count("jobs")).toBe(2);
      });
    });

    describe("upstream's duplicate rule", () => {
      it("fails a new job while the same account's job has been IN_PROGRESS for less than the window", async () => {
        const running = await create(wsJob("ta-1"));
        await start(running.job_id as string);
        h.advance(5 * MINUTE);
        const dup = await create(wsJob("ta-1"));
        expect(dup).toMatchObject({
          status: "FAILURE",
          error_code: "ERROR_DUPLICATE_JOB",
          error_message: "The same job is already running. (trusted_account_id = ta-1)",
          finished_at: h.now().toISOString(),
          version: 2,
        });
        expect((await h.row(running.job_id as string)).status).toBe("IN_PROGRESS");
        expect(
          (await events(dup.job_id as string)).map((e) => [e.action, e.from_status, e.to_status, e.actor]),
        ).toEqual([
          ["create", undefined, "PENDING", "system:collector-1"],
          ["duplicate", "PENDING", "FAILURE", "service:duplicate-rule"],
        ]);
        expect((await events(dup.job_id as string))[1]?.reason).toContain(running.job_id as string);
      });

      it("cancels an IN_PROGRESS job older than the window and lets the new one proceed", async () => {
        const old = await create(wsJob("ta-1"));
        await start(old.job_id as string);
        h.advance(11 * MINUTE);
        const fresh = await create(wsJob("ta-1"));
        expect(fresh.status).toBe("PENDING");
        const superseded = await h.app.service.get(admin, { job_id: old.job_id as string });
        expect(superseded).toMatchObject({
          status: "CANCELED",
          finished_at: h.now().toISOString(),
          canceled_by: "service:duplicate-rule",
        });
        expect(superseded.cancel_reason).toContain(`Superseded by ${fresh.job_id}`);
        expect((await events(old.job_id as string)).at(-1)).toMatchObject({
          action: "supersede",
          from_status: "IN_PROGRESS",
          to_status: "CANCELED",
        });
      });

      it("counts from started_at, ignores PENDING jobs and other accounts or workspaces", async () => {
        const queued = await create(wsJob("ta-1"));
        h.advance(30 * MINUTE);
        await start(queued.job_id as string); // created 30 min ago, running for 0
        h.advance(MINUTE);
        expect((await create(wsJob("ta-1"))).status).toBe("FAILURE");
        expect((await create(wsJob("ta-2"))).status).toBe("PENDING");
        expect((await create(wsJob("ta-1", { workspace_id: "ws-2" }))).status).toBe("PENDING");
        // A PENDING job of the same account is not "running".
        const pendingOnly = await create(wsJob("ta-3"));
        expect((await create(wsJob("ta-3"))).status).toBe("PENDING");
        expect((await h.row(pendingOnly.job_id as string)).status).toBe("PENDING");
      });

      it("has a configurable window", async () => {
        await h.close();
        h = await harnessOn(backend, { JOB_DUPLICATE_WINDOW_SECONDS: "60" });
        const old = await create(wsJob("ta-1"));
        await start(old.job_id as string);
        h.advance(2 * MINUTE);
        expect((await create(wsJob("ta-1"))).status).toBe("PENDING");
        expect((await h.row(old.job_id as string)).status).toBe("CANCELED");
      });
    });

    describe("start, report_progress, succeed, fail", () => {
      it("runs a job from PENDING to SUCCESS with progress, a version per write and a timeline", async () => {
        const job = await create(wsJob());
        const id = job.job_id as string;
        h.advance(10 * SECOND);
        const started = await start(id);
        expect(started).toMatchObject({
          status: "IN_PROGRESS",
          started_at: h.now().toISOString(),
          heartbeat_at: h.now().toISOString(),
          version: 2,
        });
        expect(started).not.toHaveProperty("duration_seconds");
        h.advance(30 * SECOND);
        const progress = await lc().reportProgress(worker, {
          job_id: id,
          expected_version: 2,
          progress_percent: 40,
          current_step: "listing accounts",
          records_processed: 40,
          records_total: 100,
          records_created: 3,
          records_updated: 5,
          records_deleted: 0,
        });
        expect(progress).toMatchObject({
          status: "IN_PROGRESS",
          heartbeat_at: h.now().toISOString(),
          progress_percent: 40,
          current_step: "listing accounts",
          records_processed: 40,
          records_total: 100,
          records_created: 3,
          records_updated: 5,
          records_deleted: 0,
          version: 3,
        });
        h.advance(30 * SECOND);
        const done = await lc().succeed(worker, { job_id: id, records_processed: 100, records_created: 7 });
        expect(done).toMatchObject({
          status: "SUCCESS",
          finished_at: h.now().toISOString(),
          progress_percent: 100,
          records_processed: 100,
          records_created: 7,
          records_updated: 5,
          duration_seconds: 60,
          version: 4,
        });
        // Progress is not a state change: three events, not four.
        expect(
          (await events(id)).map((e) => `${e.seq}:${e.action}:${e.from_status ?? "-"}->${e.to_status}`),
        ).toEqual(["1:create:-->PENDING", "2:start:PENDING->IN_PROGRESS", "3:succeed:IN_PROGRESS->SUCCESS"]);
      });

      it("keeps monotonic progress at its highest value (a late retry cannot move it back)", async () => {
        const id = (await jobIn("IN_PROGRESS")).job_id as string;
        await lc().reportProgress(worker, {
          job_id: id,
          progress_percent: 60,
          records_processed: 600,
          records_total: 1000,
        });
        const late = await lc().reportProgress(worker, {
          job_id: id,
          progress_percent: 50,
          records_processed: 500,
          records_total: 900,
          records_created: 1,
        });
        expect(late).toMatchObject({
          progress_percent: 60,
          records_processed: 600,
          records_total: 900,
          records_created: 1,
        });
        // A bare heartbeat keeps everything and moves heartbeat_at.
        h.advance(SECOND);
        const beat = await lc().reportProgress(worker, { job_id: id });
        expect(beat).toMatchObject({
          progress_percent: 60,
          records_processed: 600,
          heartbeat_at: h.now().toISOString(),
        });
      });

      it("validates progress values", async () => {
        const id = (await jobIn("IN_PROGRESS")).job_id as string;
        for (const bad of [-1, 100.5, Number.NaN, Number.POSITIVE_INFINITY]) {
          expect(
            (await failure(() => lc().reportProgress(worker, { job_id: id, progress_percent: bad }))).message,
          ).toContain("key = progress_percent");
        }
        expect(
          (await failure(() => lc().reportProgress(worker, { job_id: id, records_processed: -3 }))).code,
        ).toBe("ERROR_INVALID_PARAMETER");
        expect(
          (await failure(() => lc().reportProgress(worker, { job_id: id, records_total: 1.5 }))).code,
        ).toBe("ERROR_INVALID_PARAMETER");
        expect(
          (await failure(() => lc().reportProgress(worker, { job_id: id, current_step: "x".repeat(257) })))
            .code,
        ).toBe("ERROR_INVALID_PARAMETER");
        expect((await failure(() => lc().reportProgress(worker, {}))).message).toBe(
          "Required parameter. (key = job_id)",
        );
      });

      it("fails with the worker's error code, or ERROR_JOB_FAILED", async () => {
        const a = (await jobIn("IN_PROGRESS")).job_id as string;
        expect(
          await lc().fail(worker, {
            job_id: a,
            error_code: "ERROR_PLUGIN_TIMEOUT",
            error_message: "plugin timed out",
          }),
        ).toMatchObject({
          status: "FAILURE",
          error_code: "ERROR_PLUGIN_TIMEOUT",
          error_message: "plugin timed out",
        });
        expect((await events(a)).at(-1)).toMatchObject({
          action: "fail",
          to_status: "FAILURE",
          reason: "plugin timed out",
        });
        const b = (await jobIn("IN_PROGRESS")).job_id as string;
        expect(await lc().fail(worker, { job_id: b })).toMatchObject({
          status: "FAILURE",
          error_code: "ERROR_JOB_FAILED",
        });
        const c = (await jobIn("IN_PROGRESS")).job_id as string;
        expect((await failure(() => lc().fail(worker, { job_id: c, error_code: "bad code" }))).code).toBe(
          "ERROR_INVALID_PARAMETER",
        );
      });

      it("rejects a stale write (expected_version) with aborted, naming the current version", async () => {
        const id = (await jobIn("IN_PROGRESS")).job_id as string; // version 2
        await lc().reportProgress(worker, { job_id: id, progress_percent: 10 }); // version 3
        const e = await failure(() =>
          lc().reportProgress(worker, { job_id: id, expected_version: 2, progress_percent: 20 }),
        );
        expect(e.code).toBe("ERROR_VERSION_MISMATCH");
        expect(e.status).toBe("aborted");
        expect(e.message).toContain("expected_version = 2, current_version = 3");
        expect(await h.row(id)).toMatchObject({ progress_percent: 10, version: 3 });
        expect((await lc().succeed(worker, { job_id: id, expected_version: 3 })).version).toBe(4);
        expect((await failure(() => lc().cancel(admin, { job_id: id, expected_version: 0 }))).code).toBe(
          "ERROR_INVALID_PARAMETER",
        );
      });
    });

    describe("every transition through the rpcs", () => {
      const STATES = [
        "PENDING",
        "IN_PROGRESS",
        "CANCEL_REQUESTED",
        "SUCCESS",
        "FAILURE",
        "CANCELED",
      ] as const;
      type Rpc = "start" | "report_progress" | "succeed" | "fail" | "cancel";
      const call: Record<Rpc, (id: string) => Promise<JobView>> = {
        start: (id) => lc().start(worker, { job_id: id }),
        report_progress: (id) => lc().reportProgress(worker, { job_id: id, progress_percent: 1 }),
        succeed: (id) => lc().succeed(worker, { job_id: id }),
        fail: (id) => lc().fail(worker, { job_id: id, error_message: "x" }),
        cancel: (id) => lc().cancel(admin, { job_id: id }),
      };
      // The resulting status, "requested" (IN_PROGRESS with a cancel pending), "same" (no write), or null (refused).
      const EXPECTED: Record<Rpc, (string | null)[]> = {
        start: ["IN_PROGRESS", null, null, null, null, null],
        report_progress: [null, "IN_PROGRESS", "requested", null, null, null],
        succeed: [null, "SUCCESS", "SUCCESS", null, null, null],
        fail: [null, "FAILURE", "CANCELED", null, null, null],
        cancel: ["CANCELED", "requested", "same", null, null, "same"],
      };
      const cases = (Object.keys(EXPECTED) as Rpc[]).flatMap((rpc) =>
        STATES.map((state, i) => [rpc, state, EXPECTED[rpc][i] ?? null] as const),
      );

      it.each(cases)("%s on a %s job", async (rpc, state, expected) => {
        const before = await jobIn(state);
        const id = before.job_id as string;
        const rowBefore = await h.row(id);
        if (expected === null) {
          const e = await failure(() => call[rpc](id));
          expect(e.status).toBe("failed_precondition");
          expect(e.code).toBe("ERROR_JOB_STATE");
          expect(e.message).toContain(`a job that is ${rowBefore.status}.`);
          expect(await h.row(id)).toEqual(rowBefore);
          return;
        }
        const after = await call[rpc](id);
        if (expected === "same") {
          expect(await h.row(id)).toEqual(rowBefore);
          // Nothing written: the answer is the whole job as stored, not only what the change read.
          expect(after).toEqual(toJobView(rowBefore));
        } else if (expected === "requested") {
          expect(after.status).toBe("IN_PROGRESS");
          expect(after.cancel_requested_at).toBeDefined();
          expect(after.version).toBe((rowBefore.version ?? 0) + 1);
        } else if (expected === rowBefore.status) {
          // A write that is not a state change (progress): a new version, no event.
          const eventsBefore = (await events(id)).length;
          expect((await call[rpc](id)).version).toBe((rowBefore.version ?? 0) + 2);
          expect(await events(id)).toHaveLength(eventsBefore);
        } else {
          expect(after.status).toBe(expected);
          expect(after.version).toBe((rowBefore.version ?? 0) + 1);
          expect((await events(id)).at(-1)).toMatchObject({
            from_status: rowBefore.status,
            to_status: expected,
          });
        }
      });

      it("answers not_found for unknown jobs and jobs outside the caller's scope", async () => {
        const e = await failure(() => lc().start(worker, { job_id: "job-000000000000" }));
        expect(e.code).toBe("ERROR_NOT_FOUND");
        expect(e.meta.reason).toBe("NOT_FOUND");
        const id = (await create(wsJob())).job_id as string;
        expect((await failure(() => lc().start(otherDomainWorker, { job_id: id }))).code).toBe(
          "ERROR_NOT_FOUND",
        );
      });
    });

    describe("cancel", () => {
      it("cancels a PENDING job at once, recording who and why", async () => {
        const id = (await create(wsJob())).job_id as string;
        h.advance(SECOND);
        const canceled = await lc().cancel(admin, { job_id: id, reason: "wrong account" });
        expect(canceled).toMatchObject({
          status: "CANCELED",
          finished_at: h.now().toISOString(),
          cancel_requested_at: h.now().toISOString(),
          cancel_reason: "wrong account",
          canceled_by: "user:admin-1",
          duration_seconds: 1,
        });
        expect((await events(id)).at(-1)).toMatchObject({
          action: "cancel",
          from_status: "PENDING",
          to_status: "CANCELED",
          actor: "user:admin-1",
          reason: "wrong account",
        });
        // A worker that picks it up afterwards is told not to run it.
        expect((await failure(() => start(id))).message).toContain("a job that is CANCELED");
      });

      it("asks a running worker to stop; the worker sees it on its next heartbeat and confirms", async () => {
        const id = (await jobIn("IN_PROGRESS")).job_id as string;
        const requested = await lc().cancel(ws1Owner, { job_id: id, reason: "taking too long" });
        expect(requested).toMatchObject({
          status: "IN_PROGRESS",
          cancel_requested_at: h.now().toISOString(),
          cancel_reason: "taking too long",
          canceled_by: "user:owner-1",
        });
        expect(requested).not.toHaveProperty("finished_at");
        h.advance(5 * SECOND);
        const beat = await lc().reportProgress(worker, { job_id: id, progress_percent: 70 });
        expect(beat.cancel_requested_at).toBeDefined();
        expect(beat.status).toBe("IN_PROGRESS");
        h.advance(SECOND);
        const confirmed = await lc().fail(worker, {
          job_id: id,
          error_code: "ERROR_JOB_CANCELED",
          error_message: "stopped on request",
        });
        expect(confirmed).toMatchObject({
          status: "CANCELED",
          finished_at: h.now().toISOString(),
          progress_percent: 70,
        });
        expect((await events(id)).map((e) => `${e.action}:${e.from_status}->${e.to_status}`)).toEqual([
          "create:undefined->PENDING",
          "start:PENDING->IN_PROGRESS",
          "cancel_request:IN_PROGRESS->IN_PROGRESS",
          "fail:IN_PROGRESS->CANCELED",
        ]);
      });

      it("lets a worker that finished before it noticed report SUCCESS", async () => {
        const id = (await jobIn("CANCEL_REQUESTED")).job_id as string;
        expect((await lc().succeed(worker, { job_id: id })).status).toBe("SUCCESS");
      });

      it("without a worker, the reaper ends a cancel-requested job after the grace period", async () => {
        const id = (await jobIn("IN_PROGRESS")).job_id as string;
        await lc().cancel(admin, { job_id: id });
        // The heartbeat timeout (10 min) is longer than the grace (5 min): the grace decides.
        h.advance(4 * MINUTE);
        return (async () => {
          expect(await h.app.reaper.run()).toEqual({ notStarted: 0, heartbeatLost: 0, canceled: 0 });
          h.advance(2 * MINUTE);
          expect(await h.app.reaper.run()).toEqual({ notStarted: 0, heartbeatLost: 0, canceled: 1 });
          expect(await h.row(id)).toMatchObject({ status: "CANCELED", error_code: null });
          expect((await events(id)).at(-1)).toMatchObject({
            action: "time_out",
            to_status: "CANCELED",
            actor: "service:reaper",
          });
          expect((await events(id)).at(-1)?.reason).toContain("did not confirm the cancel");
        })();
      });

      it("is idempotent, and refused for SUCCESS and FAILURE jobs", async () => {
        const id = (await jobIn("IN_PROGRESS")).job_id as string;
        const first = await lc().cancel(admin, { job_id: id, reason: "first" });
        h.advance(SECOND);
        expect(await lc().cancel(admin, { job_id: id, reason: "second" })).toEqual(first);
        const success = (await jobIn("SUCCESS")).job_id as string;
        expect((await failure(() => lc().cancel(admin, { job_id: success }))).message).toContain(
          "Cannot cancel a job that is SUCCESS.",
        );
      });
    });

    describe("the reaper", () => {
      it("fails PENDING jobs no worker started within the pending timeout", async () => {
        const stuck = (await create(wsJob("ta-1"))).job_id as string;
        h.advance(59 * MINUTE);
        const young = (await create(wsJob("ta-2"))).job_id as string;
        expect(await h.app.reaper.run()).toEqual({ notStarted: 0, heartbeatLost: 0, canceled: 0 });
        h.advance(2 * MINUTE);
        expect(await h.app.reaper.run()).toEqual({ notStarted: 1, heartbeatLost: 0, canceled: 0 });
        expect(await h.app.service.get(admin, { job_id: stuck })).toMatchObject({
          status: "FAILURE",
          error_code: "ERROR_JOB_NOT_STARTED",
          error_message: "No worker started the job within 3600 s.",
          finished_at: h.now().toISOString(),
        });
        expect((await h.row(young)).status).toBe("PENDING");
      });

      it("fails IN_PROGRESS jobs whose heartbeat stopped ('heartbeat lost'); heartbeats keep a long job alive", async () => {
        const silent = (await jobIn("IN_PROGRESS")).job_id as string;
        const chatty = (await jobIn("IN_PROGRESS")).job_id as string;
        for (let i = 0; i < 6; i++) {
          h.advance(3 * MINUTE);
          await lc().reportProgress(worker, { job_id: chatty, progress_percent: i * 10 });
          await h.app.reaper.run();
        }
        expect((await h.row(chatty)).status).toBe("IN_PROGRESS");
        const reaped = await h.app.service.get(admin, { job_id: silent });
        expect(reaped).toMatchObject({ status: "FAILURE", error_code: "ERROR_HEARTBEAT_LOST" });
        expect(reaped.error_message).toMatch(
          /^Heartbeat lost: no report from the worker since .* \(timeout 600 s\)\.$/,
        );
        expect((await events(silent)).at(-1)).toMatchObject({
          action: "time_out",
          from_status: "IN_PROGRESS",
          actor: "service:reaper",
        });
        // The worker that comes back is told the job is over.
        expect((await failure(() => lc().reportProgress(worker, { job_id: silent }))).message).toContain(
          "a job that is FAILURE",
        );
      });

      it("works through a backlog in small batches", async () => {
        await h.close();
        h = await harnessOn(backend, { JOB_HOUSEKEEPING_BATCH_SIZE: "3" });
        for (let i = 0; i < 10; i++) await create(wsJob(`ta-${i}`));
        h.advance(2 * 60 * MINUTE);
        expect(await h.app.reaper.reapBatch()).toEqual({ notStarted: 3, heartbeatLost: 0, canceled: 0 });
        expect(await h.app.reaper.run()).toEqual({ notStarted: 7, heartbeatLost: 0, canceled: 0 });
        expect(
          (await h.sql<{ n: number }>("SELECT count(*) AS n FROM jobs WHERE status = 'PENDING'"))[0]?.n,
        ).toBe(0);
      });

      it("has configurable timeouts", async () => {
        await h.close();
        h = await harnessOn(backend, {
          JOB_HEARTBEAT_TIMEOUT_SECONDS: "30",
          JOB_PENDING_TIMEOUT_SECONDS: "60",
        });
        const pending = (await create(wsJob("ta-1"))).job_id as string;
        const running = (await jobIn("IN_PROGRESS")).job_id as string;
        h.advance(31 * SECOND);
        expect(await h.app.reaper.run()).toEqual({ notStarted: 0, heartbeatLost: 1, canceled: 0 });
        h.advance(30 * SECOND);
        expect(await h.app.reaper.run()).toEqual({ notStarted: 1, heartbeatLost: 0, canceled: 0 });
        expect([(await h.row(pending)).status, (await h.row(running)).status]).toEqual([
          "FAILURE",
          "FAILURE",
        ]);
      });
    });

    describe("retention and the expired answer", () => {
      async function finishedJob(): Promise<string> {
        const id = (await jobIn("IN_PROGRESS")).job_id as string;
        await lc().succeed(worker, { job_id: id });
        return id;
      }

      it("purges finished jobs after the retention period, leaving a tombstone that answers 'expired'", async () => {
        const old = await finishedJob();
        const running = (await jobIn("PENDING")).job_id as string; // unfinished: never purged by retention
        h.advance(89 * DAY);
        // The change feed keeps a day (JOB_CHANGE_FEED_HOURS): the four changes so far are older.
        expect(await h.app.retention.run()).toEqual({ purged: 0, tombstonesDropped: 0, changesDropped: 4 });
        const recent = await finishedJob();
        h.advance(2 * DAY);
        expect(await h.app.retention.run()).toEqual({ purged: 1, tombstonesDropped: 0, changesDropped: 3 });
        // The purge is in the change feed: a watcher hears the job is gone.
        expect(await h.sql("SELECT kind, event_seq FROM job_changes WHERE job_id = ?", [old])).toEqual([
          { kind: "deleted", event_seq: null },
        ]);
        expect(await h.row(old)).toBeUndefined();
        expect((await h.row(recent)).status).toBe("SUCCESS");
        expect((await h.row(running)).status).toBe("PENDING");
        // Its events went with it.
        expect(
          (await h.sql<{ n: number }>("SELECT count(*) AS n FROM job_events WHERE job_id = ?", [old]))[0]?.n,
        ).toBe(0);

        const expired = await failure(() => h.app.service.get(admin, { job_id: old }));
        expect(expired.code).toBe("ERROR_NOT_FOUND");
        expect(expired.status).toBe("not_found");
        expect(expired.meta.reason).toBe("EXPIRED");
        expect(expired.message).toMatch(
          new RegExp(
            `^Resource has expired: it was purged after the retention period\\. \\(job_id = ${old}, status = SUCCESS, finished_at = .*, purged_at = ${h.now().toISOString()}\\)$`,
          ),
        );
        const never = await failure(() => h.app.service.get(admin, { job_id: "job-ffffffffffff" }));
        expect(never.message).toBe(
          "Resource cannot be found or access is denied. (('job_id', 'domain_id') = ('job-ffffffffffff', 'domain-a'))",
        );
        // The same answer from every verb that names the job; outside the caller's scope, a plain not found.
        expect((await failure(() => h.app.service.delete(admin, { job_id: old }))).meta.reason).toBe(
          "EXPIRED",
        );
        expect((await failure(() => lc().start(worker, { job_id: old }))).meta.reason).toBe("EXPIRED");
        expect((await failure(() => lc().listEvents(admin, { job_id: old }))).meta.reason).toBe("EXPIRED");
        expect((await failure(() => lc().cancel(admin, { job_id: old }))).meta.reason).toBe("EXPIRED");
        const elsewhere = await failure(() => lc().start(otherDomainWorker, { job_id: old }));
        expect(elsewhere.meta.reason).toBe("NOT_FOUND");

        // After the tombstone period, the job is simply unknown.
        h.advance(31 * DAY);
        expect(await h.app.retention.run()).toMatchObject({ tombstonesDropped: 1 });
        const gone = await failure(() => h.app.service.get(admin, { job_id: old }));
        expect(gone.message).toContain("Resource cannot be found or access is denied.");
      });

      it("purges a backlog in batches and yields to the event loop between them", async () => {
        await h.close();
        h = await harnessOn(backend, { JOB_HOUSEKEEPING_BATCH_SIZE: "100" });
        const longAgo = new Date(T0.getTime() - 200 * DAY).toISOString();
        for (let i = 0; i < 350; i++) {
          await h.sql(
            `INSERT INTO jobs (job_id, status, resource_group, domain_id, workspace_id, trusted_account_id, created_at,
           updated_at, finished_at) VALUES (?, 'SUCCESS', 'WORKSPACE', 'domain-a', 'ws-1', 'ta', ?, ?, ?)`,
            [`job-old-${i}`, longAgo, longAgo, longAgo],
          );
        }
        expect(await h.app.retention.purgeBatch()).toBe(100);
        let ticks = 0;
        let ticking = true;
        const tick = () => {
          ticks++;
          if (ticking) setImmediate(tick);
        };
        setImmediate(tick);
        const result = await h.app.retention.run();
        ticking = false;
        expect(result).toEqual({ purged: 250, tombstonesDropped: 0, changesDropped: 0 });
        expect(ticks).toBeGreaterThanOrEqual(2);
        expect(await count("jobs")).toBe(0);
        expect(await count("job_tombstones")).toBe(350);
      });

      it("keeps everything when JOB_RETENTION_DAYS is 0", async () => {
        await h.close();
        h = await harnessOn(backend, { JOB_RETENTION_DAYS: "0" });
        const id = await finishedJob();
        h.advance(5000 * DAY);
        // Jobs are kept; the change feed still keeps only its window.
        expect(await h.app.retention.run()).toEqual({ purged: 0, tombstonesDropped: 0, changesDropped: 3 });
        expect((await h.row(id)).status).toBe("SUCCESS");
      });
    });

    describe("the new fields in list queries", () => {
      it("filters, sorts and projects started_at, progress, cancel fields, duration and version", async () => {
        const fast = (await jobIn("IN_PROGRESS")).job_id as string;
        h.advance(10 * SECOND);
        await lc().succeed(worker, { job_id: fast, records_processed: 10 });
        const slow = (await jobIn("IN_PROGRESS")).job_id as string;
        h.advance(100 * SECOND);
        await lc().reportProgress(worker, { job_id: slow, progress_percent: 80, records_processed: 800 });
        await lc().succeed(worker, { job_id: slow });
        const waiting = (await jobIn("CANCEL_REQUESTED")).job_id as string;
        const list = async (query: Record<string, unknown>) =>
          (await h.app.service.list(admin, { query: query as never })).results.map((r) => r.job_id);

        expect(
          await list({
            sort: [{ key: "duration_seconds", desc: true }],
            filter: [{ k: "duration_seconds", v: 0, o: "gt" }],
          }),
        ).toEqual([slow, fast]);
        expect(await list({ filter: [{ k: "records_processed", v: 100, o: "gte" }] })).toEqual([slow]);
        expect((await list({ filter: [{ k: "progress_percent", v: 100, o: "eq" }] })).sort()).toEqual(
          [fast, slow].sort(),
        );
        expect(await list({ filter: [{ k: "cancel_requested_at", v: true, o: "exists" }] })).toEqual([
          waiting,
        ]);
        expect((await list({ filter: [{ k: "started_at", v: "now-1d", o: "timediff_gt" }] })).sort()).toEqual(
          [fast, slow, waiting].sort(),
        );
        expect((await list({ filter: [{ k: "version", v: 3, o: "gte" }] })).sort()).toEqual(
          [fast, slow, waiting].sort(),
        );
        expect(
          (await failure(() => list({ filter: [{ k: "duration_seconds", v: "10", o: "gt" }] }))).code,
        ).toBe("ERROR_INVALID_PARAMETER_TYPE");
        const only = await h.app.service.list(admin, {
          query: {
            only: ["job_id", "duration_seconds", "records_processed", "version"],
            filter: [{ k: "job_id", v: slow, o: "eq" }],
          },
        });
        expect(only.results).toEqual([
          { job_id: slow, duration_seconds: 100, records_processed: 800, version: 4 },
        ]);

        // stat sees them too: the duration of finished jobs by status.
        const stat = await h.app.service.stat(admin, {
          query: {
            filter: [{ k: "duration_seconds", v: true, o: "exists" }],
            aggregate: [
              {
                group: {
                  keys: [{ key: "status", name: "status" }],
                  fields: [
                    { key: "duration_seconds", name: "avg_duration", operator: "average" },
                    { key: "records_processed", name: "records", operator: "sum" },
                  ],
                },
              },
            ],
          },
        });
        expect(stat.results).toEqual([{ status: "SUCCESS", avg_duration: 55, records: 810 }]);
      });
    });
  }
});
