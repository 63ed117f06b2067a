/**
 * A list's rows come from the store in batches as they are read, on both backends: every row once, in
 * order, in batches of at most LIST_BATCH_ROWS; from the snapshot the total was counted in (a write
 * made while the rows are read is not in them); a reader that stops early or never reads gives the
 * connection (PostgreSQL) or worker (SQLite read pool) back, and an unread answer ends at its deadline.
 * The SQLite read worker never runs more than its window of batches ahead of the reader.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseListQuery } from "../src/query/parse-query.js";
import { generateJobs, insertJobs } from "../src/seed/generate.js";
import { openDatabase } from "../src/storage/database.js";
import type { JobRow } from "../src/storage/schema.js";
import { BatchStream } from "../src/storage/sqlite/batch-stream.js";
import { LIST_AHEAD, SqliteReadPool } from "../src/storage/sqlite/read-pool.js";
import { SqliteStore } from "../src/storage/sqlite/sqlite-store.js";
import {
  collectRows,
  type JobStore,
  LIST_BATCH_ROWS,
  type ListRequest,
  type ListResult,
  type NewJob,
  type ReadOptions,
} from "../src/storage/store.js";
import { BACKENDS, type TestStore } from "./support/backends.js";
import { newJob as sharedNewJob } from "./support/fixture.js";

const NOW = new Date("2026-03-15T12:00:00.000Z");
const JOBS = 2345;
const jobs = () => [...generateJobs({ count: JOBS, seed: 8, now: NOW })];

function listOf(query: Record<string, unknown> = {}): ListRequest {
  return { ...parseListQuery(query as never, { now: NOW, maxPageSize: 1000 }, []), unpagedMax: 100_000 };
}

async function ok(answer: Promise<ListResult>) {
  const result = await answer;
  if (result.kind !== "ok") throw new Error(`expected rows, got ${result.kind}`);
  return result;
}

/** A job written while a list's rows are read (outside the fixture's domains). */
function newJob(id: string): NewJob {
  const T = "2026-03-15T11:59:00.000Z";
  return sharedNewJob(id, {
    domain_id: "d-new",
    workspace_id: "w-new",
    trusted_account_id: "ta-new",
    created_at: T,
    updated_at: T,
  });
}

