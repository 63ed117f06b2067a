/**
 * A reference evaluator of `Job.stat` for the pipelines the differential test generates: `group` (keys
 * on columns, with `date_format` year/month/day or a `%Y`/`%m`/`%d` format; fields count (with
 * conditions), sum, average, max, min, first, last, push), `sort`, `limit`, `skip`, `count`, paging
 * with `total_count`, and `distinct`. Written from the spec (§2.3, §2.4) with Mongo's semantics where
 * the spec defers to it, and the stream order the service documents (compile-stat.ts): filtered jobs
 * newest first; `group` emits one row per key combination ordered by its keys ascending; `sort` is
 * stable. Shares no code with src/.
 */
import { byteCompare, columnValue, REF_FIELDS, type RefJob } from "./job-model.js";
import { type RefCaller, type RefContext, referenceMatches } from "./list-reference.js";

type Value = string | number | boolean | null | Value[];
type Row = Record<string, Value>;

export type RefStatResult =
  | { readonly kind: "ok"; readonly body: { results: unknown[]; total_count?: number } }
  | { readonly kind: "invalid"; readonly why: string };

/** Order of stat values: null first, then numbers, then strings (by bytes). */
function compareValues(a: Value, b: Value): number {
  const rank = (v: Value) => (v === null ? 0 : typeof v === "number" ? 1 : typeof v === "string" ? 2 : 3);
  const r = rank(a) - rank(b);
  if (r !== 0) return r;
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "string" && typeof b === "string") return byteCompare(a, b);
  return 0;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

function dateKey(iso: string | null, format: string): Value {
  if (iso === null) return null;
  const d = new Date(iso);
  if (format === "year") return d.getUTCFullYear();
  if (format === "month") return d.getUTCMonth() + 1;
  if (format === "day") return d.getUTCDate();
  return format
    .replaceAll("%Y", pad(d.getUTCFullYear(), 4))
    .replaceAll("%m", pad(d.getUTCMonth() + 1))
    .replaceAll("%d", pad(d.getUTCDate()))
    .replaceAll("%H", pad(d.getUTCHours()));
}

const CONDITION: Readonly<Record<string, (c: number) => boolean>> = {
  eq: (c) => c === 0,
  not: (c) => c !== 0,
  gt: (c) => c > 0,
  gte: (c) => c >= 0,
  lt: (c) => c < 0,
  lte: (c) => c <= 0,
};

function meets(job: RefJob, condition: { key: string; value: Value; operator: string }): boolean {
  const stored = columnValue(job, condition.key) as Value;
  if (condition.value === null) return condition.operator === "eq" ? stored === null : stored !== null;
  if (stored === null) return condition.operator === "not";
  return (CONDITION[condition.operator] as (c: number) => boolean)(compareValues(stored, condition.value));
}

interface GroupSpec {
  keys: { key: string; name: string; date_format?: string }[];
  fields: {
    key?: string;
    name: string;
    operator: string;
    conditions?: { key: string; value: Value; operator: string }[];
  }[];
}

