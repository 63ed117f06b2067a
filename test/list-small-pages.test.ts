/**
 * A page whose limit fits one batch (`fitsOneBatch`) is read whole with its count: on the SQLite read
 * pool the worker answers rows and total in one message, so it is free again before the caller reads
 * a row (a bigger list still streams and holds its worker until its rows are read); on PostgreSQL it
 * is one SELECT, no server-side cursor. Rows, total and order are the streamed path's, at and around
 * the batch boundary; a small page aborted or past its deadline while the worker reads it is
 * deadline_exceeded, and the pool serves on.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseListQuery } from "../src/query/parse-query.js";
import { generateJobs, insertJobs } from "../src/seed/generate.js";
import { openDatabase } from "../src/storage/database.js";
import { BatchStream } from "../src/storage/sqlite/batch-stream.js";
import { SqliteReadPool } from "../src/storage/sqlite/read-pool.js";
import { SqliteStore } from "../src/storage/sqlite/sqlite-store.js";
import {
  collectRows,
  fitsOneBatch,
  type JobStore,
  LIST_BATCH_ROWS,
  type ListRequest,
  type ListResult,
} from "../src/storage/store.js";
import { BACKENDS, type TestStore } from "./support/backends.js";

const NOW = new Date("2026-03-15T12:00:00.000Z");
const JOBS = 2345;
const SORT = [{ key: "created_at", desc: true }, { key: "job_id" }];

function listOf(query: Record<string, unknown> = {}): ListRequest {
  return { ...parseListQuery(query as never, { now: NOW, maxPageSize: 5000 }, []), unpagedMax: 100_000 };
}

async function ok(answer: Promise<ListResult>) {
  const result = await answer;
  if (result.kind !== "ok") throw new Error(`expected rows, got ${result.kind}`);
  return result;
}

/** Pages at, below and above the batch size, from the start, across a batch boundary, and at the end. */
const PAGES = [
  { start: 1, limit: 1 },
  { start: 1, limit: 100 },
  { start: 1, limit: LIST_BATCH_ROWS - 1 },
  { start: 1, limit: LIST_BATCH_ROWS },
  { start: 1, limit: LIST_BATCH_ROWS + 1 },
  { start: LIST_BATCH_ROWS, limit: 2 },
  { start: LIST_BATCH_ROWS + 1, limit: LIST_BATCH_ROWS },
  { start: JOBS - 50, limit: 100 },
];

/** Every page is the unpaged (streamed) answer's slice, with the same total. */
function samePagesAsStreamed(storeOf: () => JobStore) {
  it("answers every page with the streamed answer's rows, total and order, at and around the batch size", async () => {
    const store = storeOf();
    const all = await ok(store.list(listOf({ sort: SORT })));
    const streamed = await collectRows(all.rows);
    expect(streamed).toHaveLength(JOBS);
    const kinds = new Set<boolean>();
    for (const page of PAGES) {
      const request = listOf({ sort: SORT, page });
      kinds.add(fitsOneBatch(request));
      const answer = await ok(store.list(request));
      expect(answer.total).toBe(JOBS);
      const rows = await collectRows(answer.rows);
      const from = page.start - 1;
      expect(rows).toEqual(streamed.slice(from, from + page.limit));
      expect(rows.length).toBeGreaterThan(0);
    }
    // Both paths were compared: pages read whole and pages that stream.
    expect([...kinds].sort()).toEqual([false, true]);
  });
}

describe("which lists are read whole", () => {
  it("a page of at most one batch, or a count; not an unpaged list or a bigger page", () => {
    expect(fitsOneBatch(listOf({ page: { limit: 100 } }))).toBe(true);
    expect(fitsOneBatch(listOf({ page: { limit: LIST_BATCH_ROWS } }))).toBe(true);
    expect(fitsOneBatch(listOf({ page: { limit: LIST_BATCH_ROWS + 1 } }))).toBe(false);
    expect(fitsOneBatch(listOf({}))).toBe(false);
    expect(fitsOneBatch(listOf({ count_only: true }))).toBe(true);
  });
});

