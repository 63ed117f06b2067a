/**
 * `Condition`s -> SQL boolean expressions (Kysely raw builders). Column names come from the field
 * catalogue and go through `sql.ref` (quoted); every value, JSON path and pattern is a bound
 * parameter. Null semantics follow Mongo as upstream: `not`, `not_in` and `not_contain` also match
 * a missing (NULL) field; `eq null` matches null or missing.
 */
import { type RawBuilder, type SqlBool, sql } from "kysely";
import type { Condition, FieldRef, Scalar, SortKey, Where } from "../query/ast.js";
import {
  containsCI,
  jsonExtract,
  jsonPath,
  jsonType,
  jsonTypes,
  regexMatches,
  sqlValue,
} from "./dialect/sqlite.js";

type Bool = RawBuilder<SqlBool>;

const TRUE: Bool = sql<SqlBool>`1`;
const FALSE: Bool = sql<SqlBool>`0`;

function or(parts: Bool[]): Bool {
  if (parts.length === 0) return FALSE;
  if (parts.length === 1) return parts[0] as Bool;
  return sql<SqlBool>`(${sql.join(parts, sql` OR `)})`;
}

function and(parts: Bool[]): Bool {
  if (parts.length === 0) return TRUE;
  if (parts.length === 1) return parts[0] as Bool;
  return sql<SqlBool>`(${sql.join(parts, sql` AND `)})`;
}

/** NOT that treats NULL (unknown) as false first, so the negation of "no match" is a match. */
function notTrue(expr: Bool): Bool {
  return sql<SqlBool>`coalesce(${expr}, 0) = 0`;
}

/** SQL value of a field: a column, or json_extract for an options path. */
export function fieldValue(field: FieldRef): RawBuilder<unknown> {
  return field.path.length === 0 ? sql`${sql.ref(field.column)}` : jsonExtract(field.column, field.path);
}

// ---- options paths: JSON values are typed, so comparisons check the JSON type first -------------

/** A typed equality on a JSON value given its type and value expressions. */
function typedEquals(type: RawBuilder<unknown>, value: RawBuilder<unknown>, v: Exclude<Scalar, null>): Bool {
  const types = jsonTypes(v);
  if (typeof v === "boolean") return sql<SqlBool>`${type} = ${types[0]}`;
  return sql<SqlBool>`(${type} IN (${sql.join(types.map((t) => sql`${t}`))}) AND ${value} = ${sqlValue(v)})`;
}

/** eq on an options path: the value itself, or (Mongo semantics) any element of a list there. */
function jsonEquals(field: FieldRef, v: Scalar): Bool {
  if (v === null) return sql<SqlBool>`${jsonExtract(field.column, field.path)} IS NULL`;
  const type = jsonType(field.column, field.path);
  const direct = typedEquals(type, jsonExtract(field.column, field.path), v);
  const inList = sql<SqlBool>`(${type} = 'array' AND EXISTS (SELECT 1 FROM json_each(${sql.ref(field.column)}, ${jsonPath(
    field.path,
  )}) AS e WHERE ${typedEquals(sql`e.type`, sql`e.value`, v)}))`;
  return or([direct, inList]);
}

function jsonCompare(field: FieldRef, op: string, v: string | number | boolean): Bool {
  const type = jsonType(field.column, field.path);
  const types = typeof v === "boolean" ? ["true", "false"] : jsonTypes(v);
  return sql<SqlBool>`(${type} IN (${sql.join(types.map((t) => sql`${t}`))}) AND ${jsonExtract(
    field.column,
    field.path,
  )} ${sql.raw(COMPARATORS[op] as string)} ${sqlValue(v)})`;
}

function jsonText(field: FieldRef, test: (value: RawBuilder<unknown>) => Bool): Bool {
  return sql<SqlBool>`(${jsonType(field.column, field.path)} = 'text' AND ${test(jsonExtract(field.column, field.path))})`;
}

// ---- conditions ------------------------------------------------------------------------------

/** Fixed operator tokens (never user text). */
const COMPARATORS: Record<string, string> = { lt: "<", lte: "<=", gt: ">", gte: ">=" };

function columnEquals(field: FieldRef, v: Scalar): Bool {
  const col = fieldValue(field);
  return v === null ? sql<SqlBool>`${col} IS NULL` : sql<SqlBool>`${col} = ${sqlValue(v)}`;
}

