/**
 * The `Dialect` for SQLite (better-sqlite3). JSON is stored and carried as JSON text; inside the
 * stat pipeline JSON `null` is folded into SQL NULL (`nullif(.., 'null')`). Booleans are 0/1.
 * Regex runs in the `regexp_i` user function (`functions.ts`); dates are ISO text read by strftime.
 */
import {
  DummyDriver,
  Kysely,
  type SqlBool,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  sql,
} from "kysely";
import type { Scalar } from "../../../query/ast.js";
import type { JobsDatabase } from "../../schema.js";
import type { Bool, Comparator, Dialect, Expr, JsonKind, OrderTerm } from "../dialect.js";
import { classifySqliteError } from "./classify-error.js";

/** SQLite JSON path for validated segments: `$."a"."b"` (segments are whitelisted, no quotes). */
export function jsonPath(segments: readonly string[]): string {
  return `$${segments.map((s) => `."${s}"`).join("")}`;
}

/** `json_type` names per JSON kind. */
const TYPE_NAMES: Record<JsonKind, readonly string[]> = {
  null: ["null"],
  true: ["true"],
  false: ["false"],
  number: ["integer", "real"],
  string: ["text"],
  array: ["array"],
  object: ["object"],
};

const COMPARATORS: Record<Comparator, string> = { lt: "<", lte: "<=", gt: ">", gte: ">=" };

function kindsOf(value: Exclude<Scalar, null>): readonly JsonKind[] {
  if (typeof value === "number") return ["number"];
  if (typeof value === "boolean") return [value ? "true" : "false"];
  return ["string"];
}

/** JSON booleans extract as 1 / 0. */
function scalar(value: Exclude<Scalar, null>): string | number {
  return typeof value === "boolean" ? (value ? 1 : 0) : value;
}

function typeIn(type: Expr, kinds: readonly JsonKind[]): Bool {
  const names = kinds.flatMap((k) => TYPE_NAMES[k]);
  return names.length === 1
    ? sql<SqlBool>`${type} = ${names[0]}`
    : sql<SqlBool>`${type} IN (${sql.join(names.map((n) => sql`${n}`))})`;
}

/** Typed equality given a JSON type and an SQL value expression. */
function typedEquals(type: Expr, value: Expr, v: Exclude<Scalar, null>): Bool {
  if (typeof v === "boolean") return typeIn(type, kindsOf(v));
  return sql<SqlBool>`(${typeIn(type, kindsOf(v))} AND ${value} = ${scalar(v)})`;
}

const jsonType = (doc: Expr, path: readonly string[]): Expr => sql`json_type(${doc}, ${jsonPath(path)})`;
const jsonExtract = (doc: Expr, path: readonly string[]): Expr => sql`(${doc} ->> ${jsonPath(path)})`;

function orderList(terms: readonly OrderTerm[]): Expr {
  // SQLite sorts NULLs first ascending and last descending, as Mongo's null does.
  return sql.join(
    terms.map(
      (t) => sql`${t.expr} ${sql.raw(t.desc ? "DESC" : "ASC")}${sql.raw(t.nullsLast ? " NULLS LAST" : "")}`,
    ),
  );
}

/** JSON text of the current row of `json_each(...) AS alias` (booleans stay booleans). */
function elementJson(alias: string): Expr {
  const type = sql.id(alias, "type");
  const value = sql.id(alias, "value");
  return sql`(CASE ${type} WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN 'null' WHEN 'array' THEN ${value} WHEN 'object' THEN ${value} ELSE json_quote(${value}) END)`;
}

const DATE_PARTS = { year: "%Y", month: "%m", day: "%d" } as const;

