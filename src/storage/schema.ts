/** Row types of the tables, as Kysely sees them. */
import type { Generated, GeneratedAlways, Selectable } from "kysely";
import type { JobStatus, ResourceGroup } from "../query/fields.js";

export interface JobsTable {
  seq: Generated<number>;
  job_id: string;
  status: JobStatus;
  /** JSON text. */
  options: string | null;
  resource_group: ResourceGroup;
  error_message: string | null;
  domain_id: string;
  workspace_id: string;
  trusted_account_id: string;
  plugin_id: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  // Lifecycle columns (migration 2).
  started_at: string | null;
  heartbeat_at: string | null;
  progress_percent: number | null;
  current_step: string | null;
  records_processed: number | null;
  records_total: number | null;
  records_created: number | null;
  records_updated: number | null;
  records_deleted: number | null;
  cancel_requested_at: string | null;
  cancel_reason: string | null;
  canceled_by: string | null;
  error_code: string | null;
  idempotency_key: string | null;
  version: Generated<number>;
  /** Virtual: computed from finished_at and started_at/created_at; never written. */
  duration_seconds: GeneratedAlways<number | null>;
}

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

/** Columns added by migration 2 (the lifecycle). */
type LifecycleColumn =
  | "started_at"
  | "heartbeat_at"
  | "progress_percent"
  | "current_step"
  | "records_processed"
  | "records_total"
  | "records_created"
  | "records_updated"
  | "records_deleted"
  | "cancel_requested_at"
  | "cancel_reason"
  | "canceled_by"
  | "error_code"
  | "idempotency_key"
  | "version"
  | "duration_seconds";

/**
 * A job row as read back (options still JSON text). `seq` and the lifecycle columns are optional so
 * rows built without them (seeds, fixtures, `only` projections) still type; `duration_seconds` is a
 * generated column, never part of an insert.
 */
export type JobRow = Omit<Selectable<JobsTable>, "seq" | LifecycleColumn> &
  Partial<Pick<Selectable<JobsTable>, "seq" | LifecycleColumn>>;

/** A job_events row as read back. */
export type JobEventRow = Selectable<JobEventsTable>;

/** A job_tombstones row. */
export type JobTombstoneRow = JobTombstonesTable;
