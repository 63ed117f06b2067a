/** A stored job as the API shows it: plain data, datetimes as ISO strings, absent fields omitted. */
import type { FieldRef } from "../query/ast.js";
import type { JobStatus, ResourceGroup } from "../query/fields.js";
import type { JobRow } from "../storage/schema.js";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface JobView {
  job_id?: string;
  status?: JobStatus;
  options?: JsonObject;
  resource_group?: ResourceGroup;
  error_message?: string;
  domain_id?: string;
  workspace_id?: string;
  trusted_account_id?: string;
  plugin_id?: string;
  created_at?: string;
  updated_at?: string;
  finished_at?: string;
  started_at?: string;
  heartbeat_at?: string;
  progress_percent?: number;
  current_step?: string;
  records_processed?: number;
  records_total?: number;
  records_created?: number;
  records_updated?: number;
  records_deleted?: number;
  cancel_requested_at?: string;
  cancel_reason?: string;
  canceled_by?: string;
  error_code?: string;
  duration_seconds?: number;
  version?: number;
}

function parseOptions(text: string | null | undefined): JsonObject | undefined {
  if (text === null || text === undefined) return undefined;
  const value = JSON.parse(text) as JsonValue;
  return value !== null && typeof value === "object" && !Array.isArray(value) ? value : undefined;
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Define an own data member (plain assignment of `__proto__` would set the prototype instead). */
function setOwn(target: JsonObject, key: string, value: JsonValue): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Keep only the requested paths of an options object. */
function pickPaths(options: JsonObject, paths: readonly (readonly string[])[]): JsonObject {
  const out: JsonObject = {};
  for (const path of paths) {
    let source: JsonValue | undefined = options;
    for (const segment of path) {
      // Own members only: `options.constructor` or `options.__proto__` must not reach inherited ones.
      source = isObject(source) && Object.hasOwn(source, segment) ? source[segment] : undefined;
    }
    if (source === undefined) continue;
    let target = out;
    path.forEach((segment, i) => {
      if (i === path.length - 1) {
        setOwn(target, segment, source as JsonValue);
      } else {
        let next = Object.hasOwn(target, segment) ? target[segment] : undefined;
        if (!isObject(next)) {
          next = {};
          setOwn(target, segment, next);
        }
        target = next;
      }
    });
  }
  return out;
}

/** Row -> view; with `only`, just the selected fields (options paths pruned to what was asked). */
export function toJobView(row: Partial<JobRow>, only: readonly FieldRef[] | null = null): JobView {
  const view: JobView = {};
  const wanted = only === null ? null : new Set(only.map((f) => f.column));
  const take = (column: keyof JobView) => wanted === null || wanted.has(column);
  const assign = <K extends keyof JobView>(key: K, value: JobView[K] | null | undefined) => {
    if (take(key) && value !== null && value !== undefined) view[key] = value;
  };
  assign("job_id", row.job_id);
  assign("status", row.status);
  if (take("options")) {
    let options = parseOptions(row.options);
    const wholeOptions = only === null || only.some((f) => f.column === "options" && f.path.length === 0);
    if (options && !wholeOptions && only) {
      options = pickPaths(
        options,
        only.filter((f) => f.column === "options").map((f) => f.path),
      );
    }
    assign("options", options);
  }
  assign("resource_group", row.resource_group);
  assign("error_message", row.error_message);
  assign("domain_id", row.domain_id);
  assign("workspace_id", row.workspace_id);
  assign("trusted_account_id", row.trusted_account_id);
  assign("plugin_id", row.plugin_id);
  assign("created_at", row.created_at);
  assign("updated_at", row.updated_at);
  assign("finished_at", row.finished_at);
  assign("started_at", row.started_at);
  assign("heartbeat_at", row.heartbeat_at);
  assign("progress_percent", row.progress_percent);
  assign("current_step", row.current_step);
  assign("records_processed", row.records_processed);
  assign("records_total", row.records_total);
  assign("records_created", row.records_created);
  assign("records_updated", row.records_updated);
  assign("records_deleted", row.records_deleted);
  assign("cancel_requested_at", row.cancel_requested_at);
  assign("cancel_reason", row.cancel_reason);
  assign("canceled_by", row.canceled_by);
  assign("error_code", row.error_code);
  assign("duration_seconds", row.duration_seconds);
  assign("version", row.version);
  return view;
}
