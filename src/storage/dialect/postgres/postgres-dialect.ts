/**
 * The PostgreSQL dialect: everything the query compilers need that PostgreSQL spells differently
 * from SQLite (dialect.ts says what each piece means). JSON documents are `jsonb`; datetimes are
 * `timestamptz` and become ISO-8601 text (milliseconds, `Z`) wherever the compilers use them as text
 * or JSON, through the overloaded SQL helpers `job_text`, `job_json` and `job_ts` (migrations.ts),
 * which PostgreSQL picks by argument type and inlines.
 *
 * Text is compared in the "C" collation (byte order, ASCII-only case folding), as SQLite does.
 * Every path segment, value and pattern is a bound parameter.
 */
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type SqlBool,
  sql,
} from "kysely";
import type { Scalar } from "../../../query/ast.js";
import type { JobsDatabase } from "../../schema.js";
import type {
  Bool,
  Comparator,
  DatePart,
  Dialect,
  Expr,
  JsonKind,
  OrderTerm,
  StorageFailure,
} from "../dialect.js";
import { classifyPostgresError, isUniqueViolationOf } from "./errors.js";
import { portableRegex } from "./regex.js";

const COMPARATORS: Readonly<Record<Comparator, string>> = { lt: "<", lte: "<=", gt: ">", gte: ">=" };

/** A Kysely instance that only compiles PostgreSQL (`$1` placeholders); the store executes. */
const builder = new Kysely<JobsDatabase>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

/** The value at `path`: one `->` per segment, each a bound text key (never an array index). */
function at(doc: Expr, path: readonly string[]): Expr {
  let expr = doc;
  for (const segment of path) expr = sql`(${expr} -> ${segment}::text)`;
  return expr;
}

function typeOf(value: Expr): Expr {
  return sql`jsonb_typeof(${value})`;
}

/** The text of a JSON string (or any scalar) in the "C" collation. */
function textOf(value: Expr): Expr {
  return sql`((${value} #>> '{}') COLLATE "C")`;
}

/** `jsonb_typeof` names per JSON kind (booleans are one type there: the value tells true from false). */
function kindTest(value: Expr, kind: JsonKind): Bool {
  switch (kind) {
    case "true":
      return sql<SqlBool>`(${value} = 'true'::jsonb)`;
    case "false":
      return sql<SqlBool>`(${value} = 'false'::jsonb)`;
    default:
      return sql<SqlBool>`(${typeOf(value)} = ${kind}::text)`;
  }
}

/** A scalar as a jsonb literal (one bound parameter): jsonb equality is typed (1 = 1.0, "1" <> 1). */
function jsonbOf(value: Exclude<Scalar, null>): Expr {
  return sql`${JSON.stringify(value)}::jsonb`;
}

/** strftime directive -> PostgreSQL expression over a `timestamp` (UTC) value. */
function directive(d: string, ts: Expr): Expr {
  switch (d) {
    case "Y":
      return sql`to_char(${ts}, 'YYYY')`;
    case "m":
      return sql`to_char(${ts}, 'MM')`;
    case "d":
      return sql`to_char(${ts}, 'DD')`;
    case "H":
      return sql`to_char(${ts}, 'HH24')`;
    case "M":
      return sql`to_char(${ts}, 'MI')`;
    case "S":
      return sql`to_char(${ts}, 'SS')`;
    case "j":
      return sql`to_char(${ts}, 'DDD')`;
    case "V":
      return sql`to_char(${ts}, 'IW')`;
    case "G":
      return sql`to_char(${ts}, 'IYYY')`;
    case "u":
      return sql`to_char(${ts}, 'ID')`;
    case "U":
      // Week of year, weeks start on Sunday, days before the first Sunday are week 00 (strftime %U).
      return sql`lpad(((extract(doy FROM ${ts})::int + 6 - extract(dow FROM ${ts})::int) / 7)::text, 2, '0')`;
    case "%":
      return sql`'%'`;
    default:
      throw new Error(`date_format directive %${d} reached the PostgreSQL dialect unvalidated`);
  }
}

