/**
 * Everything that differs between SQL databases, as one object the query compilers receive (the
 * model is Kysely's Dialect / QueryCompiler split). The compilers (`compile-where.ts`,
 * `compile-stat.ts`, the stores' statements) build standard SQL around these pieces and contain no
 * database-specific text; a new database is one folder under `dialect/` implementing this.
 *
 * Conventions:
 * - `Expr` is a Kysely raw builder. Identifiers arrive quoted (`sql.ref` / `sql.id`); every value,
 *   JSON path and pattern becomes a bound parameter, never SQL text.
 * - `path` is a list of validated segments under a json column (`fields.ts` JSON_SEGMENT); `[]`
 *   means the document itself.
 * - A "JSON document" expression is whatever the database stores JSON as (SQLite: JSON text;
 *   PostgreSQL: jsonb). Inside a stat pipeline json-kind values are carried in that form, with JSON
 *   `null` folded into SQL NULL so null and missing group, sort and compare alike.
 * - JSON values are typed: a comparison with a scalar first checks that the JSON type agrees
 *   (`0` is not `false`, `"1"` is not `1`).
 */
import type { Kysely, RawBuilder, SqlBool } from "kysely";
import type { Scalar } from "../../query/ast.js";
import type { JobsDatabase } from "../schema.js";

export type Expr = RawBuilder<unknown>;
export type Bool = RawBuilder<SqlBool>;

/** The JSON types a value can have, named the same on every database. */
export type JsonKind = "null" | "boolean" | "number" | "string" | "array" | "object";

/** Ordered comparison operators (their SQL tokens are fixed, never user text). */
export type Comparator = "lt" | "lte" | "gt" | "gte";

export interface OrderTerm {
  readonly expr: Expr;
  readonly desc: boolean;
  /** Put NULLs last even ascending (used to pick the smallest non-null value). */
  readonly nullsLast?: boolean;
}

/** A date part for stat's `date_format: year|month|day` (UTC, as an integer). */
export type DatePart = "year" | "month" | "day";

/**
 * A driver failure, classified. `key_taken` is a unique violation of the idempotency key (stores
 * turn it into `InsertResult.key_taken`); the others become SpaceOneErrors with that code.
 */
export type StorageFailure =
  | { readonly kind: "key_taken" }
  | { readonly kind: "unavailable"; readonly message: string }
  | { readonly kind: "deadline_exceeded"; readonly message: string }
  | { readonly kind: "resource_exhausted"; readonly message: string };

export interface Dialect {
  /** For logs and docs only; never branched on outside the dialect's folder. */
  readonly name: string;
  /** A Kysely instance that only compiles (DummyDriver) with this database's query compiler. */
  readonly builder: Kysely<JobsDatabase>;

  // ---- booleans ---------------------------------------------------------------------------------
  readonly true: Bool;
  readonly false: Bool;
  /** True unless `expr` is true: NULL (unknown) counts as false, so `not` also matches missing. */
  notTrue(expr: Bool): Bool;
  /** A scalar as a bound parameter comparable with this database's column/JSON scalar values. */
  scalar(value: Exclude<Scalar, null>): unknown;
  /** Cast a SQL boolean to the type stored in a row of a stat pipeline (SQLite 0/1, PostgreSQL boolean). */
  boolValue(expr: Bool): Expr;

