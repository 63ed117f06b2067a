/**
 * The SQLite `get` reads its row as values and builds it as a literal (storage/sqlite/job-row.ts): the
 * row it returns is better-sqlite3's own object row, key for key and in the same order, with every
 * column set; a statement with other columns is not read that way.
 */

import type Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Condition } from "../src/query/ast.js";
import { openDatabase } from "../src/storage/database.js";
import { JOB_ROW_COLUMNS, takesJobRowValues } from "../src/storage/sqlite/job-row.js";
import { SqliteStore } from "../src/storage/sqlite/sqlite-store.js";
import { newJob } from "./support/fixture.js";

let db: Database.Database;
let store: SqliteStore;
beforeEach(() => {
  db = openDatabase({ file: ":memory:" });
  store = new SqliteStore(db, { ownsConnection: true });
  store.insertRows([
    newJob("job-full", {
      status: "FAILURE",
      options: '{"a":{"b":1}}',
      error_message: "boom",
      plugin_id: "plugin-1",
      started_at: "2026-03-15T00:00:01.000Z",
      heartbeat_at: "2026-03-15T00:00:02.000Z",
      finished_at: "2026-03-15T00:01:03.500Z",
      progress_percent: 42.5,
      current_step: "step",
      records_processed: 1,
      records_total: 2,
      records_created: 3,
      records_updated: 4,
      records_deleted: 5,
      cancel_requested_at: "2026-03-15T00:00:03.000Z",
      cancel_reason: "why",
      canceled_by: "someone",
      error_code: "ERROR_X",
      idempotency_key: "key-1",
    }),
    newJob("job-bare", { resource_group: "DOMAIN", workspace_id: "*" }),
  ]);
});
afterEach(() => store.close());

const objectRow = (jobId: string) => db.prepare("SELECT * FROM jobs WHERE job_id = ?").get(jobId);
const domainScope: Condition[] = [
  { op: "eq", field: { column: "domain_id", path: [], name: "domain_id" }, value: "d1" },
];

describe("a job row read as values", () => {
  it.each(["job-full", "job-bare"])(
    "equals better-sqlite3's object row for %s, in its key order",
    async (id) => {
      for (const scope of [[], domainScope]) {
        const row = await store.get(id, scope);
        const expected = objectRow(id) as Record<string, unknown>;
        expect(Object.keys(expected)).toEqual([...JOB_ROW_COLUMNS]);
        expect(row).toStrictEqual(expected);
        expect(Object.keys(row ?? {})).toEqual(Object.keys(expected));
      }
    },
  );

  it("gives the generated duration and every optional column of a full row", async () => {
    const row = await store.get("job-full", []);
    expect(row?.duration_seconds).toBe(62.5);
    expect(row?.version).toBe(1);
    expect(row?.progress_percent).toBe(42.5);
    expect(row?.idempotency_key).toBe("key-1");
  });

  it("is out of scope or missing as before", async () => {
    const other: Condition[] = [
      { op: "eq", field: { column: "domain_id", path: [], name: "domain_id" }, value: "d2" },
    ];
    expect(await store.get("job-full", other)).toBeUndefined();
    expect(await store.get("job-none", [])).toBeUndefined();
  });

  it("is not how a statement with other columns is read", () => {
    expect(takesJobRowValues(db.prepare("SELECT * FROM jobs"))).toBe(true);
    expect(takesJobRowValues(db.prepare("SELECT job_id, status FROM jobs"))).toBe(false);
    expect(takesJobRowValues(db.prepare("SELECT *, 1 AS extra FROM jobs"))).toBe(false);
    expect(takesJobRowValues(db.prepare("SELECT * FROM job_events"))).toBe(false);
    expect(takesJobRowValues(db.prepare("UPDATE jobs SET version = version WHERE 0"))).toBe(false);
  });
});