export const postgresDialect: Dialect = {
  name: "postgres",
  builder,

  true: sql<SqlBool>`TRUE`,
  false: sql<SqlBool>`FALSE`,
  notTrue: (expr) => sql<SqlBool>`(NOT coalesce(${expr}, FALSE))`,
  // Numbers as float8 so an integer column compares with 1.5 (as SQLite compares any number);
  // strings stay untyped so PostgreSQL reads them as the column's type (text or timestamptz).
  scalar: (value) => (typeof value === "number" ? sql`${value}::float8` : value),
  nullSafeEquals: (a, b) => sql<SqlBool>`(${a} IS NOT DISTINCT FROM ${b})`,
  floatSum: (value) => sql`coalesce(sum((${value})::float8), 0)::float8`,
  limitOffset: (limit, offset) =>
    limit === null ? sql` LIMIT ALL OFFSET ${offset}` : sql` LIMIT ${limit} OFFSET ${offset}`,

  // PostgreSQL has no dynamically typed scalar: the "scalar" of a JSON value is the jsonb value
  // itself (JSON null folded to NULL). It compares, groups and sorts within its type correctly.
  jsonScalarAt: (doc, path) => sql`nullif(${at(doc, path)}, 'null'::jsonb)`,
  jsonAt: (doc, path) => sql`nullif(${at(doc, path)}, 'null'::jsonb)`,
  jsonNumberAt: (doc, path) => {
    const v = at(doc, path);
    return sql`(CASE WHEN ${typeOf(v)} = 'number' THEN (${v})::float8 END)`;
  },
  jsonIs: (doc, path, kinds) => {
    const v = at(doc, path);
    const tests = kinds.map((k) => kindTest(v, k));
    return tests.length === 1 ? (tests[0] as Bool) : sql<SqlBool>`(${sql.join(tests, sql` OR `)})`;
  },
  jsonExists: (doc, path) => sql<SqlBool>`(${at(doc, path)} IS NOT NULL)`,
  jsonEquals: (doc, path, value) => sql<SqlBool>`(${at(doc, path)} = ${jsonbOf(value)})`,
  jsonElementEquals: (doc, path, value) => {
    const v = at(doc, path);
    return sql<SqlBool>`(${typeOf(v)} = 'array' AND EXISTS (SELECT 1 FROM jsonb_array_elements(${v}) AS "__c"("value") WHERE "__c"."value" = ${jsonbOf(
      value,
    )}))`;
  },
  jsonElementMatches: (doc, path, members) => {
    const v = at(doc, path);
    const checks = members.map(([key, m]) => {
      const member = sql`("__c"."value" -> ${key}::text)`;
      return m === null
        ? sql<SqlBool>`(${member} IS NULL OR ${member} = 'null'::jsonb)`
        : sql<SqlBool>`(${member} = ${jsonbOf(m)})`;
    });
    const all = checks.length === 0 ? sql<SqlBool>`TRUE` : sql<SqlBool>`${sql.join(checks, sql` AND `)}`;
    return sql<SqlBool>`(${typeOf(v)} = 'array' AND EXISTS (SELECT 1 FROM jsonb_array_elements(${v}) AS "__c"("value") WHERE jsonb_typeof("__c"."value") = 'object' AND ${all}))`;
  },
  jsonCompare: (doc, path, op, value) => {
    const v = at(doc, path);
    const token = sql.raw(COMPARATORS[op]);
    // CASE, not AND: PostgreSQL may evaluate AND's operands in any order, and the cast of a value
    // of another type would fail.
    if (typeof value === "number")
      return sql<SqlBool>`((CASE WHEN ${typeOf(v)} = 'number' THEN (${v})::numeric END) ${token} ${String(value)}::numeric)`;
    if (typeof value === "boolean")
      return sql<SqlBool>`((CASE WHEN ${typeOf(v)} = 'boolean' THEN (${v})::boolean END) ${token} ${value}::boolean)`;
    return sql<SqlBool>`((CASE WHEN ${typeOf(v)} = 'string' THEN ${textOf(v)} END) ${token} (${value}::text COLLATE "C"))`;
  },
  jsonSortTerms: (doc, path, desc) => {
    const v = at(doc, path);
    const t = typeOf(v);
    const direction = sql.raw(desc ? "DESC NULLS LAST" : "ASC NULLS FIRST");
    // Mongo's type order: missing/null, numbers, strings, objects, lists, booleans; then the value
    // within its type (one column per type, so no cross-type comparison is ever made).
    const rank = sql`(CASE ${t} WHEN 'number' THEN 1 WHEN 'string' THEN 2 WHEN 'object' THEN 3 WHEN 'array' THEN 4 WHEN 'boolean' THEN 5 ELSE 0 END)`;
    return [
      sql`${rank} ${direction}`,
      sql`(CASE WHEN ${t} = 'number' THEN (${v})::numeric END) ${direction}`,
      sql`(CASE WHEN ${t} = 'string' THEN ${textOf(v)} END) ${direction}`,
      sql`(CASE WHEN ${t} = 'boolean' THEN (${v})::boolean END) ${direction}`,
    ];
  },

  // Values of any SQL type become JSON through job_json (a timestamptz as ISO text with Z).
  embedJson: (doc) => sql`(${doc})::jsonb`,
  emptyObject: sql`'{}'::jsonb`,
  eachElement: (doc, path) => sql`job_elements(${at(doc, path)})`,
  eachMember: (doc) => sql`job_members(${doc})`,
  elementJson: (alias) => sql.id(alias, "value"),
  elementKey: (alias) => sql.id(alias, "key"),
  elementIsNull: (alias) => sql<SqlBool>`(${sql.id(alias, "value")} = 'null'::jsonb)`,
  jsonReplaceAt: (doc, path, value) =>
    path.length === 0
      ? sql`coalesce(job_json(${value}), 'null'::jsonb)`
      : sql`jsonb_set(${doc}, ${[...path]}::text[], coalesce(job_json(${value}), 'null'::jsonb))`,
  jsonArrayAgg: (value, options = {}) => {
    const filter = options.where ? sql` FILTER (WHERE ${options.where})` : sql``;
    const order = options.order ?? [];
    if (options.distinct && order.length > 0) {
      // PostgreSQL wants a DISTINCT aggregate ordered by its argument only: aggregate distinct
      // [sort keys..., value] tuples, then list the values in the requested order.
      const tuple = sql`jsonb_build_array(${sql.join([...order.map((t) => sql`job_json(${t.expr})`), sql`job_json(${value})`])})`;
      const terms = order.map((t, i) => ({
        expr: sql`("__d"."e" -> ${sql.lit(i)})`,
        desc: t.desc,
        nullsLast: t.nullsLast,
      }));
      return sql`(SELECT coalesce(jsonb_agg("__d"."e" -> ${sql.lit(order.length)} ORDER BY ${postgresDialect.orderList(
        terms,
      )}), '[]'::jsonb) FROM jsonb_array_elements(jsonb_agg(DISTINCT ${tuple})${filter}) AS "__d"("e"))`;
    }
    const distinct = options.distinct ? sql`DISTINCT ` : sql``;
    const orderBy = order.length > 0 ? sql` ORDER BY ${postgresDialect.orderList(order)}` : sql``;
    // jsonb_agg of no rows is NULL; SQLite's json_group_array is [].
    return sql`coalesce(jsonb_agg(${distinct}job_json(${value})${orderBy})${filter}, '[]'::jsonb)`;
  },
  jsonObjectAgg: (key, value) =>
    sql`coalesce(jsonb_object_agg(${key}, coalesce(job_json(${value}), 'null'::jsonb)) FILTER (WHERE ${key} IS NOT NULL), '{}'::jsonb)`,
  jsonObject: (pairs) => {
    if (pairs.length === 0) return sql`'{}'::jsonb`;
    // jsonb_build_object takes at most 100 arguments: 50 pairs per call, joined with ||.
    const chunks: Expr[] = [];
    for (let i = 0; i < pairs.length; i += 50) {
      const args = pairs.slice(i, i + 50).map(([name, value]) => sql`${name}::text, job_json(${value})`);
      chunks.push(sql`jsonb_build_object(${sql.join(args)})`);
    }
    return chunks.length === 1 ? (chunks[0] as Expr) : sql`(${sql.join(chunks, sql` || `)})`;
  },
  arraySize: (doc) => sql`(CASE WHEN ${typeOf(doc)} = 'array' THEN jsonb_array_length(${doc}) END)`,
  arraySum: (doc) =>
    sql`(CASE ${typeOf(doc)} WHEN 'array' THEN (SELECT coalesce(sum(("__x")::float8), 0) FROM jsonb_array_elements(${doc}) AS "__s"("__x") WHERE jsonb_typeof("__x") = 'number') WHEN 'number' THEN (${doc})::float8 ELSE 0 END)`,
  arrayToObject: (doc) =>
    sql`(CASE WHEN ${typeOf(doc)} = 'array' THEN (SELECT coalesce(jsonb_object_agg("__k", coalesce("__v", 'null'::jsonb) ORDER BY "__i"), '{}'::jsonb) FROM (SELECT CASE jsonb_typeof("__x") WHEN 'array' THEN "__x" ->> 0 ELSE "__x" ->> 'k' END AS "__k", CASE jsonb_typeof("__x") WHEN 'array' THEN "__x" -> 1 ELSE "__x" -> 'v' END AS "__v", "__i" FROM jsonb_array_elements(${doc}) WITH ORDINALITY AS "__a"("__x", "__i") WHERE jsonb_typeof("__x") IN ('array', 'object')) AS "__p" WHERE "__k" IS NOT NULL) END)`,
  objectToArray: (doc) =>
    sql`(CASE WHEN ${typeOf(doc)} = 'object' THEN (SELECT coalesce(jsonb_agg(jsonb_build_object('k', "__m"."key", 'v', "__m"."value") ORDER BY "__m"."idx"), '[]'::jsonb) FROM jsonb_each(${doc}) WITH ORDINALITY AS "__m"("key", "value", "idx")) END)`,

  // Mongo's null order: NULLs first ascending, last descending (PostgreSQL's default is the opposite).
  orderList: (terms: readonly OrderTerm[]) =>
    sql.join(
      terms.map((t) => {
        const nulls = t.nullsLast || t.desc ? "NULLS LAST" : "NULLS FIRST";
        return sql`${t.expr} ${sql.raw(t.desc ? "DESC" : "ASC")} ${sql.raw(nulls)}`;
      }),
    ),

  containsCI: (expr, needle) =>
    sql<SqlBool>`(strpos(lower(job_text(${expr}) COLLATE "C"), lower(${needle}::text COLLATE "C")) > 0)`,
  // The parser admits only the portable pattern subset; regex.ts makes `~*` read it as JavaScript's /i.
  regexMatches: (expr, pattern) =>
    sql<SqlBool>`((job_text(${expr}) COLLATE "C") ~* ${portableRegex(pattern)}::text)`,

  datePart: (part: DatePart, value) =>
    sql`extract(${sql.raw(part)} FROM job_ts(${value}) AT TIME ZONE 'UTC')::integer`,
  formatDatetime: (format, value) => {
    const ts = sql`(job_ts(${value}) AT TIME ZONE 'UTC')`;
    const parts: Expr[] = [];
    let literal = "";
    for (let i = 0; i < format.length; i++) {
      const ch = format[i] as string;
      if (ch === "%" && i + 1 < format.length) {
        if (literal) parts.push(sql`${literal}::text`);
        literal = "";
        parts.push(directive(format[i + 1] as string, ts));
        i++;
      } else literal += ch;
    }
    if (literal) parts.push(sql`${literal}::text`);
    // NULL when the value is not a datetime (any part NULL makes the whole NULL, as strftime).
    return sql`(CASE WHEN job_ts(${value}) IS NOT NULL THEN (${sql.join(parts, sql` || `)}) END)`;
  },

  lockRows: (query, mode) => (mode === "skip" ? query.forUpdate().skipLocked() : query.forUpdate()),

  classifyError: (error): StorageFailure | null => {
    if (isUniqueViolationOf(error, "jobs_by_idempotency_key")) return { kind: "key_taken" };
    const classified = classifyPostgresError(error);
    if (!classified) return null;
    const kind = classified.status;
    if (kind === "deadline_exceeded" || kind === "resource_exhausted" || kind === "unavailable")
      return { kind, message: classified.message };
    return null;
  },
};
