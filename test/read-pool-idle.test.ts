/**
 * The read workers' lifecycle (DATABASE_READ_WORKER_IDLE_SECONDS): the store opens without starting
 * any; the first list starts one; a worker that ran nothing for the idle time is stopped, and the next
 * read starts one again and answers as before; a worker still streaming a list's rows is not idle,
 * however slowly its consumer reads.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";
import { parseListQuery } from "../src/query/parse-query.js";
import { generateJobs, insertJobs } from "../src/seed/generate.js";
import { openDatabase } from "../src/storage/database.js";
import { openStore } from "../src/storage/open-store.js";
import { SqliteReadPool } from "../src/storage/sqlite/read-pool.js";
import { LIST_BATCH_ROWS, type ListRequest } from "../src/storage/store.js";

const NOW = new Date("2026-03-15T12:00:00.000Z");
const JOBS = 5 * LIST_BATCH_ROWS;
const IDLE_MS = 300;
let dir: string;
let file: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "read-pool-idle-"));
  file = path.join(dir, "jobs.db");
  const db = openDatabase({ file });
  insertJobs(db, generateJobs({ count: JOBS, seed: 7, now: NOW }));
  db.close();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Every job, unpaged: its rows come in several batches. */
function everyJob(): ListRequest {
  const parsed = parseListQuery({} as never, { now: NOW, maxPageSize: 1000 }, ["job_id"]);
  return { ...parsed, unpagedMax: JOBS };
}

const workers = (pool: SqliteReadPool) => {
  const use = pool.use();
  return use.inUse + use.idle + use.starting;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A pool whose workers stop after IDLE_MS idle, `idleKeep` of them excepted (unset: the pool's default). */
const idlePool = (size: number, idleKeep?: number) =>
  new SqliteReadPool({ file, size, busyTimeoutMs: 1000, maxTimeMs: 30_000, idleMs: IDLE_MS, idleKeep });

async function countRows(pool: SqliteReadPool): Promise<number> {
  const answer = await pool.list(everyJob());
  if (answer.kind !== "ok") throw new Error(`list answered ${answer.kind}`);
  let n = 0;
  for await (const batch of answer.rows) n += batch.length;
  return n;
}

describe("read workers' lifecycle", () => {
  it("a store opens with no worker; the first list starts one", async () => {
    const store = await openStore(
      loadConfig({ DATA_DIR: dir, DATABASE_FILE: file, DATABASE_READ_WORKERS: "2" }),
    );
    try {
      const readWorkers = () =>
        (store.poolUse?.() ?? [])
          .filter((u) => u.pool === "read_workers" && u.state !== "waiting")
          .reduce((n, u) => n + u.count, 0);
      await sleep(200);
      expect(store.poolUse?.().some((u) => u.pool === "read_workers")).toBe(true);
      expect(readWorkers()).toBe(0);
      const answer = await store.list(everyJob());
      expect(answer.kind).toBe("ok");
      if (answer.kind === "ok") for await (const _ of answer.rows);
      expect(readWorkers()).toBe(1);
    } finally {
      await store.close();
    }
  });

  it("stops a worker idle for the idle time; the next read starts one and answers in full", async () => {
    const pool = idlePool(2, 0);
    try {
      expect(await countRows(pool)).toBe(JOBS);
      expect(workers(pool)).toBe(1);
      await sleep(IDLE_MS * 3);
      expect(workers(pool)).toBe(0);
      expect(await countRows(pool)).toBe(JOBS);
      expect(workers(pool)).toBe(1);
    } finally {
      await pool.close();
    }
  });

  it("leaves `idleKeep` workers running when the others stop idle; reads go on with them", async () => {
    expect(loadConfig({ DATA_DIR: dir }).databaseReadWorkerIdleKeep).toBe(1);
    expect(
      loadConfig({ DATA_DIR: dir, DATABASE_READ_WORKER_IDLE_KEEP: "0" }).databaseReadWorkerIdleKeep,
    ).toBe(0);
    const pool = idlePool(2, 1);
    try {
      // Two lists at once: both workers start.
      const counts = await Promise.all([countRows(pool), countRows(pool)]);
      expect(counts).toEqual([JOBS, JOBS]);
      expect(workers(pool)).toBe(2);
      await sleep(IDLE_MS * 3);
      expect(workers(pool)).toBe(1);
      await sleep(IDLE_MS * 3);
      expect(workers(pool)).toBe(1);
      expect(pool.use().idle).toBe(1);
      expect(await countRows(pool)).toBe(JOBS);
      expect(workers(pool)).toBe(1);
    } finally {
      await pool.close();
    }
  });

  it("keeps a worker whose list is still being read, however slowly", async () => {
    const pool = idlePool(1);
    try {
      const answer = await pool.list(everyJob());
      if (answer.kind !== "ok") throw new Error(`list answered ${answer.kind}`);
      let n = 0;
      for await (const batch of answer.rows) {
        n += batch.length;
        if (n === LIST_BATCH_ROWS) {
          // Longer than the idle time after the first of several batches: the worker holds the read
          // (more batches wait for this consumer), it is not idle.
          await sleep(IDLE_MS * 3);
          expect(workers(pool)).toBe(1);
        }
      }
      expect(n).toBe(JOBS);
    } finally {
      await pool.close();
    }
  });

  it("never stops workers when the setting is 0", async () => {
    expect(loadConfig({ DATA_DIR: dir }).databaseReadWorkerIdleMs).toBe(30_000);
    expect(
      loadConfig({ DATA_DIR: dir, DATABASE_READ_WORKER_IDLE_SECONDS: "0" }).databaseReadWorkerIdleMs,
    ).toBe(0);
    const pool = new SqliteReadPool({ file, size: 1, busyTimeoutMs: 1000, maxTimeMs: 30_000 });
    try {
      expect(await countRows(pool)).toBe(JOBS);
      await sleep(IDLE_MS * 3);
      expect(workers(pool)).toBe(1);
    } finally {
      await pool.close();
    }
  });

  it.each(["-1", "1.5", "soon"])("refuses DATABASE_READ_WORKER_IDLE_SECONDS=%j, naming it", (value) => {
    expect(() => loadConfig({ DATA_DIR: dir, DATABASE_READ_WORKER_IDLE_SECONDS: value })).toThrow(
      ConfigError,
    );
    expect(() => loadConfig({ DATA_DIR: dir, DATABASE_READ_WORKER_IDLE_SECONDS: value })).toThrow(
      /DATABASE_READ_WORKER_IDLE_SECONDS/,
    );
  });
});
