/**
 * A reference evaluator of `Job.list`: the query semantics of the spec (§2.2, §3.6) and docs/decisions.md
 * applied to jobs in memory, one plain TypeScript predicate per operator. It shares no code with
 * `src/query` or `src/storage`; the differential test checks the service against it.
 *
 * It reads only the valid queries the generators write (plus the two invalid cases they make on purpose:
 * a page limit over the maximum, and an unpaged list matching more rows than the maximum).
 */
import { isoOf, referenceInstant, referenceTimediff } from "./datetime.js";
import {
  asciiLower,
  byteCompare,
  columnValue,
  durationSeconds,
  isPlainObject,
  type Json,
  type JsonObject,
  lookupPath,
  REF_FIELDS,
  REF_MINIMAL,
  type RefJob,
} from "./job-model.js";

export interface RefCaller {
  readonly domainId: string;
  /** A workspace user's own workspace; null for a domain admin (who may ask for one in the request). */
  readonly workspaceId: string | null;
}

export interface RefListRequest {
  query?: Record<string, unknown>;
  job_id?: string;
  status?: string;
  workspace_id?: string;
  trusted_account_id?: string;
  plugin_id?: string;
}

export type RefListResult =
  | { readonly kind: "ok"; readonly results: Record<string, unknown>[]; readonly total_count: number }
  | { readonly kind: "invalid"; readonly why: string };

export interface RefContext {
  readonly now: number;
  readonly maxPageSize: number;
}

type Scalar = string | number | boolean | null;
type Predicate = (job: RefJob) => boolean;

interface Field {
  readonly column: string;
  readonly path: readonly string[];
}

function field(name: string): Field {
  const [column = "", ...path] = name.split(".");
  return { column, path };
}

/** A top-level column's value, typed for comparison: datetimes as instants. */
function columnComparable(job: RefJob, column: string): string | number | null {
  const value = columnValue(job, column);
  if (value === null) return null;
  return REF_FIELDS[column] === "datetime" ? Date.parse(value as string) : value;
}

/** An operand for a top-level column, typed like the column (datetimes read as instants). */
function operand(column: string, value: Scalar): Scalar {
  if (value === null) return null;
  return REF_FIELDS[column] === "datetime" ? (referenceInstant(value as string) as number) : value;
}

function order(a: string | number | boolean, b: string | number | boolean): number {
  if (typeof a === "string" && typeof b === "string") return byteCompare(a, b);
  return Number(a) - Number(b);
}

const COMPARE: Readonly<Record<string, (c: number) => boolean>> = {
  lt: (c) => c < 0,
  lte: (c) => c <= 0,
  gt: (c) => c > 0,
  gte: (c) => c >= 0,
};

/** JSON equality of a stored value with a scalar operand: same JSON type and value ("3" is not 3). */
function sameJson(stored: Json | undefined, value: Scalar): boolean {
  if (stored === undefined) return false;
  if (value === null) return stored === null;
  return typeof stored === typeof value && stored === value;
}

function containsCI(text: string, needle: string): boolean {
  return asciiLower(text).includes(asciiLower(needle));
}

function regexTest(text: string, pattern: string): boolean {
  // "s": in the portable subset `.` matches newlines too, as in PostgreSQL (docs/regex.md).
  return new RegExp(pattern, "is").test(text);
}

