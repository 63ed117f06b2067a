/**
 * The shape of a `Where` for `CompiledTemplates`: what its SQL text depends on, apart from its values.
 * Strings and numbers are arguments (the compilers bind them as they are; their type goes in the key,
 * since a number and a string compile differently on a json path). Booleans and null stay in the key:
 * they change the SQL text (`IS NULL`, json type names). Field references, json paths, in-list
 * lengths and `match` member names are in the key too.
 */
import type { Condition, Scalar, Where } from "../query/ast.js";

export interface WhereShape {
  readonly key: string;
  /** The argument values, in the order `rebuild` takes them. */
  readonly values: readonly (string | number)[];
  /** The `Where` with these values in place of the arguments (markers, or the values themselves). */
  rebuild(values: readonly unknown[]): Where;
}

const isArgument = (v: Scalar): v is string | number => typeof v === "string" || typeof v === "number";

/** Every value of a condition, in one fixed order. */
function valuesOf(c: Condition): readonly Scalar[] {
  if ("values" in c) return c.values;
  if (c.op === "match") return Object.values(c.value);
  return [c.value];
}

/** `c` with `values` (in `valuesOf`'s order) in place of its own. */
function withValues(c: Condition, values: readonly Scalar[]): Condition {
  if ("values" in c) return { ...c, values } as Condition;
  if (c.op === "match")
    return { ...c, value: Object.fromEntries(Object.keys(c.value).map((k, i) => [k, values[i] ?? null])) };
  return { ...c, value: values[0] } as Condition;
}

function conditionKey(c: Condition, values: (string | number)[]): unknown[] {
  const types = valuesOf(c).map((v) => {
    if (!isArgument(v)) return v;
    values.push(v);
    return typeof v === "string" ? "s" : "n";
  });
  return [c.op, c.field.column, c.field.path, types, c.op === "match" ? Object.keys(c.value) : 0];
}

export function whereShape(where: Where): WhereShape {
  const values: (string | number)[] = [];
  const and = where.and.map((c) => conditionKey(c, values));
  const or = where.or.map((c) => conditionKey(c, values));
  const rebuild = (given: readonly unknown[]): Where => {
    let i = 0;
    const refill = (c: Condition): Condition =>
      withValues(
        c,
        valuesOf(c).map((v) => (isArgument(v) ? (given[i++] as Scalar) : v)),
      );
    return { and: where.and.map(refill), or: where.or.map(refill) };
  };
  return { key: JSON.stringify([and, or]), values, rebuild };
}
