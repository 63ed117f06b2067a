/**
 * Everything that differs between SQL dialects, for SQLite. The PostgreSQL scale-out path adds a
 * sibling `postgres.ts` exporting the same names (jsonb operators, `~*`, `position(lower())`).
 *
 * Queries are built with Kysely and compiled to `{sql, parameters}` without a driver; the store
 * executes them with better-sqlite3 prepared statements (synchronous, cached by SQL text), so a page
 * and its count run in one transaction on one snapshot with nothing interleaved.
 */
import type Database from "better-sqlite3";
import {
  DummyDriver,
  Kysely,
  type RawBuilder,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  sql,
} from "kysely";
import type { Scalar } from "../../query/ast.js";
import { linearRegex } from "../../query/linear-regex.js";
import type { JobsDatabase } from "../schema.js";

/** A Kysely instance that only compiles (never executes). */
export const builder = new Kysely<JobsDatabase>({
  dialect: {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  },
});

/** User functions the compiled SQL relies on. */
export function registerSqliteFunctions(db: Database.Database): void {
  // Case-insensitive JavaScript regex (upstream: Mongo $regex with $options 'i'), run on V8's
  // linear-time engine so no accepted pattern can stall the process on unlucky data (linear-regex.ts;
  // the query parser has already refused what that engine cannot run).
  db.function("regexp_i", { deterministic: true }, (pattern: unknown, value: unknown) => {
    if (typeof pattern !== "string" || value === null || value === undefined) return 0;
    return linearRegex(pattern).test(String(value)) ? 1 : 0;
  });
}

/** SQLite JSON path for validated segments: `$."a"."b"` (segments are whitelisted, no quotes). */
export function jsonPath(segments: readonly string[]): string {
  return `$${segments.map((s) => `."${s}"`).join("")}`;
}

/** The SQL value at a path inside a json column (NULL when missing). */
export function jsonExtract(column: string, segments: readonly string[]): RawBuilder<unknown> {
  return sql`json_extract(${sql.ref(column)}, ${jsonPath(segments)})`;
}

/** The JSON type name at a path ('null', 'true', 'false', 'integer', 'real', 'text', 'array', 'object'), NULL if missing. */
export function jsonType(column: string, segments: readonly string[]): RawBuilder<string | null> {
  return sql<string | null>`json_type(${sql.ref(column)}, ${jsonPath(segments)})`;
}

/** Case-insensitive literal substring test (no LIKE, so % and _ in the needle are literal). */
export function containsCI(expr: RawBuilder<unknown>, needle: string): RawBuilder<number> {
  return sql<number>`instr(lower(${expr}), lower(${needle})) > 0`;
}

/** Case-insensitive regex test through the `regexp_i` user function. */
export function regexMatches(expr: RawBuilder<unknown>, pattern: string): RawBuilder<number> {
  return sql<number>`regexp_i(${pattern}, ${expr}) = 1`;
}

/** SQLite's `json_type` names a JSON scalar of this JS type can have. */
export function jsonTypes(value: Scalar): readonly string[] {
  if (typeof value === "number") return ["integer", "real"];
  if (typeof value === "boolean") return value ? ["true"] : ["false"];
  return ["text"];
}

/** A scalar as SQLite compares it with a `json_extract` result (JSON booleans extract as 1 / 0). */
export function sqlValue(value: Exclude<Scalar, null>): string | number {
  return typeof value === "boolean" ? (value ? 1 : 0) : value;
}
