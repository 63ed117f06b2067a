/**
 * The catalogue of Job fields a query may name: the whitelist every filter key, sort key,
 * `only` entry, group key and distinct field is checked against. A name not in here (or not a
 * dotted path under a `json` field) is `invalid_argument`; names never reach SQL unchecked.
 */

export const JOB_STATUSES = ["PENDING", "IN_PROGRESS", "FAILURE", "SUCCESS", "CANCELED"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const RESOURCE_GROUPS = ["DOMAIN", "WORKSPACE"] as const;
export type ResourceGroup = (typeof RESOURCE_GROUPS)[number];

export type FieldType = "string" | "enum" | "datetime" | "json" | "number";

export interface FieldSpec {
  readonly type: FieldType;
  /** Allowed values for `enum` fields. */
  readonly values?: readonly string[];
  /** Column may be NULL (absent on the wire). */
  readonly nullable: boolean;
}

/** Column name -> spec. Column names equal the JobInfo proto field names. */
export const JOB_FIELDS = {
  job_id: { type: "string", nullable: false },
  status: { type: "enum", values: JOB_STATUSES, nullable: false },
  options: { type: "json", nullable: true },
  resource_group: { type: "enum", values: RESOURCE_GROUPS, nullable: false },
  error_message: { type: "string", nullable: true },
  domain_id: { type: "string", nullable: false },
  workspace_id: { type: "string", nullable: false },
  trusted_account_id: { type: "string", nullable: false },
  plugin_id: { type: "string", nullable: true },
  created_at: { type: "datetime", nullable: false },
  updated_at: { type: "datetime", nullable: false },
  finished_at: { type: "datetime", nullable: true },
  // Lifecycle fields (docs/lifecycle.md). Progress counters are absent until a worker reports them.
  started_at: { type: "datetime", nullable: true },
  heartbeat_at: { type: "datetime", nullable: true },
  progress_percent: { type: "number", nullable: true },
  current_step: { type: "string", nullable: true },
  records_processed: { type: "number", nullable: true },
  records_total: { type: "number", nullable: true },
  records_created: { type: "number", nullable: true },
  records_updated: { type: "number", nullable: true },
  records_deleted: { type: "number", nullable: true },
  cancel_requested_at: { type: "datetime", nullable: true },
  cancel_reason: { type: "string", nullable: true },
  canceled_by: { type: "string", nullable: true },
  error_code: { type: "string", nullable: true },
  /** finished_at minus started_at (or created_at); null until the job has finished. */
  duration_seconds: { type: "number", nullable: true },
  version: { type: "number", nullable: false },
} as const satisfies Record<string, FieldSpec>;

export type JobColumn = keyof typeof JOB_FIELDS;

export const JOB_COLUMNS = Object.keys(JOB_FIELDS) as JobColumn[];

/** `minimal: true` projection (identity `model/job/database.py` minimal_fields). */
export const MINIMAL_FIELDS: readonly JobColumn[] = [
  "job_id",
  "trusted_account_id",
  "status",
  "resource_group",
  "created_at",
  "finished_at",
];

/** Keyword search fields (docs/compatibility.md, "Query language"): list searches job_id and status; stat only job_id. */
export const LIST_KEYWORD_FIELDS: readonly JobColumn[] = ["job_id", "status"];
export const STAT_KEYWORD_FIELDS: readonly JobColumn[] = ["job_id"];

/** A segment of a dotted path under a json field: conservative so it is safe in a JSON path. */
export const JSON_SEGMENT = /^[A-Za-z0-9_\-:@$]{1,64}$/;
export const MAX_JSON_DEPTH = 8;

export function isJobColumn(name: string): name is JobColumn {
  return Object.hasOwn(JOB_FIELDS, name);
}