describe("small pages through the SQLite read pool", () => {
  let dir: string;
  let file: string;
  let pool: SqliteReadPool;
  let pooled: SqliteStore;
  let direct: SqliteStore;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "list-small-pages-"));
    file = path.join(dir, "jobs.db");
    const db = openDatabase({ file });
    insertJobs(db, generateJobs({ count: JOBS, seed: 8, now: NOW }));
    db.close();
    pool = new SqliteReadPool({ file, size: 1, busyTimeoutMs: 1000, maxTimeMs: 30_000 });
    pooled = new SqliteStore(openDatabase({ file }), { ownsConnection: true, reader: pool });
    direct = new SqliteStore(openDatabase({ file }), { ownsConnection: true });
    await pool.start();
  });
  afterAll(async () => {
    await pooled?.close();
    await direct?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("a page that fits one batch arrives whole: its worker is free before a row is read", async () => {
    const answer = await ok(pooled.list(listOf({ sort: SORT, page: { limit: LIST_BATCH_ROWS } })));
    expect(answer.rows).not.toBeInstanceOf(BatchStream);
    expect(pool.use()).toMatchObject({ inUse: 0, idle: 1 });
    expect(await collectRows(answer.rows)).toHaveLength(LIST_BATCH_ROWS);
  });

  it("a bigger page still streams: its worker stays its own until the rows are read", async () => {
    const answer = await ok(pooled.list(listOf({ sort: SORT, page: { limit: LIST_BATCH_ROWS + 1 } })));
    expect(answer.rows).toBeInstanceOf(BatchStream);
    expect(pool.use()).toMatchObject({ inUse: 1 });
    expect(await collectRows(answer.rows)).toHaveLength(LIST_BATCH_ROWS + 1);
    expect(pool.use()).toMatchObject({ inUse: 0 });
  });

  it("a count alone comes in one message with no rows", async () => {
    const answer = await ok(pooled.list(listOf({ count_only: true })));
    expect(answer.total).toBe(JOBS);
    expect(pool.use()).toMatchObject({ inUse: 0 });
    expect(await collectRows(answer.rows)).toEqual([]);
  });

  samePagesAsStreamed(() => pooled);

  it("answers each page exactly as the main thread's connection does", async () => {
    for (const page of PAGES) {
      const request = listOf({ sort: [{ key: "options.provider" }, { key: "job_id", desc: true }], page });
      const mine = await ok(direct.list(request));
      const theirs = await ok(pooled.list(request));
      expect(theirs.total).toBe(mine.total);
      expect(theirs.cursor).toBe(mine.cursor);
      const rows = await collectRows(mine.rows);
      expect(rows.length).toBeGreaterThan(0);
      expect(await collectRows(theirs.rows)).toEqual(rows);
    }
  });

  it("a small page aborted while its worker reads it is deadline_exceeded, and the pool serves on", async () => {
    const request = listOf({ sort: [{ key: "options.provider" }], page: { limit: LIST_BATCH_ROWS } });
    const aborted = new AbortController();
    const answer = pooled.list(request, { signal: aborted.signal });
    // The request is already with the worker (it was idle): this abort stops a read in progress.
    expect(pool.use()).toMatchObject({ inUse: 1 });
    aborted.abort();
    await expect(answer).rejects.toMatchObject({ status: "deadline_exceeded" });
    await pool.start();
    const next = await ok(pooled.list(listOf({ page: { limit: 3 } })));
    expect(await collectRows(next.rows)).toHaveLength(3);
  });

  it("a small page whose deadline passes while its worker reads it is deadline_exceeded, and the pool serves on", async () => {
    // A database of its own, large enough that sorting a page on a JSON path takes far longer than the
    // deadline (tens of ms), while the deadline is far longer than compiling the request and handing it
    // to the idle worker: the deadline passes inside the worker's read, whatever the machine's load.
    const bigFile = path.join(dir, "big.db");
    const db = openDatabase({ file: bigFile });
    insertJobs(db, generateJobs({ count: 60_000, seed: 9, now: NOW }));
    db.close();
    const bigPool = new SqliteReadPool({ file: bigFile, size: 1, busyTimeoutMs: 1000, maxTimeMs: 30_000 });
    const big = new SqliteStore(openDatabase({ file: bigFile }), { ownsConnection: true, reader: bigPool });
    try {
      await bigPool.start();
      const request = listOf({ sort: [{ key: "options.provider" }], page: { limit: LIST_BATCH_ROWS } });
      const started = performance.now();
      const unhurried = await ok(big.list(request));
      expect(await collectRows(unhurried.rows)).toHaveLength(LIST_BATCH_ROWS);
      const readMs = performance.now() - started;
      const budget = Math.max(5, Math.min(20, readMs / 4));
      const answer = big.list(request, { deadline: Date.now() + budget });
      expect(bigPool.use()).toMatchObject({ inUse: 1 });
      await expect(answer).rejects.toMatchObject({ status: "deadline_exceeded" });
      // Terminated mid-read, so replaced: the new worker is starting.
      expect(bigPool.use()).toMatchObject({ inUse: 0, starting: 1 });
      await bigPool.start();
      const next = await ok(big.list(request));
      expect(await collectRows(next.rows)).toHaveLength(LIST_BATCH_ROWS);
    } finally {
      await big.close();
    }
  });
});

describe.each(BACKENDS)("small pages on $name", (backend) => {
  let opened: TestStore;
  const statements: string[] = [];
  beforeAll(async () => {
    if (backend.skip) return;
    opened = await backend.open({ onStatement: (sql) => statements.push(sql) });
    await opened.insertJobs([...generateJobs({ count: JOBS, seed: 8, now: NOW })]);
  });
  afterAll(async () => {
    await opened?.close();
  });
  describe.skipIf(backend.skip !== null)("", () => {
    samePagesAsStreamed(() => opened.store);

    // PostgreSQL only: SQLite's read worker has no cursor to avoid (its one message is tested above).
    if (backend.name === "postgres") {
      it("a page that fits one batch is one SELECT with its count: no cursor", async () => {
        statements.length = 0;
        const small = await ok(opened.store.list(listOf({ sort: SORT, page: { limit: 100 } })));
        expect(await collectRows(small.rows)).toHaveLength(100);
        expect(statements.filter((s) => /\b(DECLARE|FETCH)\b/.test(s))).toEqual([]);
        // BEGIN, the count with the change head, the page, COMMIT.
        expect(statements).toHaveLength(4);
        statements.length = 0;
        const big = await ok(opened.store.list(listOf({ sort: SORT, page: { limit: LIST_BATCH_ROWS + 1 } })));
        expect(await collectRows(big.rows)).toHaveLength(LIST_BATCH_ROWS + 1);
        expect(statements.some((s) => s.startsWith("DECLARE"))).toBe(true);
      });
    }
  });
});
