/**
 * The query AST evaluated in memory against one job, with exactly the semantics of the SQL the
 * storage compiler emits for it (so a `watch` filter selects the same jobs as the same filter in
 * `list`; test/watch-match.test.ts checks the two against each other over generated queries and jobs).
 *
 * The rules it reproduces:
 * - NULL is unknown: a comparison with a missing value is false; `not`, `not_in`, `not_contain` and
 *   `not_contain_in` negate "true", so a missing value matches them; `eq null` is "null or missing".
 * - Plain columns compare as SQLite does: text by code point (BINARY collation on UTF-8), numbers by value.
 * - `options.*` paths are typed JSON: a value only equals or orders against a value of the same JSON
 *   type (booleans against booleans, `"3"` is not `3`); `eq` also matches an element of a list there;
 *   text operators apply to JSON strings only; `exists` is "the path is present" (JSON null counts).
 * - `contain` is a case-insensitive substring over ASCII letters (SQLite's lower()); `regex` is the
 *   same case-insensitive linear-time regex (the portable subset) the SQL function runs.
 */
import type { Condition, FieldRef, Scalar, Where } from "./ast.js";
import { linearRegex } from "./linear-regex.js";

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** What the matcher reads: column values as stored (options as JSON text, or already parsed). */
export type MatchRow = { readonly [column: string]: unknown };

/** A prepared predicate over rows; cheap to call per job per change. */
export type RowPredicate = (row: MatchRow) => boolean;

/** SQLite's lower() without ICU: ASCII letters only. */
function asciiLower(text: string): string {
  return text.replace(/[A-Z]+/g, (s) => s.toLowerCase());
}

/** BINARY collation over UTF-8 bytes is code point order (JS `<` compares UTF-16 units). */
export function compareText(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i) as number;
    const y = b.codePointAt(i) as number;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

function isObject(value: unknown): value is { [key: string]: Json } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Parsed options of a row, once per row object (the hub evaluates many watchers against one row). */
const parsedOptions = new WeakMap<object, Json | undefined>();

function optionsOf(row: MatchRow): Json | undefined {
  const raw = row.options;
  if (raw === null || raw === undefined) return undefined;
  if (typeof raw !== "string") return raw as Json;
  if (parsedOptions.has(row)) return parsedOptions.get(row);
  let value: Json | undefined;
  try {
    value = JSON.parse(raw) as Json;
  } catch {
    value = undefined;
  }
  parsedOptions.set(row, value);
  return value;
}

/** The JSON value at a path (own members of objects only, as SQLite's `$."a"."b"`); undefined if missing. */
function lookup(row: MatchRow, path: readonly string[]): Json | undefined {
  let at: Json | undefined = optionsOf(row);
  for (const segment of path) {
    if (!isObject(at) || !Object.hasOwn(at, segment)) return undefined;
    at = at[segment];
  }
  return at;
}

/** Same JSON type and value (numbers by value, strings exactly, booleans by identity). */
function sameJson(stored: Json | undefined, v: Exclude<Scalar, null>): boolean {
  return typeof stored === typeof v && stored === v;
}

function compareScalars(a: string | number | boolean, b: string | number | boolean): number {
  if (typeof a === "string" && typeof b === "string") return compareText(a, b);
  const x = Number(a);
  const y = Number(b);
  return x === y ? 0 : x < y ? -1 : 1;
}

const ORDER: Readonly<Record<"lt" | "lte" | "gt" | "gte", (c: number) => boolean>> = {
  lt: (c) => c < 0,
  lte: (c) => c <= 0,
  gt: (c) => c > 0,
  gte: (c) => c >= 0,
};

function containsCI(text: string, needle: string): boolean {
  return asciiLower(text).includes(asciiLower(needle));
}

function regexTest(pattern: string): (text: string) => boolean {
  const re = linearRegex(pattern);
  return (text) => re.test(text);
}

/** The text a text operator sees: a JSON string under options, or a column's value rendered as text. */
function textOf(field: FieldRef): (row: MatchRow) => string | null {
  if (field.path.length > 0) {
    return (row) => {
      const v = lookup(row, field.path);
      return typeof v === "string" ? v : null;
    };
  }
  return (row) => {
    const v = row[field.column];
    return v === null || v === undefined ? null : String(v);
  };
}

