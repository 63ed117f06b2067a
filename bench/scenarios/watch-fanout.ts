/**
 * The CPU cost of fanning changes out, in-process and independent of the wire: one hub over an
 * in-memory feed, N open watch streams (each following one job, as console pages do) read by consumers
 * that take every event's protobuf binary frame as the wire does (`WatchEventEncoder`: built once per
 * event, shared by the streams that receive it), and M changes.
 * Figures: CPU time per delivered event, heap per open stream, and the hub's feed reads per change
 * (one read serves every stream). CPU time, unlike wall time, stays meaningful on a loaded machine.
 */
import { setMaxListeners } from "node:events";
import { createMethodSerializationLookup } from "@connectrpc/connect/protocol";
import { JobLifecycle } from "../../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import type { Principal } from "../../src/auth/principal.js";
import { WatchHub } from "../../src/service/watch/watch-hub.js";
import { WatchService } from "../../src/service/watch/watch-service.js";
import { WatchEventEncoder } from "../../src/wire/watch-event-encoding.js";
import { MemoryFeed } from "../../test/support/memory-feed.js";
import { figure, fmt } from "../core/figure.js";
import type { Scenario } from "../core/scenario.js";

const admin: Principal = {
  tokenType: "ACCESS_TOKEN",
  role: "DOMAIN_ADMIN",
  domainId: "domain-a",
  workspaceId: null,
  permissions: [],
  subject: "bench",
};

interface FanoutResult {
  delivered: number;
  feedReads: number;
  cpuUsPerEvent: number;
  heapKbPerStream: number;
}

async function fanout(STREAMS: number, JOBS: number, CHANGES: number): Promise<FanoutResult> {
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
  let opened = 0;
  const serialization = createMethodSerializationLookup(JobLifecycle.method.watch, undefined, undefined, {
    readMaxBytes: 1 << 22,
    writeMaxBytes: 1 << 22,
  });
  const encoder = new WatchEventEncoder({
    binary: serialization.getO(true) as never,
    json: serialization.getO(false) as never,
  });
  const consumers: Promise<void>[] = [];
  for (let i = 0; i < STREAMS; i++) {
    const request = { job_id: `job-${i % JOBS}` };
    consumers.push(
      (async () => {
        for await (const view of service.watch(admin, request, abort.signal)) {
          if (view.type === "HEARTBEAT") {
            opened++;
            continue;
          }
          encoder.frame(view, true);
          delivered++;
        }
      })(),
    );
  }
  while (opened < STREAMS) await new Promise((r) => setTimeout(r, 5));
  global.gc?.();
  const open = process.memoryUsage();

  const expected = CHANGES * (STREAMS / JOBS);
  const reads0 = { ...feed.reads };
  const cpu0 = process.cpuUsage();
  for (let c = 0; c < CHANGES; c++) {
    feed.update(`job-${c % JOBS}`, { progress_percent: c % 100, current_step: `step ${c}` });
    // A realistic cadence: a few writes per hub read.
    if (c % 5 === 4) await new Promise((r) => setImmediate(r));
  }
  while (delivered < expected) await new Promise((r) => setImmediate(r));
  const cpu = process.cpuUsage(cpu0);
  abort.abort();
  await Promise.allSettled(consumers);
  hub.close();

  const cpuMs = (cpu.user + cpu.system) / 1000;
  return {
    delivered,
    feedReads: feed.reads.changesAfter - reads0.changesAfter,
    cpuUsPerEvent: (cpuMs * 1000) / delivered,
    heapKbPerStream: (open.heapUsed - before.heapUsed) / 1024 / STREAMS,
  };
}

export const watchFanoutScenario: Scenario = {
  name: "watch_fanout",
  title: "watch fan-out in-process: CPU per delivered event, heap per open stream",
  async run(ctx) {
    const streams = ctx.o.quick ? 200 : 1000;
    const jobs = 20;
    const changes = ctx.o.quick ? 200 : 2000;
    const r = await fanout(streams, jobs, changes);
    ctx.log(
      `    ${streams} streams, ${changes} changes: ${r.delivered} events, ${fmt(r.cpuUsPerEvent)} us CPU/event, ${r.feedReads} feed reads`,
    );
    const setting = `${streams} streams each following one of ${jobs} jobs, ${changes} progress changes`;
    return [
      figure({
        name: "watch_fanout.cpu_us_per_event",
        title: `hub + encode CPU per delivered event (${setting})`,
        value: r.cpuUsPerEvent,
        unit: "us",
      }),
      figure({
        name: "watch_fanout.heap_kb_per_stream",
        title: "heap per open watch stream in the hub and service (no wire)",
        value: r.heapKbPerStream,
        unit: "KB",
        note: "run under node --expose-gc for a settled figure",
      }),
      figure({
        name: "watch_fanout.feed_reads_per_change",
        title: "feed reads (changesAfter) per change, whatever the number of streams",
        value: r.feedReads / changes,
        unit: "reads",
        target: { on: "value", op: "<=", threshold: 1 },
      }),
    ];
  },
};
