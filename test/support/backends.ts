/**
 * The storage backends a suite runs against: `describe.each(BACKENDS)` runs it once per backend.
 * SQLite is an in-memory database; PostgreSQL a fresh database per `open()` (dropped by `close()`),
 * skipped with its reason when the server is unreachable (under CI=true that fails instead: see
 * postgres.ts).
 */
import { JOB_CATALOGUE, type JobFieldName } from "../../src/catalogue/job-fields.js";
import { openDatabase } from "../../src/storage/database.js";
import { copyRows } from "../../src/storage/dialect/postgres/copy-rows.js";
import { openPostgresStore } from "../../src/storage/dialect/postgres/open.js";
import type { JobRow } from "../../src/storage/schema.js";
import { SqliteStore } from "../../src/storage/sqlite/sqlite-store.js";
import type { JobStore, StatementHook } from "../../src/storage/store.js";
import { createTestDatabase, postgres } from "./postgres.js";

export type BackendName = "sqlite" | "postgres";

/** A store for one suite, with a way to load fixture rows directly. */
export interface TestStore {
  readonly store: JobStore;
  /** Insert jobs as they are (fixtures; no events or change rows). */
  insertJobs(rows: readonly Omit<JobRow, "seq">[]): Promise<void>;
  /** Every job row as stored (options as JSON text), in insertion order. */
  rows(): Promise<JobRow[]>;
  /** Run SQL written with `?` placeholders (the same text on both databases); the rows it returns. */
  sql<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<T[]>;
  /** Empty every table (ids start again at 1), for a suite that reuses one database. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

export interface Backend {
  readonly name: BackendName;
  /** Why this backend is skipped here, or null when it runs. */
  readonly skip: string | null;
  /** `onStatement`: the store's statement hook, told every statement it runs. */
  open(options?: { now?: () => Date; onStatement?: StatementHook }): Promise<TestStore>;
}

const JOB_INSERT_COLUMNS = (rows: readonly Omit<JobRow, "seq">[]): string[] => {
  const columns = new Set<string>();
  for (const row of rows)
    for (const key of Object.keys(row))
      if (!(key in JOB_CATALOGUE && "generated" in JOB_CATALOGUE[key as JobFieldName])) columns.add(key);
  return [...columns];
};

const sqlite: Backend = {
  name: "sqlite",
  skip: null,
  async open(options = {}) {
    const store = new SqliteStore(openDatabase({ file: ":memory:" }), {
      now: options.now,
      ownsConnection: true,
      onStatement: options.onStatement,
    });
    return {
      store,
      insertJobs: async (rows) => store.insertRows(rows),
      rows: async () => store.db.prepare("SELECT * FROM jobs ORDER BY seq").all() as JobRow[],
      async sql<T>(text: string, params: readonly unknown[] = []) {
        const statement = store.db.prepare(text);
        if (statement.reader) return statement.all(...params) as T[];
        statement.run(...params);
        return [];
      },
      async reset() {
        for (const table of ["job_events", "job_changes", "job_tombstones", "jobs"])
          store.db.prepare(`DELETE FROM ${table}`).run();
      },
      close: () => store.close(),
    };
  },
};

const postgresBackend: Backend = {
  name: "postgres",
  skip: postgres.available ? null : postgres.reason,
  async open(options = {}) {
    const database = await createTestDatabase();
    const store = await openPostgresStore(
      {
        url: database.url,
        size: 4,
        statementTimeoutMs: 30_000,
        connectTimeoutMs: 5000,
        onStatement: options.onStatement,
      },
      options.now,
    );
    return {
      store,
      async insertJobs(rows) {
        if (rows.length === 0) return;
        const client = await store.pool.connect();
        try {
          await copyRows(client, "jobs", JOB_INSERT_COLUMNS(rows), rows as Iterable<Record<string, unknown>>);
          await client.query("ANALYZE jobs");
        } finally {
          client.release();
        }
      },
      rows: async () => (await store.pool.query("SELECT * FROM jobs ORDER BY seq")).rows as JobRow[],
      async sql<T>(text: string, params: readonly unknown[] = []) {
        let n = 0;
        const numbered = text.replace(/\?/g, () => `$${++n}`);
        return (await store.pool.query(numbered, params as unknown[])).rows as T[];
      },
      async reset() {
        await store.pool.query(
          "TRUNCATE jobs, job_events, job_tombstones, job_changes RESTART IDENTITY CASCADE",
        );
      },
      async close() {
        await store.close();
        await database.drop();
      },
    };
  },
};

export const BACKENDS: readonly Backend[] = [sqlite, postgresBackend];
