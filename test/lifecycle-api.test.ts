/**
 * JobLifecycle over real HTTP: the generated client on every transport, the REST aliases derived
 * from its annotations, errors on the wire, idempotent create under concurrent retries, and an
 * upstream-generated client (grpc-js on the upstream job.proto, without our fields 100+) still
 * reading jobs that carry the new fields.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobLifecycle } from "../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import { Job, JobInfo_ResourceGroup, JobInfo_Status } from "../gen/spaceone/api/identity/v2/job_pb.js";
import { grpcJsJobClient } from "./support/grpc-js-client.js";
import { startTestServer, type TestServer } from "./support/server.js";

let server: TestServer;
let workerToken: string;
let adminToken: string;
let memberToken: string;

beforeAll(async () => {
  server = await startTestServer({ jobs: [] });
  workerToken = await server.systemToken("collector-1");
  adminToken = await server.token("DOMAIN_ADMIN");
  memberToken = await server.token("WORKSPACE_MEMBER", "domain-a", "ws-1");
});
afterAll(async () => server?.close());

const transports: Record<string, () => Transport> = {
  "Connect JSON / HTTP/1.1": () => createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
  "Connect binary / h2c": () =>
    createConnectTransport({ baseUrl: server.url, httpVersion: "2", useBinaryFormat: true }),
  gRPC: () => createGrpcTransport({ baseUrl: server.url }),
  "gRPC-Web": () => createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1" }),
};

async function connectError(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (e) {
    return ConnectError.from(e);
  }
  throw new Error("expected the call to fail");
}

let taSeq = 0;
const newTa = () => `ta-api-${++taSeq}`;

describe.each(Object.entries(transports))("%s", (_name, makeTransport) => {
  it("answers a progress report with the whole job as stored: what get and list then read", async () => {
    const transport = makeTransport();
    const lifecycle = createClient(JobLifecycle, transport);
    const jobs = createClient(Job, transport);
    const asWorker = { headers: { token: workerToken } };
    const ta = newTa();
    const created = await lifecycle.create(
      {
        trustedAccountId: ta,
        pluginId: "plugin-aws",
        resourceGroup: JobInfo_ResourceGroup.WORKSPACE,
        workspaceId: "ws-1",
        options: { provider: "aws", regions: ["us-east-1", "eu-west-1"], deep: { n: 1.5, on: true } },
      },
      asWorker,
    );
    await lifecycle.start({ jobId: created.jobId }, asWorker);
    const progress = await lifecycle.report_progress(
      { jobId: created.jobId, progressPercent: 40, recordsProcessed: 7, currentStep: 'collecting "ü"' },
      asWorker,
    );
    expect(progress).toMatchObject({ progressPercent: 40, recordsProcessed: 7, version: 3 });
    // `get` and `list` encode the stored job by other code paths; every field must agree.
    expect(progress).toEqual(await jobs.get({ jobId: created.jobId }, { headers: { token: adminToken } }));
    const listed = await jobs.list({ trustedAccountId: ta }, { headers: { token: adminToken } });
    expect(listed.results).toEqual([progress]);
  });

  it("runs a job PENDING -> SUCCESS and the read API lists it with the new fields", async () => {
    const transport = makeTransport();
    const lifecycle = createClient(JobLifecycle, transport);
    const jobs = createClient(Job, transport);
    const asWorker = { headers: { token: workerToken } };
    const asAdmin = { headers: { token: adminToken } };
    const ta = newTa();

    const created = await lifecycle.create(
      {
        trustedAccountId: ta,
        pluginId: "plugin-aws",
        resourceGroup: JobInfo_ResourceGroup.WORKSPACE,
        workspaceId: "ws-1",
        options: { provider: "aws" },
      },
      asWorker,
    );
    expect(created).toMatchObject({ status: JobInfo_Status.PENDING, workspaceId: "ws-1", version: 1 });
    const jobId = created.jobId;
    const started = await lifecycle.start({ jobId, expectedVersion: 1 }, asWorker);
    expect(started).toMatchObject({ status: JobInfo_Status.IN_PROGRESS, version: 2 });
    expect(started.startedAt).not.toBe("");
    const progress = await lifecycle.report_progress(
      { jobId, progressPercent: 0, recordsProcessed: 0, recordsTotal: 10, currentStep: "listing" },
      asWorker,
    );
    // Explicit zeros survive the wire (optional fields have presence).
    expect(progress).toMatchObject({
      progressPercent: 0,
      recordsProcessed: 0,
      recordsTotal: 10,
      currentStep: "listing",
    });
    const done = await lifecycle.succeed({ jobId, recordsProcessed: 10, recordsCreated: 2 }, asWorker);
    expect(done).toMatchObject({
      status: JobInfo_Status.SUCCESS,
      progressPercent: 100,
      durationSeconds: 0,
      version: 4,
    });

    const listed = await jobs.list({ trustedAccountId: ta }, asAdmin);
    expect(listed.totalCount).toBe(1);
    expect(listed.results[0]).toMatchObject({
      jobId,
      status: JobInfo_Status.SUCCESS,
      recordsProcessed: 10,
      recordsCreated: 2,
    });
    const timeline = await lifecycle.list_events({ jobId }, asAdmin);
    expect(timeline.totalCount).toBe(3);
    expect(timeline.results.map((e) => [e.seq, e.action, e.fromStatus, e.toStatus])).toEqual([
      [1, "create", JobInfo_Status.NONE, JobInfo_Status.PENDING],
      [2, "start", JobInfo_Status.PENDING, JobInfo_Status.IN_PROGRESS],
      [3, "succeed", JobInfo_Status.IN_PROGRESS, JobInfo_Status.SUCCESS],
    ]);
    expect(timeline.results[0]?.actor).toBe("system:collector-1");
  });

  it("answers refusals with SpaceONE details and the right codes", async () => {
    const lifecycle = createClient(JobLifecycle, makeTransport());
    const asWorker = { headers: { token: workerToken } };
    const { jobId } = await lifecycle.create(
      { trustedAccountId: newTa(), resourceGroup: JobInfo_ResourceGroup.DOMAIN },
      asWorker,
    );
    const notStarted = await connectError(lifecycle.succeed({ jobId }, asWorker));
    expect(notStarted.code).toBe(Code.FailedPrecondition);
    expect(notStarted.rawMessage).toBe(
      `ERROR_JOB_STATE: Cannot succeed a job that is PENDING. (job_id = ${jobId}, status = PENDING)`,
    );
    const stale = await connectError(lifecycle.start({ jobId, expectedVersion: 7 }, asWorker));
    expect(stale.code).toBe(Code.Aborted);
    expect(stale.rawMessage).toMatch(/^ERROR_VERSION_MISMATCH: .*current_version = 1\)$/);
    const forged = await connectError(
      lifecycle.report_progress({ jobId, progressPercent: 99 }, { headers: { token: memberToken } }),
    );
    expect(forged.code).toBe(Code.PermissionDenied);
    const anonymous = await connectError(lifecycle.start({ jobId }));
    expect(anonymous.code).toBe(Code.Unauthenticated);
  });
});

// biome-ignore lint/suspicious/noExplicitAny: REST answers are arbitrary JSON, checked by the assertions
type Json = any;

describe("REST aliases from the google.api.http annotations", () => {
  const post = async (
    p: string,
    body: unknown,
    token = workerToken,
  ): Promise<{ status: number; body: Json }> => {
    const res = await fetch(`${server.url}${p}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };

  it("serve every verb on /identity/v2/job/... and the console spelling /identity/job/...", async () => {
    const created = await post("/identity/v2/job/create", {
      trusted_account_id: newTa(),
      resource_group: "WORKSPACE",
      workspace_id: "ws-1",
      idempotency_key: "rest-1",
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ status: "PENDING", workspace_id: "ws-1", version: 1 });
    const job_id = created.body.job_id;
    expect((await post("/identity/job/start", { job_id })).body.status).toBe("IN_PROGRESS");
    const beat = await post("/identity/v2/job/report-progress", {
      job_id,
      progress_percent: 25.5,
      records_processed: 3,
    });
    expect(beat.body).toMatchObject({ progress_percent: 25.5, records_processed: 3, version: 3 });
    const cancel = await post("/identity/v2/job/cancel", { job_id, reason: "demo" }, adminToken);
    expect(cancel.body).toMatchObject({ status: "IN_PROGRESS", cancel_reason: "demo" });
    expect(
      (await post("/identity/v2/job/report-progress", { job_id })).body.cancel_requested_at,
    ).toBeDefined();
    const confirmed = await post("/identity/v2/job/fail", { job_id, error_code: "ERROR_JOB_CANCELED" });
    expect(confirmed.body.status).toBe("CANCELED");
    const events = await post("/identity/job/list-events", { job_id }, adminToken);
    expect(events.body.results.map((e: Json) => e.action)).toEqual([
      "create",
      "start",
      "cancel_request",
      "fail",
    ]);
    expect(events.body.results[0]).not.toHaveProperty("from_status");

    const refused = await post("/identity/v2/job/succeed", { job_id });
    expect(refused.status).toBe(400);
    expect(refused.body.detail.code).toBe("ERROR_JOB_STATE");
    const stale = await post("/identity/v2/job/cancel", { job_id, expected_version: 1 }, adminToken);
    expect(stale.status).toBe(409);
    expect(stale.body.detail.code).toBe("ERROR_VERSION_MISMATCH");
    const forged = await post("/identity/v2/job/start", { job_id }, adminToken);
    expect(forged.status).toBe(403);
  });

  it("make a retried create return the same job, even under concurrent retries", async () => {
    const request = {
      trusted_account_id: newTa(),
      resource_group: "WORKSPACE",
      workspace_id: "ws-2",
      idempotency_key: "orchestrator-run-42",
      options: { provider: "aws" },
    };
    const viaConnect = createClient(
      JobLifecycle,
      createConnectTransport({ baseUrl: server.url, httpVersion: "2" }),
    );
    const answers = await Promise.all([
      ...Array.from({ length: 12 }, () =>
        post("/identity/v2/job/create", request).then((r) => r.body.job_id),
      ),
      ...Array.from({ length: 12 }, () =>
        viaConnect
          .create(
            {
              trustedAccountId: request.trusted_account_id,
              resourceGroup: JobInfo_ResourceGroup.WORKSPACE,
              workspaceId: "ws-2",
              idempotencyKey: request.idempotency_key,
              options: request.options,
            },
            { headers: { token: workerToken } },
          )
          .then((job) => job.jobId),
      ),
    ]);
    expect(new Set(answers).size).toBe(1);
    const listed = await post(
      "/identity/v2/job/list",
      { trusted_account_id: request.trusted_account_id },
      adminToken,
    );
    expect(listed.body.total_count).toBe(1);
    const events = await post("/identity/v2/job/list-events", { job_id: answers[0] }, adminToken);
    expect(events.body.total_count).toBe(1);
  });
});

describe("an upstream-generated client (grpc-js on the upstream job.proto)", () => {
  it("reads jobs that carry the lifecycle fields, skipping them as unknown", async () => {
    const root = path.resolve(import.meta.dirname, "..");
    // Upstream's job.proto is ours without the fields numbered 100 and up: cut those blocks out.
    const ours = fs.readFileSync(path.join(root, "proto/spaceone/api/identity/v2/job.proto"), "utf8");
    const upstream = ours.replace(/\n {2}\/\/ ---- Lifecycle extensions[\s\S]*?\n}\n/g, "\n}\n");
    expect(upstream).not.toMatch(/= 1\d\d;/);
    expect(upstream).toContain("string finished_at = 33;");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "upstream-proto-"));
    fs.mkdirSync(path.join(dir, "spaceone/api/identity/v2"), { recursive: true });
    fs.writeFileSync(path.join(dir, "spaceone/api/identity/v2/job.proto"), upstream);
    const { call, close } = grpcJsJobClient(server.url, adminToken, [dir]);
    fs.rmSync(dir, { recursive: true, force: true });

    // A job with every new field set.
    const lifecycle = createClient(
      JobLifecycle,
      createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
    );
    const asWorker = { headers: { token: workerToken } };
    const ta = newTa();
    const { jobId } = await lifecycle.create(
      { trustedAccountId: ta, resourceGroup: JobInfo_ResourceGroup.DOMAIN },
      asWorker,
    );
    await lifecycle.start({ jobId }, asWorker);
    await lifecycle.report_progress(
      {
        jobId,
        progressPercent: 50,
        currentStep: "x",
        recordsProcessed: 5,
        recordsTotal: 10,
        recordsCreated: 1,
        recordsUpdated: 1,
        recordsDeleted: 1,
      },
      asWorker,
    );
    await lifecycle.cancel({ jobId, reason: "r" }, { headers: { token: adminToken } });
    await lifecycle.fail({ jobId, errorCode: "ERROR_X", errorMessage: "stopped" }, asWorker);

    try {
      const job = await call("get", { job_id: jobId });
      expect(Object.keys(job).sort()).toEqual(
        [
          "job_id",
          "status",
          "options",
          "resource_group",
          "error_message",
          "domain_id",
          "workspace_id",
          "trusted_account_id",
          "created_at",
          "updated_at",
          "finished_at",
        ].sort(),
      );
      expect(job).toMatchObject({
        job_id: jobId,
        status: "CANCELED",
        workspace_id: "*",
        error_message: "stopped",
      });
      const list = await call("list", { trusted_account_id: ta });
      expect(list.total_count).toBe(1);
      expect(list.results[0].job_id).toBe(jobId);
    } finally {
      close();
    }
  });
});
