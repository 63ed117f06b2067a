/**
 * A jobs row built from a raw statement's values. better-sqlite3 builds a row object one named
 * property at a time (30 of them for a job), about half of a `get`'s point lookup; the same values
 * put in an object literal cost next to nothing (docs/benchmarks.md "get path, this stop").
 *
 * The literal follows the table's column order, which `select *` returns. A statement whose columns are
 * not exactly these (a later migration, a projection) is read as objects by better-sqlite3, as before
 * (`takesJobRowValues`); test/sqlite-job-row.test.ts holds the literal to better-sqlite3's own row.
 */
import type Database from "better-sqlite3";
import type { JobRow } from "../schema.js";

/** The jobs table's columns in table order (migrations append, `duration_seconds` is generated). */
export const JOB_ROW_COLUMNS = [
  "seq",
  "job_id",
  "status",
  "options",
  "resource_group",
  "error_message",
  "domain_id",
  "workspace_id",
  "trusted_account_id",
  "plugin_id",
  "created_at",
  "updated_at",
  "finished_at",
  "started_at",
  "heartbeat_at",
  "progress_percent",
  "current_step",
  "records_processed",
  "records_total",
  "records_created",
  "records_updated",
  "records_deleted",
  "cancel_requested_at",
  "cancel_reason",
  "canceled_by",
  "error_code",
  "idempotency_key",
  "version",
  "duration_seconds",
] as const;

/** Whether the statement returns exactly the columns `jobRowOf` builds, in its order. */
export function takesJobRowValues(stmt: Database.Statement): boolean {
  if (!stmt.reader) return false;
  const columns = stmt.columns();
  return (
    columns.length === JOB_ROW_COLUMNS.length &&
    columns.every((c, i) => c.name === JOB_ROW_COLUMNS[i] && c.table === "jobs")
  );
}

/** The row of a statement `takesJobRowValues` accepted, read raw: each cell as SQLite returned it. */
export function jobRowOf(values: readonly unknown[]): JobRow {
  // The cells are the columns' values as better-sqlite3 gives them in an object row (checked above).
  const v = values as readonly never[];
  return {
    seq: v[0],
    job_id: v[1],
    status: v[2],
    options: v[3],
    resource_group: v[4],
    error_message: v[5],
    domain_id: v[6],
    workspace_id: v[7],
    trusted_account_id: v[8],
    plugin_id: v[9],
    created_at: v[10],
    updated_at: v[11],
    finished_at: v[12],
    started_at: v[13],
    heartbeat_at: v[14],
    progress_percent: v[15],
    current_step: v[16],
    records_processed: v[17],
    records_total: v[18],
    records_created: v[19],
    records_updated: v[20],
    records_deleted: v[21],
    cancel_requested_at: v[22],
    cancel_reason: v[23],
    canceled_by: v[24],
    error_code: v[25],
    idempotency_key: v[26],
    version: v[27],
    duration_seconds: v[28],
  };
}