/** The cases every backend (and the SQLite read pool) must pass. */
function rowBatchCases(storeOf: () => JobStore, readers: number) {
  it("hands every row once, in order, in batches of at most LIST_BATCH_ROWS", async () => {
    const store = storeOf();
    const sort = { sort: [{ key: "created_at", desc: true }, { key: "job_id" }] };
    const unpaged = await ok(store.list(listOf(sort)));
    expect(unpaged.total).toBe(JOBS);
    const sizes: number[] = [];
    const rows: JobRow[] = [];
    for await (const batch of unpaged.rows) {
      sizes.push(batch.length);
      rows.push(...batch);
    }
    expect(sizes.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(LIST_BATCH_ROWS);
    const paged: JobRow[] = [];
    for (let start = 1; start <= JOBS; start += 1000) {
      const page = await ok(store.list(listOf({ ...sort, page: { start, limit: 1000 } })));
      paged.push(...(await collectRows(page.rows)));
    }
    expect(rows.map((r) => r.job_id)).toEqual(paged.map((r) => r.job_id));
    expect(new Set(rows.map((r) => r.job_id)).size).toBe(JOBS);
  });

  it("reads the rows from the snapshot of the total, whatever is written meanwhile", async () => {
    const store = storeOf();
    const answer = await ok(store.list(listOf({ sort: [{ key: "job_id" }] })));
    const iterator = answer.rows[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done).toBe(false);
    const firstRows = first.value as readonly JobRow[];
    const last = (await ok(store.list(listOf({ sort: [{ key: "job_id", desc: true }], page: { limit: 1 } }))))
      .rows;
    const lastId = (await collectRows(last))[0]?.job_id as string;
    // Written while the answer is open: a new job, and one that is not read yet deleted.
    await store.write(async (tx) => tx.insert(newJob("job-zzz-new")));
    expect(await store.delete(lastId, [])).toBe(true);
    const rest: JobRow[] = [];
    for (let step = await iterator.next(); !step.done; step = await iterator.next()) rest.push(...step.value);
    const ids = [...firstRows, ...rest].map((r) => r.job_id);
    expect(ids).toHaveLength(answer.total);
    expect(ids).toContain(lastId);
    expect(ids).not.toContain("job-zzz-new");
    await store.write(async (tx) => tx.insert({ ...newJob(lastId) }));
  });

  it("gives the reader back when the consumer stops early, again and again", async () => {
    const store = storeOf();
    for (let i = 0; i < readers * 3 + 2; i++) {
      const answer = await ok(store.list(listOf(), { deadline: Date.now() + 20_000 }));
      for await (const batch of answer.rows) {
        expect(batch.length).toBeGreaterThan(0);
        break;
      }
    }
    const after = await ok(store.list(listOf({ page: { limit: 3 } }), { deadline: Date.now() + 5000 }));
    expect(await collectRows(after.rows)).toHaveLength(3);
  });
}

/** Unread answers end at their deadline (not on the main-thread SQLite path, which reads at once). */
function deadlineCases(storeOf: () => JobStore, readers: number) {
  it("an unread answer ends at its deadline and gives its reader back", async () => {
    const store = storeOf();
    const options = (): ReadOptions => ({ deadline: Date.now() + 300 });
    const unread = [];
    for (let i = 0; i < readers; i++) unread.push(await ok(store.list(listOf(), options())));
    await sleep(600);
    for (const answer of unread) {
      await expect(collectRows(answer.rows)).rejects.toMatchObject({ status: "deadline_exceeded" });
    }
    const after = await ok(store.list(listOf(), { deadline: Date.now() + 10_000 }));
    expect(await collectRows(after.rows)).toHaveLength(after.total);
  });
}

describe.each(BACKENDS)("list rows in batches on $name", (backend) => {
  let opened: TestStore;
  beforeAll(async () => {
    if (backend.skip) return;
    opened = await backend.open();
    await opened.insertJobs(jobs());
  });
  afterAll(async () => {
    await opened?.close();
  });
  describe.skipIf(backend.skip !== null)("", () => {
    rowBatchCases(() => opened.store, 4);
    if (backend.name === "postgres") deadlineCases(() => opened.store, 4);
  });
});

describe("list rows in batches through the SQLite read pool", () => {
  let dir: string;
  let store: SqliteStore;
  let pool: SqliteReadPool;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "list-batches-"));
    const file = path.join(dir, "jobs.db");
    const db = openDatabase({ file });
    insertJobs(db, jobs());
    db.close();
    pool = new SqliteReadPool({ file, size: 1, busyTimeoutMs: 1000, maxTimeMs: 30_000 });
    store = new SqliteStore(openDatabase({ file }), { ownsConnection: true, reader: pool });
    await pool.start();
  });
  afterEach(async () => {
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  rowBatchCases(() => store, 1);
  deadlineCases(() => store, 1);

  it("the worker never runs more than its window ahead of the reader", async () => {
    const answer = await ok(store.list(listOf()));
    expect(answer.rows).toBeInstanceOf(BatchStream);
    const stream = answer.rows as BatchStream;
    const iterator = stream[Symbol.asyncIterator]();
    let taken = 0;
    while (taken < 2) {
      const step = await iterator.next();
      expect(step.done).toBe(false);
      taken++;
      // Time enough for an unbounded worker to have sent every remaining batch.
      await sleep(300);
      expect(stream.waiting).toBeLessThanOrEqual(LIST_AHEAD);
    }
    expect(stream.waiting).toBeGreaterThan(0);
    let rest = 0;
    for (let step = await iterator.next(); !step.done; step = await iterator.next())
      rest += step.value.length;
    expect(taken * LIST_BATCH_ROWS + rest).toBe(answer.total);
  });
});
