/**
 * The SQLite read pool: list and stat through worker threads answer exactly as the main thread does;
 * a stat that overruns its deadline is stopped (its worker terminated and replaced) with
 * deadline_exceeded while `get` keeps answering at once; a request whose deadline passes while it
 * waits for a worker never runs; a read that outgrows its worker's heap cap is resource_exhausted and
 * the worker is replaced; the pool serves on afterwards.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Condition } from "../src/query/ast.js";
import { DEFAULT_QUERY_LIMITS } from "../src/query/cost.js";
import { parseListQuery, type QueryContext } from "../src/query/parse-query.js";
import { parseStatQuery } from "../src/query/parse-stat.js";
import type { StatQuery } from "../src/query/stat-ast.js";
import { generateJobs, insertJobs } from "../src/seed/generate.js";
import { openDatabase } from "../src/storage/database.js";
import { SqliteReadPool } from "../src/storage/sqlite/read-pool.js";
import { SqliteStore } from "../src/storage/sqlite/sqlite-store.js";
import { collectRows, type ListRequest, type ListResult } from "../src/storage/store.js";

const NOW = new Date("2026-03-15T12:00:00.000Z");
const CTX = { now: NOW, maxPageSize: 1000 };
let dir: string;
let direct: SqliteStore;
let pooled: SqliteStore;
let pool: SqliteReadPool;
let domain: Condition[];
let someJob: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "read-pool-"));
  const file = path.join(dir, "jobs.db");
  const db = openDatabase({ file });
  insertJobs(db, generateJobs({ count: 600, seed: 5, now: NOW }));
  const row = db.prepare("SELECT job_id, domain_id FROM jobs ORDER BY seq LIMIT 1").get() as {
    job_id: string;
    domain_id: string;
  };
  db.close();
  someJob = row.job_id;
  domain = [{ op: "eq", field: { column: "domain_id", path: [], name: "domain_id" }, value: row.domain_id }];
  direct = new SqliteStore(openDatabase({ file }), { ownsConnection: true });
  pool = new SqliteReadPool({ file, size: 1, busyTimeoutMs: 1000, maxTimeMs: 30_000 });
  pooled = new SqliteStore(openDatabase({ file }), {
    ownsConnection: true,
    reader: pool,
  });
});

/** Every worker up (the first, or the replacement of a stopped one), so timings measure the query. */
async function workerUp(): Promise<void> {
  await pool.start();
}

