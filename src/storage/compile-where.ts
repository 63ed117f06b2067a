/**
 * `Condition`s -> SQL boolean expressions (Kysely raw builders) in the given dialect. Column names
 * come from the field catalogue and go through `sql.ref` (quoted); every value, JSON path and
 * pattern is a bound parameter. Null semantics follow Mongo as upstream: `not`, `not_in` and
 * `not_contain` also match a missing (NULL) field; `eq null` matches null or missing. Everything
 * database-specific comes from the `Dialect`.
 */
import { type RawBuilder, type SqlBool, sql } from "kysely";
import type { Condition, FieldRef, Scalar, SortKey, Where } from "../query/ast.js";
import type { Bool, Dialect } from "./dialect/dialect.js";
import { and, COMPARATORS, notTrue, or } from "./logic.js";

/** SQL value of a field: a column, or the scalar at an options path. */
export function fieldValue(d: Dialect, field: FieldRef): RawBuilder<unknown> {
  const column = sql`${sql.ref(field.column)}`;
  return field.path.length === 0 ? column : d.jsonScalarAt(column, field.path);
}

/** eq on an options path: the value itself or (Mongo semantics) any element of a list there. */
function jsonEquals(d: Dialect, field: FieldRef, v: Scalar): Bool {
  const doc = sql.ref(field.column);
  if (v === null) return sql<SqlBool>`${d.jsonScalarAt(doc, field.path)} IS NULL`;
  return or(d, [d.jsonEquals(doc, field.path, v), d.jsonElementEquals(doc, field.path, v)]);
}

/** A text test on an options path: only JSON strings can match. */
function jsonText(d: Dialect, field: FieldRef, test: (value: RawBuilder<unknown>) => Bool): Bool {
  const doc = sql.ref(field.column);
  return sql<SqlBool>`(${d.jsonIs(doc, field.path, ["string"])} AND ${test(d.jsonScalarAt(doc, field.path))})`;
}

function columnEquals(d: Dialect, field: FieldRef, v: Scalar): Bool {
  const col = fieldValue(d, field);
  return v === null ? sql<SqlBool>`${col} IS NULL` : sql<SqlBool>`${col} = ${d.scalar(v)}`;
}

export function compileCondition(d: Dialect, c: Condition): Bool {
  const json = c.field.path.length > 0;
  const col = fieldValue(d, c.field);
  const doc = sql.ref(c.field.column);
  const contains = (needle: string): Bool =>
    json ? jsonText(d, c.field, (v) => d.containsCI(v, needle)) : d.containsCI(col, needle);
  const regex = (pattern: string): Bool =>
    json ? jsonText(d, c.field, (v) => d.regexMatches(v, pattern)) : d.regexMatches(col, pattern);
  const equals = (v: Scalar): Bool => (json ? jsonEquals(d, c.field, v) : columnEquals(d, c.field, v));

  switch (c.op) {
    case "eq":
      return equals(c.value);
    case "not":
      return c.value === null ? sql<SqlBool>`${col} IS NOT NULL` : notTrue(d, equals(c.value));
    case "lt":
    case "lte":
    case "gt":
    case "gte":
      return json
        ? d.jsonCompare(doc, c.field.path, c.op, c.value)
        : sql<SqlBool>`${col} ${sql.raw(COMPARATORS[c.op])} ${d.scalar(c.value)}`;
    case "exists":
      if (json) {
        const exists = d.jsonExists(doc, c.field.path);
        return c.value ? exists : notTrue(d, exists);
      }
      return c.value ? sql<SqlBool>`${col} IS NOT NULL` : sql<SqlBool>`${col} IS NULL`;
    case "contain":
      return contains(c.value);
    case "not_contain":
      return notTrue(d, contains(c.value));
    case "in":
      if (!json && c.values.length > 0) {
        const nonNull = c.values.filter((v): v is Exclude<Scalar, null> => v !== null);
        const parts: Bool[] = [];
        if (nonNull.length > 0)
          parts.push(sql<SqlBool>`${col} IN (${sql.join(nonNull.map((v) => d.scalar(v)))})`);
        if (nonNull.length < c.values.length) parts.push(sql<SqlBool>`${col} IS NULL`);
        return or(d, parts);
      }
      return or(d, c.values.map(equals));
    case "not_in":
      return notTrue(d, compileCondition(d, { op: "in", field: c.field, values: c.values }));
    case "contain_in":
      return or(d, c.values.map(contains));
    case "not_contain_in":
      // Decision (docs/decisions.md): "contains none of the values", as SpaceONE documents it, not
      // the upstream implementation's OR (which matches unless the field contains every value).
      return and(
        d,
        c.values.map((v) => notTrue(d, contains(v))),
      );
    case "regex":
      return regex(c.value);
    case "regex_in":
      return or(d, c.values.map(regex));
    case "match":
      return d.jsonElementMatches(doc, c.field.path, Object.entries(c.value));
  }
}

/** AND(filter) AND OR(filter_or); an empty side does not restrict. */
export function compileWhere(d: Dialect, where: Where): Bool {
  const parts = where.and.map((c) => compileCondition(d, c));
  if (where.or.length > 0)
    parts.push(
      or(
        d,
        where.or.map((c) => compileCondition(d, c)),
      ),
    );
  return and(d, parts);
}

/**
 * ORDER BY terms: explicit keys then `seq` ascending (upstream's `_id` tiebreaker), or the default
 * newest first. An options path sorts by JSON type in Mongo's order, then by value (the dialect's
 * `jsonSortTerms`): values of different JSON types never compare equal (`0` is not `false`).
 */
export function compileOrder(d: Dialect, sort: readonly SortKey[]): RawBuilder<unknown> {
  if (sort.length === 0) return sql`${sql.ref("created_at")} DESC, ${sql.ref("seq")} DESC`;
  const terms = sort.flatMap((s) =>
    s.field.path.length > 0
      ? d.jsonSortTerms(sql.ref(s.field.column), s.field.path, s.desc)
      : // Through the dialect: Mongo's null order (first ascending) is not every database's default.
        [d.orderList([{ expr: fieldValue(d, s.field), desc: s.desc }])],
  );
  terms.push(sql`${sql.ref("seq")} ASC`);
  return sql.join(terms);
}