/** The predicate of one condition (`{k|key, v|value, o|operator}`). */
function condition(raw: Record<string, unknown>): Predicate {
  const name = (raw.key ?? raw.k) as string;
  const value = (raw.value !== undefined ? raw.value : raw.v) as unknown;
  const op = (raw.operator ?? raw.o) as string;
  const { column, path } = field(name);
  const onOptions = path.length > 0;
  const lookup = (job: RefJob) => lookupPath(job.options, path);
  const textAt = (job: RefJob): string | null => {
    if (onOptions) {
      const at = lookup(job);
      return at.found && typeof at.value === "string" ? at.value : null;
    }
    const v = columnValue(job, column);
    return v === null ? null : String(v);
  };

  // Equality on an options path: the value itself, or any element of a list there (Mongo).
  const jsonEquals = (job: RefJob, v: Scalar): boolean => {
    const at = lookup(job);
    if (v === null) return !at.found || at.value === null;
    if (!at.found) return false;
    return sameJson(at.value, v) || (Array.isArray(at.value) && at.value.some((e) => sameJson(e, v)));
  };
  const columnEquals = (job: RefJob, v: Scalar): boolean => {
    const stored = columnComparable(job, column);
    const want = operand(column, v);
    return want === null ? stored === null : stored !== null && stored === want;
  };
  const equals = (job: RefJob, v: Scalar) => (onOptions ? jsonEquals(job, v) : columnEquals(job, v));
  const contains = (job: RefJob, needle: string) => {
    const text = textAt(job);
    return text !== null && containsCI(text, needle);
  };
  const matches = (job: RefJob, pattern: string) => {
    const text = textAt(job);
    return text !== null && regexTest(text, pattern);
  };
  const compare = (job: RefJob, cmp: string, v: string | number | boolean, asText = false): boolean => {
    const test = COMPARE[cmp] as (c: number) => boolean;
    if (onOptions) {
      const at = lookup(job);
      if (!at.found || at.value === null || typeof at.value !== typeof v) return false;
      return test(order(at.value as string | number | boolean, v));
    }
    const stored = columnComparable(job, column);
    if (stored === null) return false;
    const want = asText ? v : operand(column, v);
    return test(order(stored, want as string | number | boolean));
  };
  // datetime_* / timediff_*: an instant. Columns compare instants; options paths compare their text
  // with the instant's ISO form (stored strings are all the service has there).
  const compareInstant = (job: RefJob, cmp: string, instant: number): boolean =>
    onOptions ? compare(job, cmp, isoOf(instant)) : compare(job, cmp, instant, true);

  switch (op) {
    case "eq":
      return (job) => equals(job, value as Scalar);
    case "not":
      if (value === null) {
        return (job) => {
          if (!onOptions) return columnValue(job, column) !== null;
          const at = lookup(job);
          return at.found && at.value !== null;
        };
      }
      return (job) => !equals(job, value as Scalar);
    case "lt":
    case "lte":
    case "gt":
    case "gte":
      return (job) => compare(job, op, value as string | number | boolean);
    case "exists":
      return (job) => {
        // Options: present, even with a null value (Mongo $exists). Columns: null is absent.
        const present = onOptions ? lookup(job).found : columnValue(job, column) !== null;
        return present === value;
      };
    case "contain":
      return (job) => contains(job, value as string);
    case "not_contain":
      return (job) => !contains(job, value as string);
    case "in":
      return (job) => (value as Scalar[]).some((v) => equals(job, v));
    case "not_in":
      return (job) => !(value as Scalar[]).some((v) => equals(job, v));
    case "contain_in":
      return (job) => (value as string[]).some((v) => contains(job, v));
    case "not_contain_in":
      // docs/decisions.md #1: contains none of the values.
      return (job) => !(value as string[]).some((v) => contains(job, v));
    case "regex":
      return (job) => matches(job, value as string);
    case "regex_in":
      return (job) => (value as string[]).some((v) => matches(job, v));
    case "match": {
      const wanted = Object.entries(value as Record<string, Scalar>);
      return (job) => {
        const at = lookup(job);
        if (!at.found || !Array.isArray(at.value)) return false;
        return at.value.some(
          (element) =>
            isPlainObject(element) &&
            wanted.every(([k, v]) =>
              v === null ? !Object.hasOwn(element, k) || element[k] === null : sameJson(element[k], v),
            ),
        );
      };
    }
    default: {
      const [kind, cmp = ""] = op.split("_") as [string, string];
      if (kind === "datetime") {
        const instant = referenceInstant(value as string) as number;
        return (job) => compareInstant(job, cmp, instant);
      }
      if (kind === "timediff") {
        return (job) => compareInstant(job, cmp, currentTimediff(value as string));
      }
      throw new Error(`reference: unexpected operator ${op}`);
    }
  }
}

/** Set by `referenceList` for the duration of one request: timediff is evaluated once per request. */
let requestNow = 0;
function currentTimediff(text: string): number {
  const at = referenceTimediff(text, requestNow);
  if (at === null) throw new Error(`reference: unreadable timediff ${text}`);
  return at;
}

// ---- order ---------------------------------------------------------------------------------------

/**
 * Sort rank of an options value, Mongo's type order: missing/null, numbers, strings, objects, lists,
 * booleans. Within a rank: numbers by value, strings by bytes, false before true; objects and lists
 * are equal to each other (insertion order decides).
 */
function jsonRank(value: Json | undefined): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === "number") return 1;
  if (typeof value === "string") return 2;
  if (Array.isArray(value)) return 4;
  if (typeof value === "object") return 3;
  return 5;
}

function sortCompare(a: RefJob, b: RefJob, key: string): number {
  const { column, path } = field(key);
  if (path.length > 0) {
    const va = lookupPath(a.options, path);
    const vb = lookupPath(b.options, path);
    const x = va.found ? va.value : undefined;
    const y = vb.found ? vb.value : undefined;
    const rank = jsonRank(x) - jsonRank(y);
    if (rank !== 0) return rank;
    if (typeof x === "number" || typeof x === "string" || typeof x === "boolean") {
      return order(x, y as string | number | boolean);
    }
    return 0;
  }
  const x = columnComparable(a, column);
  const y = columnComparable(b, column);
  if (x === null || y === null) return (x === null ? 0 : 1) - (y === null ? 0 : 1);
  return order(x, y);
}

// ---- projection ----------------------------------------------------------------------------------

const VIEW_COLUMNS = Object.keys(REF_FIELDS);