afterAll(async () => {
  await direct?.close();
  await pooled?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const scoped = (q: StatQuery): StatQuery => ({
  ...q,
  where: { and: [...domain, ...q.where.and], or: q.where.or },
});
function listOf(query: Record<string, unknown>): ListRequest {
  const parsed = parseListQuery(query as never, CTX, ["job_id", "status"]);
  return {
    ...parsed,
    where: { and: [...domain, ...parsed.where.and], or: parsed.where.or },
    unpagedMax: 1000,
  };
}
/** A list answer with its rows read (rows stream from the worker). */
async function read(answer: Promise<ListResult>) {
  const result = await answer;
  return result.kind === "ok" ? { ...result, rows: await collectRows(result.rows) } : result;
}
function statOf(query: Record<string, unknown>, ctx: QueryContext = CTX): StatQuery {
  return scoped(parseStatQuery(query as never, ctx));
}

/**
 * The cost model refuses three unwinds by default (docs/limits.md); an operator may raise
 * STAT_MAX_UNWINDS, and then the deadline is what must stop such a query. That is the case here.
 */
const THREE_UNWINDS = { ...CTX, limits: { ...DEFAULT_QUERY_LIMITS, maxUnwinds: 3 } };

/**
 * Rows multiply: every job's id pushed under three names in one group, then each list unwound
 * (600^3 rows before the count), far longer than the deadlines below.
 */
const explosive = (): StatQuery =>
  statOf(
    {
      aggregate: [
        {
          group: {
            keys: [],
            fields: [
              { key: "job_id", name: "a", operator: "push" },
              { key: "job_id", name: "b", operator: "push" },
              { key: "job_id", name: "c", operator: "push" },
            ],
          },
        },
        { unwind: { path: "a" } },
        { unwind: { path: "b" } },
        { unwind: { path: "c" } },
        { count: { name: "n" } },
      ],
    },
    THREE_UNWINDS,
  );

describe("read pool", () => {
  it("answers list and stat exactly as the main thread does", async () => {
    await workerUp();
    const lists = [
      listOf({ page: { limit: 15 } }),
      listOf({ filter: [{ k: "status", v: "SUCCESS", o: "eq" }], sort: [{ key: "options.provider" }] }),
      listOf({ page: { start: 3, limit: 5 }, only: ["job_id", "options.provider"] }),
    ];
    for (const request of lists) {
      const expected = await read(direct.list(request));
      expect(expected.kind === "ok" && expected.rows.length).toBeGreaterThan(0);
      expect(await read(pooled.list(request))).toEqual(expected);
    }
    const stats = [
      statOf({
        aggregate: [
          { group: { keys: [{ key: "status", name: "s" }], fields: [{ operator: "count", name: "n" }] } },
        ],
      }),
      statOf({ distinct: "options.provider", page: { limit: 3 } }),
    ];
    for (const query of stats) {
      const expected = await direct.stat(query, { maxRows: 1000 });
      expect(expected.rows.length).toBeGreaterThan(0);
      expect(await pooled.stat(query, { maxRows: 1000 })).toEqual(expected);
    }
  });

  it("stops a stat at its deadline while get goes on, and serves on afterwards", async () => {
    await workerUp();
    const started = performance.now();
    const heavy = pooled.stat(explosive(), { maxRows: 1000 }, { deadline: Date.now() + 300 });
    // The event loop is free: point lookups answer while the worker grinds.
    const getStart = performance.now();
    expect((await pooled.get(someJob, domain))?.job_id).toBe(someJob);
    expect(performance.now() - getStart).toBeLessThan(100);
    await expect(heavy).rejects.toMatchObject({ status: "deadline_exceeded" });
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(3000);
    // A fresh worker takes the stopped one's place.
    await workerUp();
    const after = await read(pooled.list(listOf({ page: { limit: 2 } })));
    expect(after.kind === "ok" && after.rows).toHaveLength(2);
  });

  it("never runs a request whose deadline passes while it waits for a worker", async () => {
    await workerUp();
    const heavy = pooled.stat(explosive(), { maxRows: 1000 }, { deadline: Date.now() + 400 });
    const waiting = pooled.list(listOf({ page: { limit: 1 } }), { deadline: Date.now() + 100 });
    await expect(waiting).rejects.toMatchObject({ status: "deadline_exceeded" });
    await expect(heavy).rejects.toMatchObject({ status: "deadline_exceeded" });
    await workerUp();
    const aborted = new AbortController();
    const cancelled = pooled.stat(explosive(), { maxRows: 1000 }, { signal: aborted.signal });
    setTimeout(() => aborted.abort(), 50);
    await expect(cancelled).rejects.toMatchObject({ status: "deadline_exceeded" });
    await workerUp();
    expect(await read(pooled.list(listOf({ page: { limit: 1 } })))).toMatchObject({ kind: "ok" });
  });
});

describe("read pool with a capped worker heap", () => {
  const HEAP_MB = 32;
  let small: SqliteReadPool;
  let capped: SqliteStore;
  beforeAll(async () => {
    const file = path.join(dir, "jobs.db");
    small = new SqliteReadPool({ file, size: 1, busyTimeoutMs: 1000, maxTimeMs: 60_000, heapMb: HEAP_MB });
    capped = new SqliteStore(openDatabase({ file }), { ownsConnection: true, reader: small });
    await small.start();
  });
  afterAll(() => capped?.close());

  /**
   * Every job's id beside every job's options, over the whole table: 360,000 rows of ~500 bytes,
   * far past a 32 MB heap (two unwinds, so the limits are raised as an operator may).
   */
  const pairs = (): StatQuery =>
    parseStatQuery(
      {
        aggregate: [
          {
            group: {
              keys: [],
              fields: [
                { key: "job_id", name: "a", operator: "push" },
                { key: "options", name: "b", operator: "push" },
              ],
            },
          },
          { unwind: { path: "a" } },
          { unwind: { path: "b" } },
        ],
      } as never,
      THREE_UNWINDS,
    );

  it("answers resource_exhausted naming the setting, replaces the worker, and serves on", async () => {
    await expect(capped.stat(pairs(), { maxRows: 10_000_000 })).rejects.toMatchObject({
      status: "resource_exhausted",
      message: expect.stringContaining("DATABASE_READ_WORKER_HEAP_MB"),
    });
    // The same pool answers the next read (a fresh worker under the same cap).
    const after = await read(capped.list(listOf({ page: { limit: 3 } })));
    expect(after.kind === "ok" && after.rows).toHaveLength(3);
    const distinct = await capped.stat(statOf({ distinct: "status" }), { maxRows: 1000 });
    expect(distinct.rows.length).toBeGreaterThan(0);
  }, 90_000);
});