function group(rows: RefJob[], spec: GroupSpec): Row[] {
  const groups = new Map<string, { key: Value[]; jobs: RefJob[] }>();
  for (const job of rows) {
    const key = spec.keys.map((k) => {
      const v = columnValue(job, k.key) as Value;
      return k.date_format ? dateKey(v as string | null, k.date_format) : v;
    });
    const id = JSON.stringify(key);
    const entry = groups.get(id) ?? { key, jobs: [] };
    entry.jobs.push(job);
    groups.set(id, entry);
  }
  const out = [...groups.values()].sort((a, b) => {
    for (let i = 0; i < a.key.length; i++) {
      const c = compareValues(a.key[i] as Value, b.key[i] as Value);
      if (c !== 0) return c;
    }
    return 0;
  });
  return out.map(({ key, jobs }) => {
    const row: Row = {};
    spec.keys.forEach((k, i) => {
      row[k.name] = key[i] as Value;
    });
    for (const f of spec.fields) {
      const values = jobs.map((j) => (f.key ? (columnValue(j, f.key) as Value) : null));
      const present = values.filter((v) => v !== null);
      const numbers = present.filter((v): v is number => typeof v === "number");
      switch (f.operator) {
        case "count":
          row[f.name] = jobs.filter((j) => (f.conditions ?? []).every((c) => meets(j, c))).length;
          break;
        case "sum":
          row[f.name] = numbers.reduce((s, v) => s + v, 0);
          break;
        case "average":
          row[f.name] = numbers.length === 0 ? null : numbers.reduce((s, v) => s + v, 0) / numbers.length;
          break;
        case "max":
        case "min": {
          const sorted = [...present].sort(compareValues);
          row[f.name] = (f.operator === "max" ? sorted[sorted.length - 1] : sorted[0]) ?? null;
          break;
        }
        case "first":
          row[f.name] = values[0] ?? null;
          break;
        case "last":
          row[f.name] = values[values.length - 1] ?? null;
          break;
        case "push":
          row[f.name] = present;
          break;
      }
    }
    return row;
  });
}

export function referenceStat(
  jobs: readonly RefJob[],
  caller: RefCaller,
  query: Record<string, unknown>,
  ctx: RefContext,
): RefStatResult {
  const page = (query.page ?? {}) as { start?: number; limit?: number };
  const limit = page.limit ?? 0;
  if (limit > ctx.maxPageSize) return { kind: "invalid", why: "page.limit over the maximum" };
  const stream = referenceMatches(jobs, caller, { query }, ctx, ["job_id"]);

  let rows: Value[] | Row[];
  if (typeof query.distinct === "string") {
    const field = query.distinct;
    const seen = new Map<string, Value>();
    for (const job of stream) {
      const v = columnValue(job, field) as Value;
      if (v !== null) seen.set(JSON.stringify(v), v);
    }
    rows = [...seen.values()].sort(compareValues);
  } else {
    let current: (RefJob | Row)[] = stream;
    let grouped = false;
    for (const stage of query.aggregate as Record<string, unknown>[]) {
      if (stage.group) {
        current = group(current as RefJob[], stage.group as GroupSpec);
        grouped = true;
      } else if (stage.sort) {
        const keys = stage.sort as { key: string; desc?: boolean }[];
        const get = (r: RefJob | Row, k: string) =>
          grouped ? ((r as Row)[k] as Value) : (columnValue(r as RefJob, k) as Value);
        current = [...current].sort((a, b) => {
          for (const k of keys) {
            const c = compareValues(get(a, k.key), get(b, k.key));
            if (c !== 0) return k.desc ? -c : c;
          }
          return 0;
        });
      } else if (stage.limit !== undefined) {
        current = current.slice(0, stage.limit as number);
      } else if (stage.skip !== undefined) {
        current = current.slice(stage.skip as number);
      } else if (stage.count) {
        const name = (stage.count as { name: string }).name;
        current = current.length === 0 ? [] : [{ [name]: current.length }];
        grouped = true;
      }
    }
    if (!grouped) throw new Error("reference: pipelines end in group or count");
    rows = current as Row[];
  }

  const total = rows.length;
  if (limit > 0) {
    const start = Math.max(1, page.start ?? 1) - 1;
    return { kind: "ok", body: { results: rows.slice(start, start + limit), total_count: total } };
  }
  if (total > ctx.maxPageSize) return { kind: "invalid", why: "unpaged stat over the maximum" };
  return { kind: "ok", body: { results: rows } };
}

/** Fields a group key, a sum or a condition may use, by type (for the generator). */
export const STAT_COLUMNS = {
  keys: [
    "status",
    "resource_group",
    "workspace_id",
    "plugin_id",
    "trusted_account_id",
    "error_code",
    "version",
  ],
  dates: ["created_at", "finished_at", "started_at"],
  numbers: Object.keys(REF_FIELDS).filter((f) => REF_FIELDS[f] === "number"),
  ordered: ["job_id", "trusted_account_id", "created_at", "finished_at", "plugin_id", "error_message"],
} as const;