export const sqliteDialect: Dialect = {
  name: "sqlite",
  builder: new Kysely<JobsDatabase>({
    dialect: {
      createAdapter: () => new SqliteAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new SqliteIntrospector(db),
      createQueryCompiler: () => new SqliteQueryCompiler(),
    },
  }),

  true: sql<SqlBool>`1`,
  false: sql<SqlBool>`0`,
  notTrue: (expr) => sql<SqlBool>`coalesce(${expr}, 0) = 0`,
  scalar,
  nullSafeEquals: (a, b) => sql<SqlBool>`${a} IS ${b}`,
  // total(): a float sum that never overflows and is 0.0 over no rows.
  floatSum: (value) => sql`total(${value})`,
  limitOffset: (limit, offset) =>
    limit === null ? sql` LIMIT -1 OFFSET ${offset}` : sql` LIMIT ${limit} OFFSET ${offset}`,

  jsonScalarAt: jsonExtract,
  jsonAt: (doc, path) => sql`nullif(${doc} -> ${jsonPath(path)}, 'null')`,
  jsonNumberAt: (doc, path) =>
    sql`(CASE WHEN json_type(${doc}, ${jsonPath(path)}) IN ('integer', 'real') THEN ${doc} ->> ${jsonPath(path)} END)`,
  jsonIs: (doc, path, kinds) => typeIn(jsonType(doc, path), kinds),
  jsonExists: (doc, path) => sql<SqlBool>`${jsonType(doc, path)} IS NOT NULL`,
  jsonEquals: (doc, path, v) => typedEquals(jsonType(doc, path), jsonExtract(doc, path), v),
  jsonElementEquals: (doc, path, v) =>
    sql<SqlBool>`(${jsonType(doc, path)} = 'array' AND EXISTS (SELECT 1 FROM json_each(${doc}, ${jsonPath(
      path,
    )}) AS "__c" WHERE ${typedEquals(sql`"__c"."type"`, sql`"__c"."value"`, v)}))`,
  jsonElementMatches: (doc, path, members) => {
    const checks = members.map(([key, v]) => {
      const at = `$."${key}"`;
      if (v === null) return sql<SqlBool>`json_extract("__c"."value", ${at}) IS NULL`;
      return typedEquals(sql`json_type("__c"."value", ${at})`, sql`json_extract("__c"."value", ${at})`, v);
    });
    const all = checks.length === 0 ? sql<SqlBool>`1` : sql<SqlBool>`${sql.join(checks, sql` AND `)}`;
    return sql<SqlBool>`(${jsonType(doc, path)} = 'array' AND EXISTS (SELECT 1 FROM json_each(${doc}, ${jsonPath(
      path,
    )}) AS "__c" WHERE "__c"."type" = 'object' AND ${all}))`;
  },
  jsonCompare: (doc, path, op, v) => {
    // Booleans order false < true among themselves only.
    const kinds: readonly JsonKind[] = typeof v === "boolean" ? ["true", "false"] : kindsOf(v);
    return sql<SqlBool>`(${typeIn(jsonType(doc, path), kinds)} AND ${jsonExtract(doc, path)} ${sql.raw(
      COMPARATORS[op],
    )} ${scalar(v)})`;
  },
  jsonSortTerms: (doc, path, desc) => {
    // json_extract alone would tie booleans with numbers (1/0) and sort objects/lists as text.
    const type = jsonType(doc, path);
    const direction = sql.raw(desc ? "DESC" : "ASC");
    const rank = sql`CASE ${type} WHEN 'integer' THEN 1 WHEN 'real' THEN 1 WHEN 'text' THEN 2 WHEN 'object' THEN 3 WHEN 'array' THEN 4 WHEN 'true' THEN 5 WHEN 'false' THEN 5 ELSE 0 END`;
    const value = sql`CASE WHEN ${type} IN ('object', 'array') THEN NULL ELSE ${jsonExtract(doc, path)} END`;
    return [sql`${rank} ${direction}`, sql`${value} ${direction}`];
  },

  embedJson: (doc) => sql`json(${doc})`,
  emptyObject: sql`'{}'`,
  eachElement: (doc, path) => {
    const p = jsonPath(path);
    return sql`json_each(CASE coalesce(json_type(${doc}, ${p}), 'null') WHEN 'array' THEN ${doc} -> ${p} WHEN 'null' THEN '[]' ELSE json_array(${doc} -> ${p}) END)`;
  },
  eachMember: (doc) => sql`json_each(CASE WHEN json_type(${doc}) = 'object' THEN ${doc} ELSE '{}' END)`,
  elementJson,
  elementKey: (alias) => sql.id(alias, "key"),
  elementIsNull: (alias) => sql<SqlBool>`${sql.id(alias, "type")} = 'null'`,
  jsonReplaceAt: (doc, path, value) => sql`json_set(${doc}, ${jsonPath(path)}, json(${value}))`,
  jsonArrayAgg: (value, options = {}) => {
    const distinct = options.distinct ? sql`DISTINCT ` : sql``;
    const order =
      options.order && options.order.length > 0 ? sql` ORDER BY ${orderList(options.order)}` : sql``;
    const filter = options.where ? sql` FILTER (WHERE ${options.where})` : sql``;
    return sql`json_group_array(${distinct}${value}${order})${filter}`;
  },
  jsonObjectAgg: (key, value) => sql`json_group_object(${key}, json(${value}))`,
  jsonObject: (pairs) => sql`json_object(${sql.join(pairs.map(([name, value]) => sql`${name}, ${value}`))})`,
  arraySize: (doc) => sql`(CASE WHEN json_type(${doc}) = 'array' THEN json_array_length(${doc}) END)`,
  arraySum: (doc) =>
    sql`(CASE json_type(${doc}) WHEN 'array' THEN (SELECT total("__x"."value") FROM json_each(${doc}) AS "__x" WHERE "__x"."type" IN ('integer', 'real')) WHEN 'integer' THEN ${doc} ->> '$' WHEN 'real' THEN ${doc} ->> '$' ELSE 0 END)`,
  arrayToObject: (doc) =>
    sql`(CASE WHEN json_type(${doc}) = 'array' THEN (SELECT json_group_object(CASE "__x"."type" WHEN 'array' THEN "__x"."value" ->> '$[0]' ELSE "__x"."value" ->> '$.k' END, json(CASE "__x"."type" WHEN 'array' THEN "__x"."value" -> '$[1]' ELSE "__x"."value" -> '$.v' END) ORDER BY "__x"."id") FROM json_each(${doc}) AS "__x" WHERE "__x"."type" IN ('array', 'object')) END)`,
  objectToArray: (doc) =>
    sql`(CASE WHEN json_type(${doc}) = 'object' THEN (SELECT json_group_array(json_object('k', "__x"."key", 'v', json(${elementJson("__x")})) ORDER BY "__x"."id") FROM json_each(${doc}) AS "__x") END)`,

  orderList,

  containsCI: (expr, needle) => sql<SqlBool>`instr(lower(${expr}), lower(${needle})) > 0`,
  regexMatches: (expr, pattern) => sql<SqlBool>`regexp_i(${pattern}, ${expr}) = 1`,

  datePart: (part, value) => sql`CAST(strftime(${DATE_PARTS[part]}, ${value}) AS INTEGER)`,
  formatDatetime: (format, value) => sql`strftime(${format}, ${value})`,

  // BEGIN IMMEDIATE holds the database's write lock for the whole transaction: no row can change under it.
  lockRows: (query) => query,

  classifyError: classifySqliteError,
};
