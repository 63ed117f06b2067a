/**
 * The SQLite-specific SQL of the `stat` pipeline (compile-stat.ts): JSON text handling, date
 * formatting, JSON aggregates and window helpers. A PostgreSQL port adds a sibling exporting the
 * same names (jsonb_path_query, to_char, jsonb_agg, ...).
 *
 * Inside the pipeline a `json`-kind value is carried as minified JSON text (`'"aws"'`, `'[1,2]'`,
 * `'true'`) or SQL NULL when missing; JSON `null` is folded into SQL NULL (`nullif(.., 'null')`)
 * so null and missing group, sort and compare alike. Every JSON path and every value is a bound
 * parameter; identifiers arrive already quoted (`sql.id`).
 */
import { type RawBuilder, type SqlBool, sql } from "kysely";
import type { Scalar } from "../../query/ast.js";
import { jsonPath, jsonTypes, sqlValue } from "./sqlite.js";

export type Expr = RawBuilder<unknown>;
type Bool = RawBuilder<SqlBool>;

/** JSON text of the value at `path` inside the JSON text `doc`; NULL when missing or JSON null. */
export function jsonAt(doc: Expr, path: readonly string[]): Expr {
  return sql`nullif(${doc} -> ${jsonPath(path)}, 'null')`;
}

/** The SQL value at `path` (json_extract: text, integer, real, NULL; lists/objects as JSON text). */
export function jsonScalarAt(doc: Expr, path: readonly string[]): Expr {
  return sql`(${doc} ->> ${jsonPath(path)})`;
}

/** The JSON type name at `path` ('null', 'true', 'false', 'integer', 'real', 'text', 'array', 'object'). */
export function jsonTypeAt(doc: Expr, path: readonly string[]): Expr {
  return sql`json_type(${doc}, ${jsonPath(path)})`;
}

/** The number at `path`, NULL when the value there is not a JSON number (Mongo $sum/$avg skip those). */
export function jsonNumberAt(doc: Expr, path: readonly string[]): Expr {
  return sql`(CASE WHEN json_type(${doc}, ${jsonPath(path)}) IN ('integer', 'real') THEN ${doc} ->> ${jsonPath(path)} END)`;
}

/** JSON text marked as JSON, so json_array/json_object/json_group_* embed it instead of quoting it. */
export function embedJson(text: Expr): Expr {
  return sql`json(${text})`;
}

/** JSON text of the current element of `json_each(...) AS alias` (booleans stay booleans). */
export function eachValueJson(alias: string): Expr {
  const type = sql.id(alias, "type");
  const value = sql.id(alias, "value");
  return sql`(CASE ${type} WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN 'null' WHEN 'array' THEN ${value} WHEN 'object' THEN ${value} ELSE json_quote(${value}) END)`;
}

/**
 * A table of the elements at `path`: a list yields its elements, any other non-null value yields
 * itself once, null or missing yields nothing (Mongo `$unwind` without preserveNullAndEmptyArrays).
 * Columns: `key` (list index), `value`, `type` (json_each).
 */
export function eachElement(doc: Expr, path: readonly string[]): Expr {
  const p = jsonPath(path);
  return sql`json_each(CASE coalesce(json_type(${doc}, ${p}), 'null') WHEN 'array' THEN ${doc} -> ${p} WHEN 'null' THEN '[]' ELSE json_array(${doc} -> ${p}) END)`;
}

/** The members of a JSON object (`{}` for anything else) as json_each rows (`key`, `value`, `type`). */
export function eachMember(json: Expr): Expr {
  return sql`json_each(CASE WHEN json_type(${json}) = 'object' THEN ${json} ELSE '{}' END)`;
}

/** `doc` with the value at `path` replaced by the JSON text `value`. */
export function jsonReplaceAt(doc: Expr, path: readonly string[], value: Expr): Expr {
  return sql`json_set(${doc}, ${jsonPath(path)}, json(${value}))`;
}

const DATE_PARTS = { year: "%Y", month: "%m", day: "%d" } as const;

/** Year, month or day of month of an ISO datetime, as an integer (Mongo $year/$month/$dayOfMonth), UTC. */
export function datePart(part: keyof typeof DATE_PARTS, value: Expr): Expr {
  return sql`CAST(strftime(${DATE_PARTS[part]}, ${value}) AS INTEGER)`;
}

/** An ISO datetime formatted with a validated strftime format (UTC); NULL when not a datetime. */
export function formatDatetime(format: string, value: Expr): Expr {
  return sql`strftime(${format}, ${value})`;
}

export interface OrderTerm {
  readonly expr: Expr;
  readonly desc: boolean;
  /** Put NULLs last even ascending (used to pick the smallest non-null value). */
  readonly nullsLast?: boolean;
}

/** `a ASC, b DESC` (SQLite: NULLs sort first ascending, last descending, as Mongo's null does). */
export function orderList(terms: readonly OrderTerm[]): Expr {
  return sql.join(
    terms.map(
      (t) => sql`${t.expr} ${sql.raw(t.desc ? "DESC" : "ASC")}${sql.raw(t.nullsLast ? " NULLS LAST" : "")}`,
    ),
  );
}

/** A JSON array aggregate of SQL values or embedded JSON, optionally distinct, ordered and filtered. */
export function jsonArrayAgg(
  value: Expr,
  options: { distinct?: boolean; order?: readonly OrderTerm[]; where?: Expr } = {},
): Expr {
  const distinct = options.distinct ? sql`DISTINCT ` : sql``;
  const order =
    options.order && options.order.length > 0 ? sql` ORDER BY ${orderList(options.order)}` : sql``;
  const filter = options.where ? sql` FILTER (WHERE ${options.where})` : sql``;
  return sql`json_group_array(${distinct}${value}${order})${filter}`;
}