  // ---- JSON access --------------------------------------------------------------------------------
  /** The JSON document at `path` of `doc`; NULL when missing or JSON null. */
  jsonAt(doc: Expr, path: readonly string[]): Expr;
  /** The SQL scalar at `path` (text, number, boolean); NULL for missing/null; lists/objects unspecified. */
  jsonScalarAt(doc: Expr, path: readonly string[]): Expr;
  /** The number at `path`, NULL when the value there is not a JSON number. */
  jsonNumberAt(doc: Expr, path: readonly string[]): Expr;
  /** True when the value at `path` exists and is of one of `kinds` (JSON null counts as "null"). */
  jsonIs(doc: Expr, path: readonly string[], kinds: readonly JsonKind[]): Bool;
  /** True when `path` exists (its value may be JSON null). */
  jsonExists(doc: Expr, path: readonly string[]): Bool;
  /** Typed equality of the value at `path` with a scalar (no list-element matching). */
  jsonEquals(doc: Expr, path: readonly string[], value: Exclude<Scalar, null>): Bool;
  /** Ordered comparison with a scalar of the same JSON type (no cross-type order). */
  jsonCompare(doc: Expr, path: readonly string[], op: Comparator, value: Exclude<Scalar, null>): Bool;
  /**
   * EXISTS an element of the list at `path` satisfying `test(element)` (the element as a JSON
   * document); false when the value there is not a list.
   */
  jsonAnyElement(doc: Expr, path: readonly string[], test: (element: Expr) => Bool): Bool;
  /** Sort terms for a JSON value: type rank in Mongo's order, then the value within its type. */
  jsonSortTerms(doc: Expr, path: readonly string[], desc: boolean): OrderTerm[];

  // ---- JSON construction (stat) ----------------------------------------------------------------------
  /** A JSON document from a SQL scalar (text, number) as a stat value. */
  toJson(value: Expr): Expr;
  /** A table source of the elements at `path` (a list: its elements; another non-null value: itself;
   *  null/missing: nothing), aliased `alias`, with columns `idx` (order) and `value` (JSON document). */
  eachElement(doc: Expr, path: readonly string[], alias: string): Expr;
  /** A table source of an object's members (`{}` for anything else): columns `key`, `value`, `idx`. */
  eachMember(doc: Expr, alias: string): Expr;
  /** `doc` with the value at `path` replaced by the JSON document `value`. */
  jsonReplaceAt(doc: Expr, path: readonly string[], value: Expr): Expr;
  /** Aggregate JSON documents into a list, optionally distinct, ordered and filtered. */
  jsonArrayAgg(
    value: Expr,
    options?: { distinct?: boolean; order?: readonly OrderTerm[]; where?: Bool },
  ): Expr;
  /** Aggregate (key text, JSON document) pairs into an object. */
  jsonObjectAgg(key: Expr, value: Expr): Expr;
  /** An object from names (bound as text) and JSON documents. */
  jsonObject(pairs: readonly (readonly [string, Expr])[]): Expr;
  /** Length of a JSON list; NULL when not a list. */
  arraySize(doc: Expr): Expr;
  /** Mongo $sum of one value: a list's numbers added, a number itself, anything else 0. */
  arraySum(doc: Expr): Expr;
  /** Mongo $arrayToObject; NULL when not a list. */
  arrayToObject(doc: Expr): Expr;
  /** Mongo $objectToArray; NULL when not an object. */
  objectToArray(doc: Expr): Expr;
  /** JSON text of a stored/pipeline JSON document, as the row returns it to Node (parsed there). */
  jsonText(doc: Expr): Expr;

  // ---- ordering and windows --------------------------------------------------------------------------
  /** `a ASC, b DESC` with Mongo's null order: NULLs first ascending, last descending. */
  orderList(terms: readonly OrderTerm[]): Expr;

  // ---- text -------------------------------------------------------------------------------------------
  /** Case-insensitive literal substring test (`%` and `_` are literal). */
  containsCI(expr: Expr, needle: string): Bool;
  /** Case-insensitive regex test of a pattern the parser validated (the portable subset). */
  regexMatches(expr: Expr, pattern: string): Bool;

  // ---- dates (stored as ISO-8601 text with milliseconds and Z on every database) ----------------------
  /** Year, month or day of month of an ISO datetime as an integer (UTC). */
  datePart(part: DatePart, value: Expr): Expr;
  /** An ISO datetime formatted with a validated strftime-style format (UTC); NULL when not a datetime. */
  formatDatetime(format: string, value: Expr): Expr;

  // ---- errors -----------------------------------------------------------------------------------------
  /** A driver error classified, or null when it is not a storage failure (then it is a bug: `internal`). */
  classifyError(error: unknown): StorageFailure | null;
}
