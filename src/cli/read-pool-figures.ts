/**
 * `npm run read-pool-figures -- [--jobs N] [--workers W]`
 *
 * Measures what the SQLite read pool (src/storage/sqlite/read-pool.ts) costs and buys, on a fresh
 * database of N generated jobs in a temporary directory: `get` (always on the main thread), `list`
 * with its count and `stat` on the main thread vs through W worker threads, how long a `get` waits
 * behind a heavy `stat` either way, and how soon a heavy `stat` with a 200 ms deadline ends. Prints
 * one JSON object; docs/design.md quotes its figures. Used to size DATABASE_READ_WORKERS.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import type { Condition } from "../query/ast.js";
import { parseListQuery } from "../query/parse-query.js";
import { parseStatQuery } from "../query/parse-stat.js";
import type { StatQuery } from "../query/stat-ast.js";
import { generateJobs, insertJobs } from "../seed/generate.js";
import { openDatabase } from "../storage/database.js";
import { SqliteReadPool } from "../storage/sqlite/read-pool.js";
import { SqliteStore } from "../storage/sqlite/sqlite-store.js";
import { collectRows, type JobStore, type ListRequest } from "../storage/store.js";

/** A list with its rows read (a list's rows stream; unread, they would hold the worker). */
async function listAll(store: JobStore, request: ListRequest): Promise<number> {
  const result = await store.list(request);
  return result.kind === "ok" ? (await collectRows(result.rows)).length : 0;
}

const { values } = parseArgs({
  options: { jobs: { type: "string" }, workers: { type: "string" }, samples: { type: "string" } },
});
const JOBS = Number(values.jobs ?? 100_000);
const WORKERS = Number(values.workers ?? 2);
const SAMPLES = Number(values.samples ?? 200);
const NOW = new Date("2026-03-15T12:00:00.000Z");

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function timeIt(fn: () => unknown, samples = SAMPLES): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < Math.min(20, samples); i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 1000) / 1000;
  return { p50: round(percentile(times, 50)), p99: round(percentile(times, 99)) };
}

/** The longest one `get` of a loop takes while `heavy` runs (on the main thread: all of it). */
async function getStallDuring(
  store: JobStore,
  jobId: string,
  scope: Condition[],
  heavy: () => Promise<unknown>,
) {
  let worst = 0;
  let running = true;
  const probe = (async () => {
    while (running) {
      const start = performance.now();
      await store.get(jobId, scope);
      worst = Math.max(worst, performance.now() - start);
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  const started = performance.now();
  await heavy().catch(() => undefined);
  const heavyMs = performance.now() - started;
  running = false;
  await probe;
  return { heavyMs: Math.round(heavyMs), worstGetMs: Math.round(worst * 10) / 10 };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "read-pool-figures-"));
  const file = path.join(dir, "jobs.db");
  try {
    const setup = openDatabase({ file });
    insertJobs(setup, generateJobs({ count: JOBS, seed: 1, now: NOW }));
    const sample = setup.prepare("SELECT job_id, domain_id FROM jobs ORDER BY seq DESC LIMIT 1").get() as {
      job_id: string;
      domain_id: string;
    };
    setup.close();
    const scope: Condition[] = [
      { op: "eq", field: { column: "domain_id", path: [], name: "domain_id" }, value: sample.domain_id },
    ];
    const ctx = { now: NOW, maxPageSize: 1000 };
    const listQuery = parseListQuery({ page: { limit: 15 } }, ctx, ["job_id"]);
    const list: ListRequest = { ...listQuery, where: { and: scope, or: [] }, unpagedMax: 1000 };
    const withScope = (q: StatQuery): StatQuery => ({
      ...q,
      where: { and: [...scope, ...q.where.and], or: q.where.or },
    });
    const byStatus = withScope(
      parseStatQuery(
        {
          aggregate: [
            {
              group: {
                keys: [{ key: "status", name: "status" }],
                fields: [{ operator: "count", name: "n" }],
              },
            },
          ],
        },
        ctx,
      ),
    );
    // Heavy on purpose: every job's options unwound and regrouped.
    const heavy = withScope(
      parseStatQuery(
        {
          aggregate: [
            {
              project: {
                fields: [
                  { key: "options", name: "o" },
                  { key: "job_id", name: "id" },
                ],
              },
            },
            {
              group: {
                keys: [{ key: "id", name: "id" }],
                fields: [{ key: "o", name: "all", operator: "push" }],
              },
            },
            { sort: [{ key: "id", desc: true }] },
          ],
        },
        ctx,
      ),
    );
    const statOptions = { maxRows: 1_000_000 };

    const direct = new SqliteStore(openDatabase({ file }), { ownsConnection: true });
    const pool = new SqliteReadPool({ file, size: WORKERS, busyTimeoutMs: 5000, maxTimeMs: 60_000 });
    const pooled = new SqliteStore(openDatabase({ file }), { ownsConnection: true, reader: pool });
    await listAll(pooled, list); // workers up

    const result = {
      jobs: JOBS,
      workers: WORKERS,
      getMs: {
        main: await timeIt(() => direct.get(sample.job_id, scope)),
        withPool: await timeIt(() => pooled.get(sample.job_id, scope)),
      },
      listWithCountMs: {
        main: await timeIt(() => listAll(direct, list)),
        pool: await timeIt(() => listAll(pooled, list)),
      },
      statByStatusMs: {
        main: await timeIt(() => direct.stat(byStatus, statOptions), 50),
        pool: await timeIt(() => pooled.stat(byStatus, statOptions), 50),
      },
      getDuringHeavyStat: {
        main: await getStallDuring(direct, sample.job_id, scope, () => direct.stat(heavy, statOptions)),
        pool: await getStallDuring(pooled, sample.job_id, scope, () => pooled.stat(heavy, statOptions)),
      },
      heavyStatWith200msDeadline: await (async () => {
        const start = performance.now();
        const outcome = await pooled.stat(heavy, statOptions, { deadline: Date.now() + 200 }).then(
          () => "finished",
          (e: { status?: string }) => e.status ?? String(e),
        );
        const endedMs = Math.round(performance.now() - start);
        const afterwards = await timeIt(() => listAll(pooled, list), 20);
        return { outcome, endedMs, listAfterwardsP50Ms: afterwards.p50 };
      })(),
    };
    await direct.close();
    await pooled.close();
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
