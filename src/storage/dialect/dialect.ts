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
export type JsonKind = "null" | "true" | "false" | "number" | "string" | "array" | "object";

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

/** A select that can take row locks (Kysely's SelectQueryBuilder). */
export interface LockableQuery<Q> {
  forUpdate(): Q;
  skipLocked(): Q;
}

export interface Dialect {
  /** For logs and docs only; never branched on outside the dialect's folder. */
  readonly name: string;
  /** A Kysely instance that only compiles (DummyDriver) with this database's query compiler. */
  readonly builder: Kysely<JobsDatabase>;

  // ---- booleans and scalars ---------------------------------------------------------------------------
  readonly true: Bool;
  readonly false: Bool;
  /** True unless `expr` is true: NULL (unknown) counts as false, so `not` also matches missing. */
  notTrue(expr: Bool): Bool;
  /** A scalar as a bound parameter comparable with this database's column and JSON scalar values. */
  scalar(value: Exclude<Scalar, null>): unknown;
  /** `a` equals `b`, NULL equal to NULL. */
  nullSafeEquals(a: Expr, b: Expr): Bool;
  /** A float sum that is 0 over no rows and never overflows (Mongo $sum). */
  floatSum(value: Expr): Expr;
  /** ` LIMIT n OFFSET m`, or only the offset when `limit` is null. */
  limitOffset(limit: number | null, offset: number): Expr;

  // ---- JSON values inside documents (filters and stat) --------------------------------------------
  /** The SQL scalar at `path` (text, number, boolean); NULL for missing or JSON null. */
  jsonScalarAt(doc: Expr, path: readonly string[]): Expr;
  /** The JSON document at `path`; NULL when missing or JSON null. */
  jsonAt(doc: Expr, path: readonly string[]): Expr;
  /** The number at `path`, NULL when the value there is not a JSON number. */
  jsonNumberAt(doc: Expr, path: readonly string[]): Expr;
  /** True when the value at `path` exists and is of one of `kinds` (JSON null is "null"). */
  jsonIs(doc: Expr, path: readonly string[], kinds: readonly JsonKind[]): Bool;
  /** True when `path` exists (its value may be JSON null). */
  jsonExists(doc: Expr, path: readonly string[]): Bool;
  /** Typed equality of the value at `path` with a scalar (the value itself, not list elements). */
  jsonEquals(doc: Expr, path: readonly string[], value: Exclude<Scalar, null>): Bool;
  /** Some element of the list at `path` equals `value` (typed); false when not a list. */
  jsonElementEquals(doc: Expr, path: readonly string[], value: Exclude<Scalar, null>): Bool;
  /** Some element of the list at `path` is an object whose members equal these (null: missing or null). */
  jsonElementMatches(
    doc: Expr,
    path: readonly string[],
    members: readonly (readonly [string, Scalar])[],
  ): Bool;
  /** Ordered comparison with a scalar of the same JSON type (no cross-type order). */
  jsonCompare(doc: Expr, path: readonly string[], op: Comparator, value: Exclude<Scalar, null>): Bool;
  /** Sort terms for a JSON value: type rank in Mongo's order, then the value within its type. */
  jsonSortTerms(doc: Expr, path: readonly string[], desc: boolean): Expr[];

  // ---- JSON construction and iteration (stat) ----------------------------------------------------------
  /** A JSON document marked as JSON, so the constructors below embed it instead of quoting it. */
  embedJson(doc: Expr): Expr;
  /** `{}` as a JSON document. */
  readonly emptyObject: Expr;
  /**
   * A table source of the elements at `path`: a list yields its elements, another non-null value
   * itself once, null/missing nothing. Alias it and read it with `element*(alias)`.
   */
  eachElement(doc: Expr, path: readonly string[]): Expr;
  /** A table source of an object's members (`{}` for anything else); read with `element*(alias)`. */
  eachMember(doc: Expr): Expr;
  /** The current element (or member value) of an `each*` source as a JSON document. */
  elementJson(alias: string): Expr;
  /** The position of the current element (lists) or the member name (objects). */
  elementKey(alias: string): Expr;
  /** True when the current element is JSON null. */
  elementIsNull(alias: string): Bool;
  /** `doc` with the value at `path` replaced by the JSON document `value`. */
  jsonReplaceAt(doc: Expr, path: readonly string[], value: Expr): Expr;
  /** Aggregate values (SQL scalars or embedded JSON) into a list, optionally distinct, ordered, filtered. */
  jsonArrayAgg(
    value: Expr,
    options?: { distinct?: boolean; order?: readonly OrderTerm[]; where?: Expr },
  ): Expr;
  /** Aggregate (key text, JSON document) pairs into an object. */
  jsonObjectAgg(key: Expr, value: Expr): Expr;
  /** An object from names (bound as text) and values (SQL scalars or embedded JSON). */
  jsonObject(pairs: readonly (readonly [string, Expr])[]): Expr;
  /** Length of a JSON list; NULL when not a list. */
  arraySize(doc: Expr): Expr;
  /** Mongo $sum of one value: a list's numbers added, a number itself, anything else 0. */
  arraySum(doc: Expr): Expr;
  /** Mongo $arrayToObject; NULL when not a list. */
  arrayToObject(doc: Expr): Expr;
  /** Mongo $objectToArray; NULL when not an object. */
  objectToArray(doc: Expr): Expr;

  // ---- ordering -------------------------------------------------------------------------------------
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

  // ---- write transactions -------------------------------------------------------------------------------
  /**
   * A write transaction's read that must hold its rows until the commit: `wait` queues behind another
   * transaction's lock (a job about to change), `skip` passes rows another one holds (housekeeping
   * batches). Unchanged where the transaction already holds the database's one write lock (SQLite).
   */
  lockRows<Q extends LockableQuery<Q>>(query: Q, mode: "wait" | "skip"): Q;

  // ---- errors -----------------------------------------------------------------------------------------
  /** A driver error classified, or null when it is not a storage failure (then it is a bug: `internal`). */
  classifyError(error: unknown): StorageFailure | null;
}
