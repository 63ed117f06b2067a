/** Row types of the tables, as Kysely sees them. */
import type { Generated, GeneratedAlways, Selectable } from "kysely";
import type {
  JOB_CATALOGUE,
  JobFieldName,
  JobStatus,
  RowValue,
  SeededField,
} from "../catalogue/job-fields.js";

/**
 * The jobs table, derived from the field catalogue: each column's stored type, NULL where nullable;
 * database-computed columns are `GeneratedAlways` (never written), columns with a default `Generated`.
 */
export type JobsTable = {
  -readonly [K in JobFieldName]: (typeof JOB_CATALOGUE)[K] extends { readonly generated: "computed" }
    ? GeneratedAlways<RowValue<K>>
    : (typeof JOB_CATALOGUE)[K] extends { readonly generated: "identity" } | { readonly default: unknown }
      ? Generated<RowValue<K>>
      : RowValue<K>;
};

/** One entry of a job's timeline (migration 2). */
export interface JobEventsTable {
  id: Generated<number>;
  job_id: string;
  /** 1, 2, 3... per job. */
  seq: number;
  action: string;
  /** NULL for the event that created the job. */
  from_status: JobStatus | null;
  to_status: JobStatus;
  reason: string | null;
  actor: string;
  created_at: string;
}

/** What remains of a purged job, for the "expired" answer (migration 2). */
export interface JobTombstonesTable {
  job_id: string;
  domain_id: string;
  workspace_id: string;
  status: JobStatus;
  finished_at: string | null;
  purged_at: string;
}

/** The change feed: one row per job changed by a committed write transaction (migration 3). */
export interface JobChangesTable {
  /** Commit order (SQLite writers are serialized); never reused. */
  id: Generated<number>;
  job_id: string;
  domain_id: string;
  workspace_id: string;
  kind: "created" | "updated" | "deleted";
  /** The job_events.seq the transaction wrote for this job, if any. */
  event_seq: number | null;
  created_at: string;
}

export interface JobsDatabase {
  jobs: JobsTable;
  job_events: JobEventsTable;
  job_tombstones: JobTombstonesTable;
  job_changes: JobChangesTable;
}

/**
 * A job row as read back (options still JSON text). Only the seeded columns are required, so rows
 * built without the others (seeds, fixtures, `only` projections) still type; `duration_seconds` is
 * a generated column, never part of an insert.
 */
export type JobRow = Pick<Selectable<JobsTable>, SeededField> &
  Partial<Omit<Selectable<JobsTable>, SeededField>>;

/** A job_events row as read back. */
export type JobEventRow = Selectable<JobEventsTable>;

/** A job_tombstones row. */
export type JobTombstoneRow = JobTombstonesTable;
