/**
 * The field catalogue of a job: every column of the `jobs` table, once. The query whitelist
 * (`query/fields.ts`), the row types (`storage/schema.ts`), the API view (`service/job-view.ts`), the
 * `JobInfo` mapping (`wire/job-handlers.ts`), the column lists of the stores, the seed and COPY are
 * derived from this table; `test/job-fields.test.ts` checks it against both backends' migrated
 * schemas and the generated `JobInfo` descriptor, so a column added in one place and not the others
 * fails a test instead of silently vanishing from answers.
 *
 * It imports nothing, so every layer may import it (docs/decisions.md, "One field catalogue").
 * A field's name is its API name, its column name and (snake_case) its proto field name: one name
 * for one thing, so a row read with these columns is already keyed as the view.
 */

export const JOB_STATUSES = ["PENDING", "IN_PROGRESS", "FAILURE", "SUCCESS", "CANCELED"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const RESOURCE_GROUPS = ["DOMAIN", "WORKSPACE"] as const;
export type ResourceGroup = (typeof RESOURCE_GROUPS)[number];

/**
 * Stored type. `timestamp`: ISO-8601 UTC text with milliseconds and Z on SQLite, timestamptz on
 * PostgreSQL (read back as the same text). `json`: JSON text on SQLite, jsonb on PostgreSQL.
 */
export type ColumnType = "text" | "int" | "real" | "timestamp" | "enum" | "json";

export interface JobField {
  readonly type: ColumnType;
  /** The allowed values of an `enum` (a CHECK constraint in both schemas). */
  readonly values?: readonly string[];
  /** The column may be NULL (absent from the view and the wire). */
  readonly nullable: boolean;
  /** Computed by the database, never written: `identity` (insertion order) or `computed`. */
  readonly generated?: "identity" | "computed";
  /**
   * A query may name it: filter and sort on it, select it with `only`, group and count it in
   * `stat`. Filterable and sortable go together (upstream allows both on any field).
   */
  readonly query: boolean;
  /** Which calls' `keyword` searches it (docs/compatibility.md, "Query language"). */
  readonly keyword?: readonly ("list" | "stat")[];
  /** Part of the API view (and so of `JobInfo`). */
  readonly view: boolean;
  /** In the `minimal: true` projection (identity `model/job/database.py` minimal_fields). */
  readonly minimal?: boolean;
  /** The `JobInfo` proto field name, for fields in the view. */
  readonly proto?: string;
  /** The value the schemas give a row written without one. */
  readonly default?: number;
  /** Every seeded and fixture row carries it (the seed's COPY/INSERT column list). */
  readonly seeded?: boolean;
}

const STATUS = JOB_STATUSES;
const GROUPS = RESOURCE_GROUPS;

/** Name -> field, in `JobInfo` order (the order of answers and of `SELECT` lists). */
export const JOB_CATALOGUE = {
  seq: { type: "int", nullable: false, generated: "identity", query: false, view: false },
  job_id: {
    type: "text",
    nullable: false,
    query: true,
    keyword: ["list", "stat"],
    view: true,
    minimal: true,
    proto: "job_id",
    seeded: true,
  },
  status: {
    type: "enum",
    values: STATUS,
    nullable: false,
    query: true,
    keyword: ["list"],
    view: true,
    minimal: true,
    proto: "status",
    seeded: true,
  },
  options: { type: "json", nullable: true, query: true, view: true, proto: "options", seeded: true },
  resource_group: {
    type: "enum",
    values: GROUPS,
    nullable: false,
    query: true,
    view: true,
    minimal: true,
    proto: "resource_group",
    seeded: true,
  },
  error_message: {
    type: "text",
    nullable: true,
    query: true,
    view: true,
    proto: "error_message",
    seeded: true,
  },
  domain_id: { type: "text", nullable: false, query: true, view: true, proto: "domain_id", seeded: true },
  workspace_id: {
    type: "text",
    nullable: false,
    query: true,
    view: true,
    proto: "workspace_id",
    seeded: true,
  },
  trusted_account_id: {
    type: "text",
    nullable: false,
    query: true,
    view: true,
    minimal: true,
    proto: "trusted_account_id",
    seeded: true,
  },
  plugin_id: { type: "text", nullable: true, query: true, view: true, proto: "plugin_id", seeded: true },
  created_at: {
    type: "timestamp",
    nullable: false,
    query: true,
    view: true,
    minimal: true,
    proto: "created_at",
    seeded: true,
  },
  updated_at: {
    type: "timestamp",
    nullable: false,
    query: true,
    view: true,
    proto: "updated_at",
    seeded: true,
  },
  finished_at: {
    type: "timestamp",
    nullable: true,
    query: true,
    view: true,
    minimal: true,
    proto: "finished_at",
    seeded: true,
  },
  // The lifecycle (docs/lifecycle.md). Progress counters are absent until a worker reports them.
  started_at: { type: "timestamp", nullable: true, query: true, view: true, proto: "started_at" },
  heartbeat_at: { type: "timestamp", nullable: true, query: true, view: true, proto: "heartbeat_at" },
  progress_percent: { type: "real", nullable: true, query: true, view: true, proto: "progress_percent" },
  current_step: { type: "text", nullable: true, query: true, view: true, proto: "current_step" },
  records_processed: { type: "int", nullable: true, query: true, view: true, proto: "records_processed" },
  records_total: { type: "int", nullable: true, query: true, view: true, proto: "records_total" },
  records_created: { type: "int", nullable: true, query: true, view: true, proto: "records_created" },
  records_updated: { type: "int", nullable: true, query: true, view: true, proto: "records_updated" },
  records_deleted: { type: "int", nullable: true, query: true, view: true, proto: "records_deleted" },
  cancel_requested_at: {
    type: "timestamp",
    nullable: true,
    query: true,
    view: true,
    proto: "cancel_requested_at",
  },
  cancel_reason: { type: "text", nullable: true, query: true, view: true, proto: "cancel_reason" },
  canceled_by: { type: "text", nullable: true, query: true, view: true, proto: "canceled_by" },
  error_code: { type: "text", nullable: true, query: true, view: true, proto: "error_code" },
  /** Private to the writer: a retried create finds its job by it; never shown nor queried. */
  idempotency_key: { type: "text", nullable: true, query: false, view: false },
  /** finished_at minus started_at (or created_at); null until the job has finished. */
  duration_seconds: {
    type: "real",
    nullable: true,
    generated: "computed",
    query: true,
    view: true,
    proto: "duration_seconds",
  },
  /** Bumped by every lifecycle write (default 1); callers pass it back as expected_version. */
  version: { type: "int", nullable: false, default: 1, query: true, view: true, proto: "version" },
} as const satisfies Record<string, JobField>;

type Catalogue = typeof JOB_CATALOGUE;
export type JobFieldName = keyof Catalogue;

type Flagged<Flag extends keyof JobField> = {
  [K in JobFieldName]: Catalogue[K] extends { readonly [F in Flag]: true } ? K : never;
}[JobFieldName];

/** Fields a query may name. */
export type QueryField = Flagged<"query">;
/** Fields of the API view. */
export type ViewField = Flagged<"view">;
/** Fields every seeded or fixture row has. */
export type SeededField = Flagged<"seeded">;
/** Fields the database computes. */
export type GeneratedField = {
  [K in JobFieldName]: Catalogue[K] extends { readonly generated: string } ? K : never;
}[JobFieldName];

/** The TypeScript type of a field's value as stored and read back (JSON as text). */
export type StoredValue<K extends JobFieldName> = Catalogue[K] extends {
  readonly values: readonly (infer V)[];
}
  ? V
  : Catalogue[K]["type"] extends "int" | "real"
    ? number
    : string;

/** The TypeScript type of a field's value as the row holds it: NULL where the column is nullable. */
export type RowValue<K extends JobFieldName> =
  | StoredValue<K>
  | (Catalogue[K]["nullable"] extends true ? null : never);

export const JOB_FIELD_NAMES = Object.keys(JOB_CATALOGUE) as JobFieldName[];

function names<K extends JobFieldName>(test: (field: JobField) => boolean): K[] {
  return JOB_FIELD_NAMES.filter((name) => test(JOB_CATALOGUE[name])) as K[];
}

export const QUERY_FIELDS: readonly QueryField[] = names((f) => f.query);
export const VIEW_FIELDS: readonly ViewField[] = names((f) => f.view);
export const SEEDED_FIELDS: readonly SeededField[] = names((f) => f.seeded === true);
export const MINIMAL_FIELDS: readonly QueryField[] = names((f) => f.minimal === true);
export const LIST_KEYWORD_FIELDS: readonly QueryField[] = names((f) => f.keyword?.includes("list") === true);
export const STAT_KEYWORD_FIELDS: readonly QueryField[] = names((f) => f.keyword?.includes("stat") === true);

export function jobField(name: JobFieldName): JobField {
  return JOB_CATALOGUE[name];
}
