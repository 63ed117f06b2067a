/**
 * watch and wait against the whole app and its store: a filtered watch that follows a job through the
 * lifecycle API, resuming from a cursor after a disconnect with no gap and no duplicate, scoping per
 * role with real deletes, list-then-watch with `JobsInfo.cursor`, and wait (on completion, at its
 * timeout, over REST, out of scope). Every protocol's framing is covered by test/watch-wire.test.ts;
 * here one of each family runs (Connect, gRPC, SSE). Every test runs on both backends
 * (test/support/backends.ts): on PostgreSQL the hub is woken by NOTIFY and reads the commit-ordered feed.
 */
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobLifecycle } from "../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import { Job, JobInfo_Status } from "../gen/spaceone/api/identity/v2/job_pb.js";
import { BACKENDS } from "./support/backends.js";
import { startTestServer, type TestServer } from "./support/server.js";
import {
  connectWatch,
  grpcJsWatch,
  type OpenStream,
  sseWatch,
  type WatchRequestJson,
  type WireEvent,
} from "./support/watch-client.js";

let server: TestServer;
let worker: string;
let admin: string;
let member1: string;

const lifecycle = () =>
  createClient(JobLifecycle, createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }));
const jobs = () => createClient(Job, createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }));

type Opener = (token: string, request: WatchRequestJson) => OpenStream;
const connect =
  (make: () => Transport): Opener =>
  (token, request) =>
    connectWatch(make(), token, request);

const PROTOCOLS: Record<string, Opener> = {
  "Connect binary / h2c": connect(() =>
    createConnectTransport({ baseUrl: server.url, httpVersion: "2", useBinaryFormat: true }),
  ),
  "gRPC (grpc-js)": (token, request) => grpcJsWatch(server.url, token, request),
  "REST SSE": (token, request) => sseWatch(server.url, token, request),
};

let accounts = 0;
/** A trusted account no other test uses, so each test's filter sees only its own jobs. */
const freshAccount = () => `ta-watch-${++accounts}`;

async function createJob(account: string, workspaceId = "ws-1") {
  return lifecycle().create(
    { trustedAccountId: account, workspaceId, resourceGroup: 2 },
    { headers: { token: worker } },
  );
}

const summary = (e: WireEvent) =>
  `${e.type}:${e.job?.status ?? ""}${e.type === "UPDATED" && !e.matches ? ":gone" : ""}`;

