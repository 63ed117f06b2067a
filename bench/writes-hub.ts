/**
 * `npx tsx bench/writes-hub.ts [--writers N] [--reports N] [--rounds N]`: what a started watch hub with
 * nobody watching costs a progress report, in the process: `--writers` concurrent callers (default 6,
 * groups of about the size seen over the wire) send `--reports` progress reports in all through
 * `JobLifecycleService` on a scratch `SqliteStore` (the service's pragmas), without and with a `WatchHub`
 * started (as after a first stream or `wait`), alternating rounds. Prints writes/s, the process's CPU
 * per report, and the change-feed reads the hub made. Figures on a loaded machine: compare within a run.
 */
import fs from "node:fs";
import path from "node:path";
import { generateJobs, insertJobs } from "../src/seed/generate.js";
import { JobLifecycleService } from "../src/service/job-lifecycle.js";
import { type ChangeSource, WatchHub } from "../src/service/watch/watch-hub.js";
import { openDatabase } from "../src/storage/database.js";
import { SqliteStore } from "../src/storage/sqlite/sqlite-store.js";
import { fmt } from "./core/figure.js";
import { runScratchRounds } from "./core/scratch-rounds.js";
import { SEED_NOW } from "./core/workload.js";
import { startedJobs, WORKER } from "./scenarios/lifecycle-writes.js";

async function round(dir: string, writers: number, reports: number, withHub: boolean): Promise<string> {
  const file = path.join(dir, "writes-hub.db");
  const store = new SqliteStore(openDatabase({ file }), { ownsConnection: true });
  insertJobs(store.db, generateJobs({ count: 2000, now: SEED_NOW }));
  let feedReads = 0;
  // The store as the hub sees it, counting the feed reads.
  const source: ChangeSource = {
    changesAfter: (after, limit, options) => {
      feedReads++;
      return store.changesAfter(after, limit, options);
    },
    changeHead: () => store.changeHead(),
    oldestChange: () => store.oldestChange(),
    jobsByIds: (ids, options) => store.jobsByIds(ids, options),
    onCommit: (listener) => store.onCommit(listener),
    events: (jobId, scope, options) => store.events(jobId, scope, options),
  };
  const hub = withHub
    ? new WatchHub(source, { pollIntervalMs: 60_000, batchSize: 500, heartbeatMs: 60_000 })
    : null;
  try {
    await hub?.head();
    const lifecycle = new JobLifecycleService(store, { duplicateWindowMs: 600_000 });
    const ids = await startedJobs(lifecycle, writers);
    let left = reports;
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    await Promise.all(
      ids.map(async (jobId) => {
        for (let n = 1; left-- > 0; n++) {
          await lifecycle.reportProgress(WORKER, {
            job_id: jobId,
            records_processed: n,
            progress_percent: 1,
          });
        }
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return `${withHub ? "hub started, nobody watching" : "no hub                      "}: ${fmt(reports / seconds)} writes/s, ${fmt((cpu.user + cpu.system) / reports)} µs CPU per report, ${feedReads} feed reads`;
  } finally {
    hub?.close();
    await store.close();
    for (const suffix of ["", "-wal", "-shm"]) fs.rmSync(`${file}${suffix}`, { force: true });
  }
}

runScratchRounds("writes-hub", { reports: 30_000 }, async ({ dir, writers, reports }) => [
  await round(dir, writers, reports, false),
  await round(dir, writers, reports, true),
]);
