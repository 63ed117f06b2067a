/**
 * `Job.stat` (docs/compatibility.md, "Stat"): parse the StatisticsQuery, AND the caller's scope in, compile the
 * pipeline to SQL, run it (and its total, when paged) in one read transaction, and shape the
 * `google.protobuf.Struct` answer `{"results": [...], "total_count"?: N}`.
 *
 * Values come out as JSON: datetimes as the ISO-8601 strings they are stored as (upstream fails to
 * serialise them, docs/compatibility.md, "Stat", quirk 5), numbers as numbers, values from `options` and
 * the lists/objects the pipeline builds as parsed JSON, keys exactly as the request named them.
 */
import { errors } from "../errors.js";
import type { Condition } from "../query/ast.js";
import type { QueryLimits } from "../query/cost.js";
import { parseStatQuery } from "../query/parse-stat.js";
import type { StatQuery, ValueKind } from "../query/stat-ast.js";
import type { StatResultShape } from "../storage/compile-stat.js";
import type { JobRow } from "../storage/schema.js";
import type { JobStore, ReadOptions } from "../storage/store.js";
import { type JsonObject, type JsonValue, toJobView } from "./job-view.js";

export interface StatContext {
  /** "now" for timediff filters. */
  readonly now: Date;
  /** Largest page.limit. */
  readonly maxPageSize: number;
  /** The most rows a stat without page.limit returns (MAX_UNPAGED_ROWS); maxPageSize when absent. */
  readonly maxUnpagedRows?: number;
  readonly limits?: QueryLimits | undefined;
}

export interface StatRequest {
  query?: JsonObject;
}

/** Scope conditions are ANDed with the request's own filter (job-rules.ts `scopeConditions`). */
function withScope(query: StatQuery, scope: readonly Condition[]): StatQuery {
  return { ...query, where: { and: [...scope, ...query.where.and], or: query.where.or } };
}

function decodeValue(value: unknown, kind: ValueKind): JsonValue {
  if (value === null || value === undefined) return null;
  if (kind === "json" && typeof value === "string") return JSON.parse(value) as JsonValue;
  return value as JsonValue;
}

function decodeRow(row: Record<string, unknown>, shape: StatResultShape): JsonValue {
  switch (shape.kind) {
    case "jobs":
      // Rows still shaped as jobs (e.g. sort -> limit): as `list` shows them, absent fields omitted.
      return toJobView(row as unknown as JobRow) as JsonObject;
    case "values":
      return decodeValue(row.value, shape.valueKind);
    case "named": {
      const out: JsonObject = {};
      for (const column of shape.columns) out[column.name] = decodeValue(row[column.name], column.kind);
      return out;
    }
  }
}

/**
 * Answer a stat request within `scope`. Bad input is `invalid_argument` naming the request path;
 * a pipeline returning more than `maxUnpagedRows` rows without `page.limit` is refused like `list`.
 */
export async function runStat(
  store: JobStore,
  scope: readonly Condition[],
  request: StatRequest,
  ctx: StatContext,
  read?: ReadOptions,
): Promise<JsonObject> {
  const query = withScope(parseStatQuery(request.query, ctx), scope);
  const plan = await store.stat(query, { maxRows: ctx.maxUnpagedRows ?? ctx.maxPageSize }, read);
  const { rows, total } = plan;
  if (plan.cap !== null && rows.length > plan.cap) {
    throw errors.resultTooLarge(
      "query.page.limit",
      `the stat returns more than ${plan.cap} rows and a request without page.limit returns at most ${plan.cap} ` +
        `(MAX_UNPAGED_ROWS); set query.page.limit (at most ${ctx.maxPageSize}) and page with query.page.start, or narrow the pipeline`,
    );
  }
  const results = rows.map((row) => decodeRow(row, plan.shape));
  return total === null ? { results } : { results, total_count: total };
}