describe.each(BACKENDS)("on $name", (backend) => {
  beforeAll(async () => {
    if (backend.skip) return;
    server = await startTestServer({ backend, jobs: [], env: { WATCH_HEARTBEAT_SECONDS: "0.3" } });
    worker = await server.systemToken("collector-1");
    admin = await server.token("DOMAIN_ADMIN");
    member1 = await server.token("WORKSPACE_MEMBER", "domain-a", "ws-1");
  });
  afterAll(async () => server?.close());
  if (backend.skip) {
    it.skip(`skipped: ${backend.skip}`, () => {});
    return;
  }

  describe.each(Object.entries(PROTOCOLS))("%s", (_name, open) => {
    it("a filtered watch follows a job; resuming from a cursor gives every later change once", async () => {
      const account = freshAccount();
      const w = lifecycle();
      const headers = { token: worker };
      const filter = { trusted_account_id: account, status: "IN_PROGRESS", send_initial: true };
      const first = open(admin, filter);
      await first.until((e) => e.some((x) => x.type === "SYNCED"));
      const before = await server.app.watch.hub.head();
      const job = await createJob(account);
      // The event carries the job as the hub reads it: let the hub pass the create (the PENDING job
      // does not match, so nothing is sent) before the start, or a slow read on a loaded machine
      // would see the job already IN_PROGRESS and send the create as a matching CREATED.
      while ((await server.app.watch.hub.head()) <= before) await new Promise((r) => setTimeout(r, 5));
      await w.start({ jobId: job.jobId }, { headers });
      await first.until((e) => e.some((x) => x.type === "UPDATED"));
      await w.report_progress({ jobId: job.jobId, progressPercent: 40 }, { headers });
      await first.until((e) => e.filter((x) => x.type === "UPDATED").length >= 2);
      first.cut();
      // While nobody watches: more progress.
      await w.report_progress({ jobId: job.jobId, progressPercent: 80 }, { headers });
      const seen = first.changes();
      expect(seen.map(summary)).toEqual(["SYNCED:", "UPDATED:IN_PROGRESS", "UPDATED:IN_PROGRESS"]);
      expect(seen[1]?.event).toMatchObject({
        action: "start",
        from_status: "PENDING",
        to_status: "IN_PROGRESS",
      });
      expect(seen[2]?.job?.progress_percent).toBe(40);

      const resumed = open(admin, {
        trusted_account_id: account,
        status: "IN_PROGRESS",
        cursor: seen[2]?.cursor,
      });
      await resumed.until((e) => e.some((x) => x.type === "UPDATED"));
      await w.succeed({ jobId: job.jobId }, { headers });
      await resumed.until((e) => e.some((x) => x.type === "UPDATED" && !x.matches));
      const after = resumed.changes();
      // The progress report while away, then the job leaving the filter: nothing before the cursor, nothing twice.
      expect(after.map(summary)).toEqual(["UPDATED:IN_PROGRESS", "UPDATED:SUCCESS:gone"]);
      expect(after[0]?.job?.progress_percent).toBe(80);
      const versions = [...seen, ...after].flatMap((e) => (e.job?.version ? [e.job.version] : []));
      expect(versions).toEqual([2, 3, 4, 5]);
      expect(new Set(after.map((e) => e.cursor)).size).toBe(after.length);
      resumed.cut();
    });

    it("scoped like list: a workspace member sees its workspace and domain jobs, never another workspace's", async () => {
      const account = freshAccount();
      const s = open(member1, { trusted_account_id: account });
      await s.until((e) => e.length >= 1);
      const other = await createJob(account, "ws-2");
      await lifecycle().cancel({ jobId: other.jobId }, { headers: { token: admin } });
      await jobs().delete({ jobId: other.jobId }, { headers: { token: admin } });
      const mine = await createJob(account, "ws-1");
      await s.until((e) => e.some((x) => x.job?.job_id === mine.jobId));
      await lifecycle().cancel({ jobId: mine.jobId }, { headers: { token: admin } });
      await s.until((e) => e.filter((x) => x.job?.job_id === mine.jobId).length >= 2);
      expect(s.changes().every((x) => x.job?.job_id === mine.jobId)).toBe(true);
      expect(s.changes().map(summary)).toEqual(["CREATED:PENDING", "UPDATED:CANCELED"]);
      s.cut();
    });
  });

  describe("list, then watch from its cursor", () => {
    it("misses nothing that committed after the list", async () => {
      const account = freshAccount();
      const before = await createJob(account);
      const listed = await jobs().list({ trustedAccountId: account }, { headers: { token: admin } });
      expect(listed.results.map((j) => j.jobId)).toEqual([before.jobId]);
      expect(listed.cursor).toMatch(/^w1\./);
      const later = await createJob(account);
      await lifecycle().start({ jobId: before.jobId }, { headers: { token: worker } });
      const s = connectWatch(createConnectTransport({ baseUrl: server.url, httpVersion: "2" }), admin, {
        trusted_account_id: account,
        cursor: listed.cursor,
      });
      await s.until((e) => e.filter((x) => x.type !== "HEARTBEAT").length >= 2);
      expect(s.changes().map((e) => `${e.type}:${e.job?.job_id}`)).toEqual([
        `CREATED:${later.jobId}`,
        `UPDATED:${before.jobId}`,
      ]);
      s.cut();
    });
  });

  describe("wait", () => {
    it("returns when the job finishes, over Connect and over REST", async () => {
      const job = await createJob(freshAccount());
      const started = Date.now();
      const waiting = lifecycle().wait(
        { jobId: job.jobId, timeoutSeconds: 20 },
        { headers: { token: admin } },
      );
      const rest = fetch(`${server.url}/identity/v2/job/wait`, {
        method: "POST",
        headers: { "content-type": "application/json", token: admin },
        body: JSON.stringify({ job_id: job.jobId, timeout_seconds: 20 }),
      });
      await new Promise((r) => setTimeout(r, 100));
      await lifecycle().start({ jobId: job.jobId }, { headers: { token: worker } });
      await lifecycle().fail({ jobId: job.jobId, errorMessage: "boom" }, { headers: { token: worker } });
      const answer = await waiting;
      expect(answer.status).toBe(JobInfo_Status.FAILURE);
      const body = (await (await rest).json()) as { status: string; job_id: string };
      expect(body).toMatchObject({ job_id: job.jobId, status: "FAILURE" });
      expect(Date.now() - started).toBeLessThan(5000);
      expect(server.app.watch.hub.counts.waiters).toBe(0);
    });

    it("at the timeout, the job as it is (not an error)", async () => {
      const job = await createJob(freshAccount());
      const started = Date.now();
      const answer = await lifecycle().wait(
        { jobId: job.jobId, timeoutSeconds: 1 },
        { headers: { token: admin } },
      );
      expect(answer.status).toBe(JobInfo_Status.PENDING);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    });

    it("a job outside the caller's scope is not_found", async () => {
      const job = await createJob(freshAccount(), "ws-2");
      const error = await lifecycle()
        .wait({ jobId: job.jobId, timeoutSeconds: 1 }, { headers: { token: member1 } })
        .then(
          () => null,
          (e) => ConnectError.from(e),
        );
      expect(error?.code).toBe(Code.NotFound);
    });
  });

  describe("an expired cursor", () => {
    it("after retention dropped the changes that followed it: out_of_range, telling to list again", async () => {
      let clock = new Date("2026-03-15T12:00:00.000Z");
      const aged = await startTestServer({
        backend,
        jobs: [],
        now: () => clock,
        env: { JOB_CHANGE_FEED_HOURS: "1" },
      });
      try {
        const token = await aged.token("DOMAIN_ADMIN");
        const writer = await aged.systemToken("collector-1");
        const client = createClient(
          JobLifecycle,
          createConnectTransport({ baseUrl: aged.url, httpVersion: "1.1" }),
        );
        const first = await client.create(
          { trustedAccountId: "ta-old", resourceGroup: 1 },
          { headers: { token: writer } },
        );
        const listed = await createClient(
          Job,
          createConnectTransport({ baseUrl: aged.url, httpVersion: "1.1" }),
        ).list({}, { headers: { token } });
        await client.start({ jobId: first.jobId }, { headers: { token: writer } });
        clock = new Date(clock.getTime() + 2 * 3_600_000);
        await client.cancel({ jobId: first.jobId }, { headers: { token } });
        await aged.app.retention.run();
        const stream = connectWatch(createConnectTransport({ baseUrl: aged.url, httpVersion: "2" }), token, {
          cursor: listed.cursor,
        });
        await stream.until(() => stream.ended);
        expect(stream.errorCode).toBe("out_of_range");
        const sse = await fetch(`${aged.url}/identity/v2/job/watch`, {
          method: "POST",
          headers: { token, "last-event-id": listed.cursor },
          body: "{}",
        });
        expect(sse.status).toBe(400);
        expect(((await sse.json()) as { detail: { message: string } }).detail.message).toContain(
          "list again",
        );
      } finally {
        await aged.close();
      }
    });
  });
});