function equalsTest(field: FieldRef, v: Scalar): RowPredicate {
  if (field.path.length === 0) {
    return v === null
      ? (row) => row[field.column] === null || row[field.column] === undefined
      : (row) => row[field.column] === v;
  }
  if (v === null) return (row) => lookup(row, field.path) == null;
  return (row) => {
    const at = lookup(row, field.path);
    return sameJson(at, v) || (Array.isArray(at) && at.some((e) => sameJson(e, v)));
  };
}

function orderTest(
  field: FieldRef,
  op: "lt" | "lte" | "gt" | "gte",
  v: string | number | boolean,
): RowPredicate {
  const holds = ORDER[op];
  if (field.path.length === 0) {
    return (row) => {
      const at = row[field.column];
      if (at === null || at === undefined) return false;
      return holds(compareScalars(at as string | number, v));
    };
  }
  // A boolean operand orders against any JSON boolean; others only against their own JSON type.
  return (row) => {
    const at = lookup(row, field.path);
    if (at === null || at === undefined || typeof at === "object" || typeof at !== typeof v) return false;
    return holds(compareScalars(at, v));
  };
}

function any(parts: readonly RowPredicate[]): RowPredicate {
  if (parts.length === 0) return () => false;
  if (parts.length === 1) return parts[0] as RowPredicate;
  return (row) => parts.some((p) => p(row));
}

function all(parts: readonly RowPredicate[]): RowPredicate {
  if (parts.length === 0) return () => true;
  if (parts.length === 1) return parts[0] as RowPredicate;
  return (row) => parts.every((p) => p(row));
}

export function compileConditionPredicate(c: Condition): RowPredicate {
  const field = c.field;
  const json = field.path.length > 0;
  const text = textOf(field);
  const contains =
    (needle: string): RowPredicate =>
    (row) => {
      const t = text(row);
      return t !== null && containsCI(t, needle);
    };
  const regex = (pattern: string): RowPredicate => {
    const test = regexTest(pattern);
    return (row) => {
      const t = text(row);
      return t !== null && test(t);
    };
  };
  switch (c.op) {
    case "eq":
      return equalsTest(field, c.value);
    case "not": {
      if (c.value === null) {
        return json
          ? (row) => lookup(row, field.path) != null
          : (row) => row[field.column] !== null && row[field.column] !== undefined;
      }
      const eq = equalsTest(field, c.value);
      return (row) => !eq(row);
    }
    case "lt":
    case "lte":
    case "gt":
    case "gte":
      return orderTest(field, c.op, c.value);
    case "exists": {
      const present: RowPredicate = json
        ? (row) => lookup(row, field.path) !== undefined
        : (row) => row[field.column] !== null && row[field.column] !== undefined;
      return c.value ? present : (row) => !present(row);
    }
    case "contain":
      return contains(c.value);
    case "not_contain": {
      const p = contains(c.value);
      return (row) => !p(row);
    }
    case "in":
      return any(c.values.map((v) => equalsTest(field, v)));
    case "not_in": {
      const p = any(c.values.map((v) => equalsTest(field, v)));
      return (row) => !p(row);
    }
    case "contain_in":
      return any(c.values.map(contains));
    case "not_contain_in": {
      const parts = c.values.map(contains);
      return (row) => !parts.some((p) => p(row));
    }
    case "regex":
      return regex(c.value);
    case "regex_in":
      return any(c.values.map(regex));
    case "match": {
      const entries = Object.entries(c.value);
      return (row) => {
        const list = lookup(row, field.path);
        if (!Array.isArray(list)) return false;
        return list.some(
          (element) =>
            isObject(element) &&
            entries.every(([key, v]) => {
              const at = Object.hasOwn(element, key) ? element[key] : undefined;
              return v === null ? at == null : sameJson(at, v);
            }),
        );
      };
    }
  }
}

/** AND(filter) AND OR(filter_or), as `compileWhere`; an empty side does not restrict. */
export function compileWherePredicate(where: Where): RowPredicate {
  const parts = where.and.map(compileConditionPredicate);
  if (where.or.length > 0) parts.push(any(where.or.map(compileConditionPredicate)));
  return all(parts);
}