export function compileCondition(c: Condition): Bool {
  const json = c.field.path.length > 0;
  const col = fieldValue(c.field);
  const contains = (needle: string): Bool =>
    json ? jsonText(c.field, (v) => containsCI(v, needle) as Bool) : (containsCI(col, needle) as Bool);
  const regex = (pattern: string): Bool =>
    json ? jsonText(c.field, (v) => regexMatches(v, pattern) as Bool) : (regexMatches(col, pattern) as Bool);
  const equals = (v: Scalar): Bool => (json ? jsonEquals(c.field, v) : columnEquals(c.field, v));

  switch (c.op) {
    case "eq":
      return equals(c.value);
    case "not":
      return c.value === null ? sql<SqlBool>`${col} IS NOT NULL` : notTrue(equals(c.value));
    case "lt":
    case "lte":
    case "gt":
    case "gte":
      return json
        ? jsonCompare(c.field, c.op, c.value)
        : sql<SqlBool>`${col} ${sql.raw(COMPARATORS[c.op] as string)} ${sqlValue(c.value)}`;
    case "exists":
      if (json) {
        const type = jsonType(c.field.column, c.field.path);
        return c.value ? sql<SqlBool>`${type} IS NOT NULL` : sql<SqlBool>`${type} IS NULL`;
      }
      return c.value ? sql<SqlBool>`${col} IS NOT NULL` : sql<SqlBool>`${col} IS NULL`;
    case "contain":
      return contains(c.value);
    case "not_contain":
      return notTrue(contains(c.value));
    case "in":
      if (!json && c.values.length > 0) {
        const nonNull = c.values.filter((v): v is Exclude<Scalar, null> => v !== null);
        const parts: Bool[] = [];
        if (nonNull.length > 0) parts.push(sql<SqlBool>`${col} IN (${sql.join(nonNull.map(sqlValue))})`);
        if (nonNull.length < c.values.length) parts.push(sql<SqlBool>`${col} IS NULL`);
        return or(parts);
      }
      return or(c.values.map(equals));
    case "not_in":
      return notTrue(compileCondition({ op: "in", field: c.field, values: c.values }));
    case "contain_in":
      return or(c.values.map(contains));
    case "not_contain_in":
      // Decision (docs/decisions.md): "contains none of the values", as SpaceONE documents it, not
      // the upstream implementation's OR (which matches unless the field contains every value).
      return and(c.values.map((v) => notTrue(contains(v))));
    case "regex":
      return regex(c.value);
    case "regex_in":
      return or(c.values.map(regex));
    case "match": {
      const checks = Object.entries(c.value).map(([key, v]) => {
        const path = `$."${key}"`;
        if (v === null) return sql<SqlBool>`json_extract(e.value, ${path}) IS NULL`;
        return typedEquals(sql`json_type(e.value, ${path})`, sql`json_extract(e.value, ${path})`, v);
      });
      return sql<SqlBool>`(${jsonType(c.field.column, c.field.path)} = 'array' AND EXISTS (SELECT 1 FROM json_each(${sql.ref(
        c.field.column,
      )}, ${jsonPath(c.field.path)}) AS e WHERE e.type = 'object' AND ${and(checks)}))`;
    }
  }
}

/** AND(filter) AND OR(filter_or); an empty side does not restrict. */
export function compileWhere(where: Where): Bool {
  const parts = where.and.map(compileCondition);
  if (where.or.length > 0) parts.push(or(where.or.map(compileCondition)));
  return and(parts);
}

/**
 * Sort terms for an options path. `json_extract` alone would order SQLite values: booleans become 0/1
 * and tie with numbers, and objects/lists become JSON text sorted among strings. Values of different
 * JSON types never compare equal here (docs/decisions.md: `0` is not `false`), so the first term ranks
 * the type in Mongo's order (missing/null, numbers, strings, objects, lists, booleans) and the second
 * orders within it: numbers by value, strings by bytes, false before true; objects and lists rank
 * among themselves by insertion order (the seq tiebreaker).
 */
function jsonSortTerms(field: FieldRef, direction: RawBuilder<unknown>): RawBuilder<unknown>[] {
  const type = jsonType(field.column, field.path);
  const rank = sql`CASE ${type} WHEN 'integer' THEN 1 WHEN 'real' THEN 1 WHEN 'text' THEN 2 WHEN 'object' THEN 3 WHEN 'array' THEN 4 WHEN 'true' THEN 5 WHEN 'false' THEN 5 ELSE 0 END`;
  const value = sql`CASE WHEN ${type} IN ('object', 'array') THEN NULL ELSE ${jsonExtract(field.column, field.path)} END`;
  return [sql`${rank} ${direction}`, sql`${value} ${direction}`];
}

/** ORDER BY terms: explicit keys then `seq` ascending (upstream's `_id` tiebreaker), or the default newest first. */
export function compileOrder(sort: readonly SortKey[]): RawBuilder<unknown> {
  if (sort.length === 0) return sql`${sql.ref("created_at")} DESC, ${sql.ref("seq")} DESC`;
  const terms = sort.flatMap((s) => {
    const direction = sql.raw(s.desc ? "DESC" : "ASC");
    return s.field.path.length > 0
      ? jsonSortTerms(s.field, direction)
      : [sql`${fieldValue(s.field)} ${direction}`];
  });
  terms.push(sql`${sql.ref("seq")} ASC`);
  return sql.join(terms);
}
