/** Row types of the tables, as Kysely sees them. */
import type { Generated } from "kysely";
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
}

export interface JobsDatabase {
  jobs: JobsTable;
}

/** A job row as read back (options still JSON text). */
export interface JobRow {
  seq?: number;
  job_id: string;
  status: JobStatus;
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
}
