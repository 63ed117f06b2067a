/**
 * The watch hub and service over an in-memory change feed: what each stream receives for each kind of
 * change, one read of the feed per batch whatever the number of streams and waiters, resuming without a
 * gap or a duplicate, expired cursors, heartbeats, slow consumers, and `wait`.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Principal } from "../src/auth/principal.js";
import { SpaceOneError } from "../src/errors.js";
import { WatchHub } from "../src/service/watch/watch-hub.js";
import type { WatchRequest } from "../src/service/watch/watch-request.js";
import { type WaitRequest, WatchService } from "../src/service/watch/watch-service.js";
import type { WatchEventView } from "../src/service/watch/watcher.js";
import { MemoryFeed } from "./support/memory-feed.js";

const admin: Principal = {
  tokenType: "ACCESS_TOKEN",
  role: "DOMAIN_ADMIN",
  domainId: "domain-a",
  workspaceId: null,
  permissions: [],
  subject: "admin",
};
const member = (workspaceId: string): Principal => ({
  ...admin,
  role: "WORKSPACE_MEMBER",
  workspaceId,
  subject: `member-${workspaceId}`,
});

const hubs: WatchHub[] = [];
const aborts: AbortController[] = [];
afterEach(() => {
  for (const a of aborts.splice(0)) a.abort();
  for (const h of hubs.splice(0)) h.close();
});

function setup(limits: Partial<{ bufferEvents: number; heartbeatMs: number; waitMaxSeconds: number }> = {}) {
  const feed = new MemoryFeed();
  const hub = new WatchHub(feed, {
    pollIntervalMs: 60_000,
    batchSize: 100,
    heartbeatMs: limits.heartbeatMs ?? 60_000,
  });
  hubs.push(hub);
  const service = new WatchService(feed, hub, {
    maxPageSize: 1000,
    bufferEvents: limits.bufferEvents ?? 1000,
    maxInitial: 100,
    waitDefaultSeconds: 30,
    waitMaxSeconds: limits.waitMaxSeconds ?? 300,
  });
  return { feed, hub, service };
}

/** An open stream whose events accumulate in `events`; `until(n)` waits for n of them. */
function open(service: WatchService, principal: Principal, request: WatchRequest) {
  const abort = new AbortController();
  aborts.push(abort);
  const events: WatchEventView[] = [];
  let error: unknown = null;
  let ended = false;
  const done = (async () => {
    try {
      for await (const event of service.watch(principal, request, abort.signal)) events.push(event);
    } catch (e) {
      error = e;
    }
    ended = true;
  })();
  const until = async (predicate: () => boolean, ms = 2000) => {
    const stop = Date.now() + ms;
    while (!predicate()) {
      if (Date.now() > stop) throw new Error(`timed out; events: ${JSON.stringify(events)}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  return {
    events,
    abort,
    done,
    get error() {
      return error;
    },
    get ended() {
      return ended;
    },
    until,
    count: (n: number) => until(() => events.length >= n),
    changes: () => events.filter((e) => e.type !== "HEARTBEAT"),
  };
}

const settle = () => new Promise((r) => setTimeout(r, 5));

const summary = (e: WatchEventView) =>
  `${e.type}:${e.job?.job_id ?? ""}:${e.job?.status ?? ""}${e.matches ? "" : ":gone"}`;

describe("what a stream receives", () => {
  it("a filtered stream: created and updated jobs that match; one UPDATED matches=false when a job leaves", async () => {
    const { feed, service } = setup();
    const s = open(service, admin, { status: "IN_PROGRESS" });
    await s.count(1);
    expect(s.events[0]?.type).toBe("HEARTBEAT");
    // One change per hub read (the hub reads the job when it fans a change out: see the next test).
    for (const write of [
      () => feed.create("job-1"),
      () => feed.update("job-1", { status: "IN_PROGRESS" }),
      () => feed.update("job-1", { progress_percent: 50 }),
      () => feed.update("job-1", { status: "SUCCESS" }),
      () => feed.update("job-1", { current_step: "after" }),
      () => feed.create("job-2", { status: "IN_PROGRESS" }),
    ]) {
      write();
      await settle();
    }
    await s.until(() => s.changes().length >= 4);
    expect(s.changes().map(summary)).toEqual([
      "UPDATED:job-1:IN_PROGRESS",
      "UPDATED:job-1:IN_PROGRESS",
      "UPDATED:job-1:SUCCESS:gone",
      "CREATED:job-2:IN_PROGRESS",
    ]);
    expect(s.changes()[0]?.event).toMatchObject({ from_status: "PENDING", to_status: "IN_PROGRESS" });
    expect(s.changes()[1]?.event).toBeUndefined();
  });

  it("changes that commit before the hub reads them: each once, with the job as it is when read", async () => {
    const { feed, service } = setup();
    const all = open(service, admin, {});
    const running = open(service, admin, { status: "IN_PROGRESS" });
    await Promise.all([all.count(1), running.count(1)]);
    feed.create("job-1");
    feed.update("job-1", { status: "IN_PROGRESS" });
    feed.update("job-1", { status: "SUCCESS" });
    feed.create("job-2");
    feed.remove("job-2");
    await all.until(() => all.changes().length >= 4);
    await settle();
    // Every change once, in commit order, each cursor its own; the job is the newest state read.
    expect(all.changes().map((e) => `${e.cursor} ${summary(e)}`)).toEqual([
      "w1.1 CREATED:job-1:SUCCESS",
      "w1.2 UPDATED:job-1:SUCCESS",
      "w1.3 UPDATED:job-1:SUCCESS",
      "w1.5 DELETED:job-2::gone",
    ]);
    // The filtered stream never held job-1 as matching, but its timeline says it was IN_PROGRESS: told
    // once. It started without a snapshot, so it cannot know which jobs its client holds: deletions in
    // its scope are all announced.
    expect(running.changes().map(summary)).toEqual(["UPDATED:job-1:SUCCESS:gone", "DELETED:job-2::gone"]);
  });

  it("send_initial: the jobs that match now, SYNCED, then live changes from the snapshot's cursor", async () => {
    const { feed, service } = setup();
    feed.create("job-1", { status: "IN_PROGRESS" });
    feed.create("job-2");
    const s = open(service, admin, { status: "IN_PROGRESS", send_initial: true });
    await s.count(2);
    feed.update("job-2", { status: "IN_PROGRESS" });
    await s.count(3);
    expect(s.events.map(summary)).toEqual([
      "SNAPSHOT:job-1:IN_PROGRESS",
      "SYNCED::",
      "UPDATED:job-2:IN_PROGRESS",
    ]);
    expect(s.events[0]?.cursor).toBe(s.events[1]?.cursor);
  });

  it("a workspace member never sees another workspace's job, not even as DELETED; domain jobs it does", async () => {
    const { feed, service } = setup();
    const s = open(service, member("ws-1"), {});
    await s.count(1);
    for (const write of [
      () => feed.create("other", { workspace_id: "ws-2" }),
      () => feed.update("other", { status: "IN_PROGRESS" }),
      () => feed.remove("other"),
      () => feed.create("mine"),
      () => feed.create("domain-job", { workspace_id: "*", resource_group: "DOMAIN" }),
      () => feed.create("elsewhere", { domain_id: "domain-b" }),
      () => feed.remove("mine"),
    ]) {
      write();
      await settle();
    }
    await s.until(() => s.changes().length >= 3);
    await new Promise((r) => setTimeout(r, 20));
    expect(s.changes().map(summary)).toEqual([
      "CREATED:mine:PENDING",
      "CREATED:domain-job:PENDING",
      "DELETED:mine::gone",
    ]);
  });

  it("only: the projection, with job_id and version always kept", async () => {
    const { feed, service } = setup();
    const s = open(service, admin, { query: { only: ["status"] } });
    await s.count(1);
    feed.create("job-1", { plugin_id: "p" });
    await s.count(2);
    expect(s.events[1]?.job).toEqual({ job_id: "job-1", version: 1, status: "PENDING" });
  });

  it.each([
    [{ page: { limit: 10 } }, "query.page"],
    [{ sort: [{ key: "created_at" }] }, "query.sort"],
    [{ count_only: true }, "query.count_only"],
    [{ minimal: true }, "query.minimal"],
  ])("query %j is invalid_argument naming %s", async (query, field) => {
    const { service } = setup();
    const s = open(service, admin, { query });
    await s.until(() => s.ended);
    expect(s.error).toBeInstanceOf(SpaceOneError);
    expect((s.error as SpaceOneError).status).toBe("invalid_argument");
    expect((s.error as SpaceOneError).message).toContain(field);
  });
});

describe("one reader for everyone", () => {
  it("200 streams and 200 waiters: one changesAfter and one jobsByIds per batch", async () => {
    const { feed, hub, service } = setup();
    for (let i = 0; i < 200; i++) feed.create(`w-${i}`);
    const streams = Array.from({ length: 200 }, () => open(service, admin, {}));
    await Promise.all(streams.map((s) => s.count(1)));
    const waits = Array.from({ length: 200 }, (_, i) =>
      service.wait(admin, { job_id: `w-${i}` }, new AbortController().signal),
    );
    await new Promise((r) => setTimeout(r, 20));
    expect(hub.counts).toEqual({ watchers: 200, waiters: 200 });
    const before = { ...feed.reads };
    for (let i = 0; i < 200; i++) feed.update(`w-${i}`, { status: "CANCELED" });
    const jobs = await Promise.all(waits);
    expect(jobs.every((j) => j.status === "CANCELED")).toBe(true);
    await Promise.all(streams.map((s) => s.until(() => s.changes().length >= 200)));
    const batches = feed.reads.changesAfter - before.changesAfter;
    expect(batches).toBeGreaterThan(0);
    // Not one read per stream or per waiter: a few batches (200 changes at 100 per batch, plus a last empty read).
    expect(batches).toBeLessThanOrEqual(6);
    expect(feed.reads.jobsByIds - before.jobsByIds).toBeLessThanOrEqual(batches);
    expect(hub.counts.waiters).toBe(0);
  });
});

describe("nobody watching", () => {
  it("commits move the hub to the head without reading the feed; streams and waits that come later miss nothing", async () => {
    const { feed, hub, service } = setup();
    const early = open(service, admin, {});
    await early.count(1);
    feed.create("job-0");
    await early.until(() => early.changes().length >= 1);
    early.abort.abort();
    await early.done;
    await settle();
    expect(hub.counts).toEqual({ watchers: 0, waiters: 0 });
    const resumeFrom = (early.changes()[0] as WatchEventView).cursor;

    const before = { ...feed.reads };
    for (let i = 1; i <= 50; i++) feed.create(`job-${i}`);
    await settle();
    expect(feed.reads).toEqual(before);
    expect(await hub.head()).toBe(await feed.changeHead());

    // A stream resumed from before those commits reads its own gap: every change once, in order.
    const resumed = open(service, admin, { cursor: resumeFrom });
    await resumed.until(() => resumed.changes().length >= 50);
    expect(resumed.changes().map((e) => e.job?.job_id)).toEqual(
      Array.from({ length: 50 }, (_, i) => `job-${i + 1}`),
    );
    // A new stream starts at the head: only what commits after it.
    const fresh = open(service, admin, {});
    await fresh.count(1);
    feed.create("job-51");
    await resumed.until(() => resumed.changes().length >= 51);
    await fresh.until(() => fresh.changes().length >= 1);
    expect(fresh.changes().map((e) => e.job?.job_id)).toEqual(["job-51"]);
    resumed.abort.abort();
    fresh.abort.abort();
    await Promise.all([resumed.done, fresh.done]);
    await settle();

    // A wait started after more unread commits wakes on the job's next change, not on an earlier one.
    feed.update("job-1", { status: "IN_PROGRESS" });
    feed.update("job-2", { status: "IN_PROGRESS" });
    const waited = service.wait(
      admin,
      { job_id: "job-2", timeout_seconds: 10 },
      new AbortController().signal,
    );
    await new Promise((r) => setTimeout(r, 20));
    expect(hub.counts.waiters).toBe(1);
    feed.update("job-1", { status: "SUCCESS" });
    await settle();
    expect(hub.counts.waiters).toBe(1);
    feed.update("job-2", { status: "FAILURE" });
    expect(await waited).toMatchObject({ job_id: "job-2", status: "FAILURE" });
  });
});

describe("cursors", () => {
  it("resume from any event's cursor: every later change once, none before", async () => {
    const { feed, service } = setup();
    const first = open(service, admin, {});
    await first.count(1);
    for (let i = 0; i < 10; i++) feed.create(`job-${i}`);
    await first.until(() => first.changes().length >= 10);
    first.abort.abort();
    const cut = first.changes()[4] as WatchEventView;
    for (let i = 10; i < 15; i++) feed.create(`job-${i}`);
    const second = open(service, admin, { cursor: cut.cursor });
    await second.until(() => second.changes().length >= 10);
    // The first event is a HEARTBEAT at the cursor it resumed from, not past the events behind it.
    expect(second.events[0]).toMatchObject({ type: "HEARTBEAT", cursor: cut.cursor });
    expect(second.changes().map((e) => e.job?.job_id)).toEqual(
      Array.from({ length: 10 }, (_, i) => `job-${i + 5}`),
    );
  });

  it("a cursor before what the feed keeps is out_of_range, telling to list again", async () => {
    const { feed, service } = setup();
    for (let i = 0; i < 5; i++) feed.create(`job-${i}`);
    feed.dropThrough(3);
    const ok = open(service, admin, { cursor: "w1.3" });
    await ok.until(() => ok.changes().length >= 2);
    const s = open(service, admin, { cursor: "w1.2" });
    await s.until(() => s.ended);
    expect((s.error as SpaceOneError).status).toBe("out_of_range");
    expect((s.error as SpaceOneError).message).toContain("list again");
  });

  it.each(["garbage", "w1.", "w1.-1", "w2.5", "w1.zzzzzzzzzzzzzzzz"])(
    "cursor %j is invalid_argument",
    async (cursor) => {
      const { service } = setup();
      const s = open(service, admin, { cursor });
      await s.until(() => s.ended);
      expect((s.error as SpaceOneError).status).toBe("invalid_argument");
      expect((s.error as SpaceOneError).message).toContain("cursor");
    },
  );
});

describe("liveness and limits", () => {
  it("HEARTBEAT with the current cursor after a silence", async () => {
    const { feed, service } = setup({ heartbeatMs: 50 });
    const s = open(service, member("ws-1"), {});
    await s.count(1);
    feed.create("other", { workspace_id: "ws-2" });
    await s.until(() => s.events.filter((e) => e.type === "HEARTBEAT").length >= 2, 3000);
    const last = s.events.at(-1) as WatchEventView;
    expect(last.type).toBe("HEARTBEAT");
    // The cursor moved past the change this stream may not see.
    expect(last.cursor).toBe("w1.1");
  });

  it("a stream that is not read is closed with resource_exhausted once its buffer is full", async () => {
    const { feed, hub, service } = setup({ bufferEvents: 5 });
    const abort = new AbortController();
    aborts.push(abort);
    const stream = service.watch(admin, {}, abort.signal);
    expect((await stream.next()).value?.type).toBe("HEARTBEAT");
    for (let i = 0; i < 20; i++) feed.create(`job-${i}`);
    await new Promise((r) => setTimeout(r, 20));
    expect(hub.counts.watchers).toBe(0);
    await expect(stream.next()).rejects.toMatchObject({ status: "resource_exhausted" });
  });

  it("closing the hub (shutdown) ends every stream cleanly", async () => {
    const { hub, service } = setup();
    const s = open(service, admin, {});
    await s.count(1);
    hub.close();
    await s.until(() => s.ended);
    expect(s.error).toBeNull();
  });
});

describe("wait", () => {
  const wait = (service: WatchService, request: WaitRequest) =>
    service.wait(admin, request, new AbortController().signal);

  it("returns as soon as the job is terminal", async () => {
    const { feed, service } = setup();
    feed.create("job-1");
    const started = Date.now();
    const pending = wait(service, { job_id: "job-1", timeout_seconds: 10 });
    await new Promise((r) => setTimeout(r, 10));
    feed.update("job-1", { status: "IN_PROGRESS" });
    feed.update("job-1", { status: "SUCCESS" });
    expect(await pending).toMatchObject({ job_id: "job-1", status: "SUCCESS" });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("returns the job as it is at the timeout (not an error)", async () => {
    const { feed, service } = setup();
    feed.create("job-1");
    const pending = wait(service, { job_id: "job-1", timeout_seconds: 0.2 });
    feed.update("job-1", { status: "IN_PROGRESS" });
    expect(await pending).toMatchObject({ status: "IN_PROGRESS", version: 2 });
  });

  it("a terminal job returns at once; a job outside the scope is not_found", async () => {
    const { feed, service } = setup();
    feed.create("done", { status: "FAILURE" });
    feed.create("other", { workspace_id: "ws-2" });
    expect(await wait(service, { job_id: "done" })).toMatchObject({ status: "FAILURE" });
    await expect(
      service.wait(member("ws-1"), { job_id: "other" }, new AbortController().signal),
    ).rejects.toMatchObject({ status: "not_found" });
  });

  it("at shutdown (the hub closes), the job as it is, at once", async () => {
    const { feed, hub, service } = setup();
    feed.create("job-1");
    const pending = wait(service, { job_id: "job-1", timeout_seconds: 60 });
    await new Promise((r) => setTimeout(r, 10));
    const started = Date.now();
    hub.close();
    expect(await pending).toMatchObject({ status: "PENDING" });
    expect(Date.now() - started).toBeLessThan(500);
  });

  it("a client deadline shorter than the timeout: the job, just before the deadline", async () => {
    const { feed, service } = setup();
    feed.create("job-1");
    const started = Date.now();
    const job = await service.wait(
      admin,
      { job_id: "job-1", timeout_seconds: 60 },
      new AbortController().signal,
      150,
    );
    expect(job.status).toBe("PENDING");
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("timeout_seconds is capped at the maximum", async () => {
    const { feed, service } = setup({ waitMaxSeconds: 0.1 });
    feed.create("job-1");
    const started = Date.now();
    await wait(service, { job_id: "job-1", timeout_seconds: 300 });
    expect(Date.now() - started).toBeLessThan(1500);
  });
});