/** A JSON object aggregate from key text and JSON-text values. */
export function jsonObjectAgg(key: Expr, valueJson: Expr): Expr {
  return sql`json_group_object(${key}, json(${valueJson}))`;
}

/** A JSON object from names (bound as text, never SQL) and values (SQL values or embedded JSON). */
export function jsonObject(pairs: readonly (readonly [string, Expr])[]): Expr {
  return sql`json_object(${sql.join(pairs.map(([name, value]) => sql`${name}, ${value}`))})`;
}

/** Length of a JSON list; NULL when the value is not a list (Mongo $size would fail). */
export function arraySize(json: Expr): Expr {
  return sql`(CASE WHEN json_type(${json}) = 'array' THEN json_array_length(${json}) END)`;
}

/** Mongo $sum of one value: the numbers of a list added up, a number itself, anything else 0. */
export function arraySum(json: Expr): Expr {
  return sql`(CASE json_type(${json}) WHEN 'array' THEN (SELECT total("__x"."value") FROM json_each(${json}) AS "__x" WHERE "__x"."type" IN ('integer', 'real')) WHEN 'integer' THEN ${json} ->> '$' WHEN 'real' THEN ${json} ->> '$' ELSE 0 END)`;
}

/**
 * Mongo $arrayToObject: a list of `[k, v]` pairs or `{k, v}` objects -> an object (a later
 * duplicate key wins when the JSON is read); NULL when the value is not a list.
 */
export function arrayToObject(json: Expr): Expr {
  return sql`(CASE WHEN json_type(${json}) = 'array' THEN (SELECT json_group_object(CASE "__x"."type" WHEN 'array' THEN "__x"."value" ->> '$[0]' ELSE "__x"."value" ->> '$.k' END, json(CASE "__x"."type" WHEN 'array' THEN "__x"."value" -> '$[1]' ELSE "__x"."value" -> '$.v' END) ORDER BY "__x"."id") FROM json_each(${json}) AS "__x" WHERE "__x"."type" IN ('array', 'object')) END)`;
}

/** Mongo $objectToArray: an object -> `[{k, v}, ...]` in member order; NULL when not an object. */
export function objectToArray(json: Expr): Expr {
  return sql`(CASE WHEN json_type(${json}) = 'object' THEN (SELECT json_group_array(json_object('k', "__x"."key", 'v', json(${eachValueJson("__x")})) ORDER BY "__x"."id") FROM json_each(${json}) AS "__x") END)`;
}

/** `first_value(value) OVER (PARTITION BY ... ORDER BY ...)`. */
export function firstValueOver(value: Expr, partition: readonly Expr[], order: readonly OrderTerm[]): Expr {
  return sql`first_value(${value}) OVER (${windowSpec(partition, order)})`;
}

/** `row_number() OVER (PARTITION BY ... ORDER BY ...)`. */
export function rowNumberOver(partition: readonly Expr[], order: readonly OrderTerm[]): Expr {
  return sql`row_number() OVER (${windowSpec(partition, order)})`;
}

function windowSpec(partition: readonly Expr[], order: readonly OrderTerm[]): Expr {
  const parts: Expr[] = [];
  if (partition.length > 0) parts.push(sql`PARTITION BY ${sql.join([...partition])}`);
  if (order.length > 0) parts.push(sql`ORDER BY ${orderList(order)}`);
  return sql.join(parts, sql` `);
}

// ---- typed comparisons on JSON values (the list filter's semantics, compile-where.ts) ----------

/** Equality of a JSON value, given its type and SQL value, with a scalar: types must agree. */
export function typedJsonEquals(type: Expr, value: Expr, v: Exclude<Scalar, null>): Bool {
  const types = jsonTypes(v);
  if (typeof v === "boolean") return sql<SqlBool>`${type} = ${types[0]}`;
  return sql<SqlBool>`(${type} IN (${sql.join(types.map((t) => sql`${t}`))}) AND ${value} = ${sqlValue(v)})`;
}

/** eq on a JSON value: the value itself or, as in Mongo, any element of a list there. */
export function jsonEquals(doc: Expr, path: readonly string[], v: Exclude<Scalar, null>): Bool {
  const type = jsonTypeAt(doc, path);
  const direct = typedJsonEquals(type, jsonScalarAt(doc, path), v);
  const element = sql<SqlBool>`(${type} = 'array' AND EXISTS (SELECT 1 FROM json_each(${doc}, ${jsonPath(
    path,
  )}) AS "__c" WHERE ${typedJsonEquals(sql`"__c"."type"`, sql`"__c"."value"`, v)}))`;
  return sql<SqlBool>`(${direct} OR ${element})`;
}

/** Ordered comparison of a JSON value with a scalar of the same JSON type (no cross-type order). */
export function jsonCompare(
  doc: Expr,
  path: readonly string[],
  op: string,
  v: string | number | boolean,
): Bool {
  const types = typeof v === "boolean" ? ["true", "false"] : jsonTypes(v);
  return sql<SqlBool>`(${jsonTypeAt(doc, path)} IN (${sql.join(types.map((t) => sql`${t}`))}) AND ${jsonScalarAt(
    doc,
    path,
  )} ${sql.raw(COMPARATORS[op] as string)} ${sqlValue(v)})`;
}

/** Fixed operator tokens (never user text). */
export const COMPARATORS: Readonly<Record<string, string>> = { gt: ">", gte: ">=", lt: "<", lte: "<=" };

/** A SQL value for a scalar (booleans as 1/0, as SQLite stores them). */
export function scalarParam(v: Exclude<Scalar, null>): string | number {
  return sqlValue(v);
}
