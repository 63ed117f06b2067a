/**
 * The CPU cost of fanning changes out, in-process and independent of the wire: one hub over an
 * in-memory feed, N open watch streams read by consumers that encode every event to protobuf binary
 * (what the wire does for each message), and M changes. Prints the hub's feed reads, CPU time per
 * delivered event, and heap and RSS growth per open stream. CPU time, unlike wall time, stays
 * meaningful on a loaded machine.
 *
 *   npx tsx bench/watch-fanout.ts [--streams 1000] [--jobs 20] [--changes 2000] [--match job|all]
 */
import { setMaxListeners } from "node:events";
import { parseArgs } from "node:util";
import { toBinary } from "@bufbuild/protobuf";
import { JobWatchEventSchema } from "../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import type { Principal } from "../src/auth/principal.js";
import { WatchHub } from "../src/service/watch/watch-hub.js";
import { WatchService } from "../src/service/watch/watch-service.js";
import { toWatchEvent } from "../src/wire/job-watch-handlers.js";
import { MemoryFeed } from "../test/support/memory-feed.js";

const { values } = parseArgs({
  options: {
    streams: { type: "string", default: "1000" },
    jobs: { type: "string", default: "20" },
    changes: { type: "string", default: "2000" },
    match: { type: "string", default: "job" },
  },
});
const STREAMS = Number(values.streams);
const JOBS = Number(values.jobs);
const CHANGES = Number(values.changes);
const MATCH = values.match === "all" ? "all" : "job";

const admin: Principal = {
  tokenType: "ACCESS_TOKEN",
  role: "DOMAIN_ADMIN",
  domainId: "domain-a",
  workspaceId: null,
  permissions: [],
  subject: "bench",
};
const feed = new MemoryFeed();
const hub = new WatchHub(feed, { pollIntervalMs: 60_000, batchSize: 500, heartbeatMs: 60_000 });
const service = new WatchService(feed, hub, {
  maxPageSize: 1000,
  bufferEvents: 100_000,
  maxInitial: 1000,
  waitDefaultSeconds: 30,
  waitMaxSeconds: 300,
});
for (let j = 0; j < JOBS; j++)
  feed.create(`job-${j}`, { status: "IN_PROGRESS", trusted_account_id: `ta-${j}` });

global.gc?.();
const before = process.memoryUsage();
const abort = new AbortController();
setMaxListeners(STREAMS + 10, abort.signal);
let delivered = 0;
let bytes = 0;
let opened = 0;
const consumers: Promise<void>[] = [];
for (let i = 0; i < STREAMS; i++) {
  const request = MATCH === "job" ? { job_id: `job-${i % JOBS}` } : {};
  consumers.push(
    (async () => {
      for await (const view of service.watch(admin, request, abort.signal)) {
        if (view.type === "HEARTBEAT") {
          opened++;
          continue;
        }
        bytes += toBinary(JobWatchEventSchema, toWatchEvent(view)).length;
        delivered++;
      }
    })(),
  );
}
while (opened < STREAMS) await new Promise((r) => setTimeout(r, 5));
global.gc?.();
const open = process.memoryUsage();

const expected = MATCH === "job" ? CHANGES * (STREAMS / JOBS) : CHANGES * STREAMS;
const reads0 = { ...feed.reads };
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (let c = 0; c < CHANGES; c++) {
  feed.update(`job-${c % JOBS}`, { progress_percent: c % 100, current_step: `step ${c}` });
  // A realistic cadence: a few writes per hub read.
  if (c % 5 === 4) await new Promise((r) => setImmediate(r));
}
while (delivered < expected) await new Promise((r) => setImmediate(r));
const cpu = process.cpuUsage(cpu0);
const wall = performance.now() - t0;
abort.abort();
await Promise.allSettled(consumers);
hub.close();

const cpuMs = (cpu.user + cpu.system) / 1000;
console.log(
  JSON.stringify(
    {
      streams: STREAMS,
      jobs: JOBS,
      match: MATCH,
      changes: CHANGES,
      events_delivered: delivered,
      feed_reads: {
        changesAfter: feed.reads.changesAfter - reads0.changesAfter,
        jobsByIds: feed.reads.jobsByIds - reads0.jobsByIds,
      },
      cpu_us_per_event: Math.round((cpuMs * 1000 * 100) / delivered) / 100,
      cpu_ms_per_change: Math.round((cpuMs / CHANGES) * 100) / 100,
      wall_ms: Math.round(wall),
      mean_event_bytes: Math.round(bytes / delivered),
      heap_kb_per_stream: Math.round((open.heapUsed - before.heapUsed) / 1024 / STREAMS),
      rss_kb_per_stream: Math.round((open.rss - before.rss) / 1024 / STREAMS),
    },
    null,
    2,
  ),
);
