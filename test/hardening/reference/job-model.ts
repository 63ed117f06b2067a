/**
 * The job as the reference evaluators see it: plain data with `options` already parsed, and the field
 * catalogue written out again by hand from the spec (§3.1) and the lifecycle schema. Nothing here is
 * imported from `src/`: the point of a reference is that a mistake in the service's catalogue, parser
 * or compiler cannot also be a mistake here.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface RefJob {
  /** Insertion order (1-based), the tiebreaker of every sort. */
  seq: number;
  job_id: string;
  status: string;
  options: JsonObject | null;
  resource_group: string;
  error_message: string | null;
  domain_id: string;
  workspace_id: string;
  trusted_account_id: string;
  plugin_id: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
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
  version: number;
}

export type RefFieldType = "string" | "enum" | "datetime" | "number" | "json";

/** Every queryable field and its type. `duration_seconds` is derived (see `durationSeconds`). */
export const REF_FIELDS: Readonly<Record<string, RefFieldType>> = {
  job_id: "string",
  status: "enum",
  options: "json",
  resource_group: "enum",
  error_message: "string",
  domain_id: "string",
  workspace_id: "string",
  trusted_account_id: "string",
  plugin_id: "string",
  created_at: "datetime",
  updated_at: "datetime",
  finished_at: "datetime",
  started_at: "datetime",
  heartbeat_at: "datetime",
  progress_percent: "number",
  current_step: "string",
  records_processed: "number",
  records_total: "number",
  records_created: "number",
  records_updated: "number",
  records_deleted: "number",
  cancel_requested_at: "datetime",
  cancel_reason: "string",
  canceled_by: "string",
  error_code: "string",
  duration_seconds: "number",
  version: "number",
};

export const REF_STATUSES = ["PENDING", "IN_PROGRESS", "FAILURE", "SUCCESS", "CANCELED"] as const;
export const REF_RESOURCE_GROUPS = ["DOMAIN", "WORKSPACE"] as const;

/** `minimal: true` (identity's minimal_fields). */
export const REF_MINIMAL = [
  "job_id",
  "trusted_account_id",
  "status",
  "resource_group",
  "created_at",
  "finished_at",
];

/** Seconds from start (or creation) to finish, to the millisecond; null until finished. */
export function durationSeconds(job: RefJob): number | null {
  if (job.finished_at === null) return null;
  const from = Date.parse(job.started_at ?? job.created_at);
  return (Date.parse(job.finished_at) - from) / 1000;
}

/** A top-level field's value (null when absent). */
export function columnValue(job: RefJob, column: string): string | number | null {
  if (column === "duration_seconds") return durationSeconds(job);
  const value = (job as unknown as Record<string, unknown>)[column];
  return value === undefined ? null : (value as string | number | null);
}

export function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The value at a path under `options`, walking objects only (a list in the middle ends the walk). */
export function lookupPath(
  options: JsonObject | null,
  path: readonly string[],
): { found: boolean; value: Json } {
  let current: Json = options;
  for (const segment of path) {
    if (!isPlainObject(current) || !Object.hasOwn(current, segment)) return { found: false, value: null };
    current = current[segment] as Json;
  }
  return options === null ? { found: false, value: null } : { found: true, value: current };
}

/** Strings order by their UTF-8 bytes (Mongo's and SQLite's binary collation), not UTF-16 units. */
export function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** ASCII-only case folding: what SQLite's `lower()` does without ICU. */
export function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}