/** The job as the API shows it: every non-null field; with `only`, just those (options paths pruned). */
function view(job: RefJob, only: readonly string[] | null): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const columns = only === null ? new Set(VIEW_COLUMNS) : new Set(only.map((name) => field(name).column));
  for (const column of VIEW_COLUMNS) {
    if (!columns.has(column)) continue;
    if (column === "options") continue;
    const value = column === "duration_seconds" ? durationSeconds(job) : columnValue(job, column);
    if (value !== null) out[column] = value;
  }
  if (columns.has("options") && job.options !== null) {
    const paths = (only ?? []).map(field).filter((f) => f.column === "options");
    const whole = only === null || paths.some((f) => f.path.length === 0);
    out.options = whole
      ? job.options
      : pick(
          job.options,
          paths.map((f) => f.path),
        );
  }
  return out;
}

/** The union of the selected subtrees of `options`. */
function pick(options: JsonObject, paths: readonly (readonly string[])[]): JsonObject {
  const out: JsonObject = {};
  for (const path of paths) {
    const at = lookupPath(options, path);
    if (!at.found) continue;
    let target: JsonObject = out;
    path.forEach((segment, i) => {
      if (i === path.length - 1) {
        target[segment] = at.value;
        return;
      }
      const next = target[segment];
      if (isPlainObject(next)) {
        target = next;
      } else {
        const created: JsonObject = {};
        target[segment] = created;
        target = created;
      }
    });
  }
  return out;
}

// ---- the request ---------------------------------------------------------------------------------

const SHORTCUTS = ["job_id", "status", "trusted_account_id", "plugin_id"] as const;

/**
 * The jobs a request sees: the caller's scope (spec §3.6: the domain, and a workspace's own jobs plus
 * the domain-level `*` ones), the shortcut fields, AND(filter), OR(filter_or + keyword), in stream
 * order (newest first, then the latest inserted).
 */
export function referenceMatches(
  jobs: readonly RefJob[],
  caller: RefCaller,
  request: RefListRequest,
  ctx: RefContext,
  keywordColumns: readonly string[],
): RefJob[] {
  requestNow = ctx.now;
  const q = (request.query ?? {}) as Record<string, unknown>;
  const workspace = caller.workspaceId ?? (request.workspace_id || null);
  const predicates: Predicate[] = [
    (job) => job.domain_id === caller.domainId,
    (job) => workspace === null || job.workspace_id === workspace || job.workspace_id === "*",
  ];
  for (const name of SHORTCUTS) {
    const value = request[name];
    // Absent, empty (proto3 omits empty strings) or, for the status enum, NONE (its zero value).
    if (value === undefined || value === "" || (name === "status" && value === "NONE")) continue;
    predicates.push((job) => columnValue(job, name) === value);
  }
  for (const raw of (q.filter ?? []) as Record<string, unknown>[]) predicates.push(condition(raw));
  const anyOf: Predicate[] = ((q.filter_or ?? []) as Record<string, unknown>[]).map(condition);
  const keyword = typeof q.keyword === "string" ? q.keyword.split(/\s+/).filter((t) => t !== "") : [];
  if (keyword.length > 0) {
    for (const column of keywordColumns) {
      anyOf.push((job) => keyword.some((token) => containsCI(String(columnValue(job, column)), token)));
    }
  }
  if (anyOf.length > 0) predicates.push((job) => anyOf.some((p) => p(job)));
  return jobs
    .filter((job) => predicates.every((p) => p(job)))
    .sort((a, b) => byteCompare(b.created_at, a.created_at) || b.seq - a.seq);
}

export function referenceList(
  jobs: readonly RefJob[],
  caller: RefCaller,
  request: RefListRequest,
  ctx: RefContext,
): RefListResult {
  const q = (request.query ?? {}) as Record<string, unknown>;
  const page = (q.page ?? {}) as { start?: number; limit?: number };
  const limit = page.limit ?? 0;
  if (limit > ctx.maxPageSize) return { kind: "invalid", why: "page.limit over the maximum" };
  const matching = referenceMatches(jobs, caller, request, ctx, ["job_id", "status"]);

  const sort = (q.sort ?? []) as { key: string; desc?: boolean }[];
  const sorted = [...matching].sort((a, b) => {
    if (sort.length === 0) {
      return byteCompare(b.created_at, a.created_at) || b.seq - a.seq;
    }
    for (const s of sort) {
      const c = sortCompare(a, b, s.key);
      if (c !== 0) return s.desc ? -c : c;
    }
    return a.seq - b.seq;
  });

  const total = sorted.length;
  if (q.count_only === true) return { kind: "ok", results: [], total_count: total };
  let rows = sorted;
  if (limit > 0) {
    const start = Math.max(1, page.start ?? 1) - 1;
    rows = sorted.slice(start, start + limit);
  } else if (total > ctx.maxPageSize) {
    return { kind: "invalid", why: "unpaged list over the maximum" };
  }
  const onlyRaw = (q.only ?? []) as string[];
  const only = q.minimal === true ? REF_MINIMAL : onlyRaw.length > 0 ? onlyRaw : null;
  return { kind: "ok", results: rows.map((job) => view(job, only)), total_count: total };
}
