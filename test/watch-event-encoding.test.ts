/**
 * One event, one encoding: the streams that receive the same event share one event object and one
 * encoded frame per format, while a stream with a projection (`only`) or its own view of the change
 * (`matches` false when the job leaves its filter) gets its own, with the right content.
 */
import { fromBinary, fromJsonString } from "@bufbuild/protobuf";
import { createMethodSerializationLookup } from "@connectrpc/connect/protocol";
import { afterEach, describe, expect, it } from "vitest";
import {
  JobLifecycle,
  type JobWatchEvent,
  JobWatchEventSchema,
} from "../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import type { Principal } from "../src/auth/principal.js";
import { WatchHub } from "../src/service/watch/watch-hub.js";
import type { WatchRequest } from "../src/service/watch/watch-request.js";
import { WatchService } from "../src/service/watch/watch-service.js";
import type { WatchEventView } from "../src/service/watch/watcher.js";
import { sseMessage, WatchEventEncoder } from "../src/wire/watch-event-encoding.js";
import { MemoryFeed } from "./support/memory-feed.js";

const admin: Principal = {
  tokenType: "ACCESS_TOKEN",
  role: "DOMAIN_ADMIN",
  domainId: "domain-a",
  workspaceId: null,
  permissions: [],
  subject: "admin",
};

const aborts: AbortController[] = [];
const hubs: WatchHub[] = [];
afterEach(() => {
  for (const a of aborts.splice(0)) a.abort();
  for (const h of hubs.splice(0)) h.close();
});

function setup() {
  const feed = new MemoryFeed();
  const hub = new WatchHub(feed, { pollIntervalMs: 60_000, batchSize: 100, heartbeatMs: 60_000 });
  hubs.push(hub);
  const service = new WatchService(feed, hub, {
    maxPageSize: 1000,
    bufferEvents: 1000,
    maxInitial: 100,
    waitDefaultSeconds: 30,
    waitMaxSeconds: 300,
  });
  const s = createMethodSerializationLookup(
    JobLifecycle.method.watch,
    undefined,
    { useProtoFieldName: true },
    {
      readMaxBytes: 1 << 20,
      writeMaxBytes: 1 << 20,
    },
  );
  const encoder = new WatchEventEncoder({ binary: s.getO(true) as never, json: s.getO(false) as never });
  return { feed, service, encoder };
}

function open(service: WatchService, request: WatchRequest) {
  const abort = new AbortController();
  aborts.push(abort);
  const events: WatchEventView[] = [];
  void (async () => {
    for await (const event of service.watch(admin, request, abort.signal)) events.push(event);
  })();
  return {
    events,
    async count(n: number) {
      const stop = Date.now() + 2000;
      while (events.length < n) {
        if (Date.now() > stop) throw new Error(`timed out with ${events.length} of ${n} events`);
        await new Promise((r) => setTimeout(r, 2));
      }
    },
  };
}

const decode = (frame: Uint8Array): JobWatchEvent => fromBinary(JobWatchEventSchema, frame.subarray(5));

describe("watch events are encoded once per event and format", () => {
  it("streams receiving the same event share its object and its frames; projection and matches are per stream", async () => {
    const { feed, service, encoder } = setup();
    feed.create("job-1", { status: "PENDING" });
    const a = open(service, { job_id: "job-1" });
    const b = open(service, { job_id: "job-1" });
    const projected = open(service, { job_id: "job-1", query: { only: ["status"] } });
    const filtered = open(service, { job_id: "job-1", status: "IN_PROGRESS" });
    const streams = [a, b, projected, filtered];
    for (const s of streams) await s.count(1);

    feed.update("job-1", { status: "IN_PROGRESS" });
    for (const s of streams) await s.count(2);
    const [ea, eb, ep, ef] = streams.map((s) => s.events[1] as WatchEventView);
    // Same change, same row, no projection: one object, one binary and one JSON frame for all.
    expect(eb).toBe(ea);
    expect(ef).toBe(ea);
    expect(encoder.frame(eb as WatchEventView, true)).toBe(encoder.frame(ea as WatchEventView, true));
    expect(encoder.frame(eb as WatchEventView, false)).toBe(encoder.frame(ea as WatchEventView, false));
    expect(sseMessage(eb as WatchEventView)).toBe(sseMessage(ea as WatchEventView));
    // The projection is the stream's own event, with only what it asked for.
    expect(ep).not.toBe(ea);
    const full = decode(encoder.frame(ea as WatchEventView, true));
    const only = decode(encoder.frame(ep as WatchEventView, true));
    expect(full.job?.status).toBe(only.job?.status);
    expect(full.job?.trustedAccountId).toBe("ta-1");
    expect(only.job?.trustedAccountId).toBe("");
    expect(only.job?.jobId).toBe("job-1");

    feed.update("job-1", { status: "SUCCESS" });
    for (const s of streams) await s.count(3);
    const [la, lb, lp, lf] = streams.map((s) => s.events[2] as WatchEventView);
    expect(lb).toBe(la);
    // The filtered stream is told the job left its filter: its own event, matches false.
    expect(lf).not.toBe(la);
    const left = decode(encoder.frame(lf as WatchEventView, true));
    const kept = decode(encoder.frame(la as WatchEventView, true));
    expect([left.matches, kept.matches]).toEqual([false, true]);
    expect(left.job?.status).toBe(kept.job?.status);
    expect(lp?.matches).toBe(true);
    expect(decode(encoder.frame(lp as WatchEventView, true)).job?.trustedAccountId).toBe("");
    // JSON and binary frames say the same.
    const json = encoder.frame(lf as WatchEventView, false);
    expect(fromJsonString(JobWatchEventSchema, Buffer.from(json.subarray(5)).toString("utf8"))).toEqual(left);
  });

  it("a compressed frame is built once per event and compression", async () => {
    const { feed, service, encoder } = setup();
    feed.create("job-1", { options: JSON.stringify({ note: "x".repeat(4000) }) });
    const a = open(service, { job_id: "job-1" });
    const b = open(service, { job_id: "job-1" });
    await a.count(1);
    await b.count(1);
    feed.update("job-1", { status: "IN_PROGRESS" });
    await a.count(2);
    await b.count(2);
    const { compressionGzip } = await import("@connectrpc/connect-node");
    const fa = await encoder.compressedFrame(a.events[1] as WatchEventView, true, compressionGzip, 1024);
    const fb = await encoder.compressedFrame(b.events[1] as WatchEventView, true, compressionGzip, 1024);
    expect(fb).toBe(fa);
    expect(fa[0]).toBe(1);
    expect(fa.byteLength).toBeLessThan(encoder.frame(a.events[1] as WatchEventView, true).byteLength);
  });
});
