/**
 * The pure compilers (compile-where.ts, compile-stat.ts) per dialect, without a database: for each
 * case, the SQL pieces that carry its semantics on SQLite and on PostgreSQL, the bound parameters,
 * and that every piece of user text (values, JSON path segments, patterns, names) reaches the
 * database only as a bound parameter, never as SQL text. The answers themselves are proven on both
 * databases by test/query.test.ts, test/stat.test.ts and the differential suites.
 */
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import type { ListQuery } from "../src/query/ast.js";
import { parseListQuery } from "../src/query/parse-query.js";
import { parseStatQuery } from "../src/query/parse-stat.js";
import { compileStat } from "../src/storage/compile-stat.js";
import { compileOrder, compileWhere } from "../src/storage/compile-where.js";
import type { Dialect } from "../src/storage/dialect/dialect.js";
import { postgresDialect } from "../src/storage/dialect/postgres/postgres-dialect.js";
import { sqliteDialect } from "../src/storage/dialect/sqlite/sqlite-dialect.js";

const CTX = { now: new Date("2026-03-04T05:06:07.089Z"), maxPageSize: 500 };
const DIALECTS = { sqlite: sqliteDialect, postgres: postgresDialect } as const;
type DialectName = keyof typeof DIALECTS;

/** What one dialect must emit: SQL pieces (in this order) and the parameters (exactly, or a subset). */
interface Emitted {
  readonly sql: readonly string[];
  readonly params?: readonly unknown[];
  readonly paramsInclude?: readonly unknown[];
}

interface Case {
  /** What the case proves. */
  readonly name: string;
  /** A list query (`filter`, `filter_or`, `keyword`, `sort`, `page`) or a stat query (`aggregate`/`distinct`). */
  readonly query: Record<string, unknown>;
  /** User text in the query that must never appear in SQL text. */
  readonly user: readonly string[];
  readonly sqlite: Emitted;
  readonly postgres: Emitted;
}

const KEYWORD_FIELDS = ["job_id", "error_message"] as const;

interface Statement {
  readonly sql: string;
  readonly parameters: readonly unknown[];
}

/** The statements a query compiles to, as the stores build them (list: where, order, page; stat: its plan). */
function compile(d: Dialect, query: Record<string, unknown>): Statement[] {
  if ("aggregate" in query || "distinct" in query) {
    const plan = compileStat(d, parseStatQuery(query, CTX), { maxRows: 500 });
    return plan.total ? [plan.rows, plan.total] : [plan.rows];
  }
  const list: ListQuery = parseListQuery(query, CTX, KEYWORD_FIELDS);
  // The stores bound an unpaged list by the unpaged maximum; here only a requested page is shown.
  const page = list.page.limit === null ? sql`` : d.limitOffset(list.page.limit, list.page.offset);
  return [
    sql`SELECT * FROM "jobs" WHERE ${compileWhere(d, list.where)} ORDER BY ${compileOrder(d, list.sort)}${page}`.compile(
      d.builder,
    ),
  ];
}

const f = (k: string, o: string, v: unknown) => ({ filter: [{ k, v, o }] });
// Distinctive user text: a quote, a statement separator and a comment, so any leak would be SQL.
const EVIL = "x'); DROP TABLE jobs; --";

const CASES: Case[] = [
  {
    name: "eq on a column binds the value",
    query: f("status", "eq", "SUCCESS"),
    user: ["SUCCESS"],
    sqlite: { sql: ['"status" = ?'], params: ["SUCCESS"] },
    postgres: { sql: ['"status" = $1'], params: ["SUCCESS"] },
  },
  {
    name: "eq null matches null or missing",
    query: f("error_code", "eq", null),
    user: [],
    sqlite: { sql: ['"error_code" IS NULL'], params: [] },
    postgres: { sql: ['"error_code" IS NULL'], params: [] },
  },
  {
    name: "not null means the field is set",
    query: f("error_code", "not", null),
    user: [],
    sqlite: { sql: ['"error_code" IS NOT NULL'], params: [] },
    postgres: { sql: ['"error_code" IS NOT NULL'], params: [] },
  },
  {
    name: "not a value also matches a missing field (NULL counts as not true)",
    query: f("plugin_id", "not", EVIL),
    user: [EVIL],
    sqlite: { sql: ['coalesce("plugin_id" = ?, 0) = 0'], params: [EVIL] },
    postgres: { sql: ['NOT coalesce("plugin_id" = $1, FALSE)'], params: [EVIL] },
  },
  {
    name: "lt / lte / gt / gte on a number column use fixed operator tokens",
    query: {
      filter: [
        { k: "progress_percent", v: 10, o: "lt" },
        { k: "progress_percent", v: 20, o: "lte" },
        { k: "progress_percent", v: 30, o: "gt" },
        { k: "progress_percent", v: 40, o: "gte" },
      ],
    },
    user: [],
    sqlite: {
      sql: [
        '"progress_percent" < ?',
        '"progress_percent" <= ?',
        '"progress_percent" > ?',
        '"progress_percent" >= ?',
      ],
      params: [10, 20, 30, 40],
    },
    postgres: {
      sql: [
        '"progress_percent" < $1',
        '"progress_percent" <= $2',
        '"progress_percent" > $3',
        '"progress_percent" >= $4',
      ],
      params: [10, 20, 30, 40],
    },
  },
  {
    name: "datetime_gte becomes a comparison with the storage form of the instant",
    query: f("created_at", "datetime_gte", "2025-01-02T03:04:05+01:00"),
    user: [],
    sqlite: { sql: ['"created_at" >= ?'], params: ["2025-01-02T02:04:05.000Z"] },
    postgres: { sql: ['"created_at" >= $1'], params: ["2025-01-02T02:04:05.000Z"] },
  },
  {
    name: "timediff resolves against the request's now",
    query: f("created_at", "timediff_lt", "now/d - 1d"),
    user: [],
    sqlite: { sql: ['"created_at" < ?'], params: ["2026-03-03T00:00:00.000Z"] },
    postgres: { sql: ['"created_at" < $1'], params: ["2026-03-03T00:00:00.000Z"] },
  },
  {
    name: "exists false on a column is IS NULL",
    query: f("finished_at", "exists", false),
    user: [],
    sqlite: { sql: ['"finished_at" IS NULL'], params: [] },
    postgres: { sql: ['"finished_at" IS NULL'], params: [] },
  },
  {
    name: "contain is a case-insensitive literal substring test with the needle bound",
    query: f("error_message", "contain", "50%_off"),
    user: ["50%_off"],
    sqlite: { sql: ['instr(lower("error_message"), lower(?)) > 0'], params: ["50%_off"] },
    postgres: {
      sql: ['strpos(lower(job_text("error_message") COLLATE "C"), lower($1::text COLLATE "C")) > 0'],
      params: ["50%_off"],
    },
  },
  {
    name: "not_contain also matches a missing field",
    query: f("error_message", "not_contain", EVIL),
    user: [EVIL],
    sqlite: { sql: ['coalesce(instr(lower("error_message"), lower(?)) > 0, 0) = 0'], params: [EVIL] },
    postgres: { sql: ["NOT coalesce((strpos(lower(", "FALSE)"], params: [EVIL] },
  },
  {
    name: "in binds each value and adds IS NULL for a null in the list",
    query: f("status", "in", ["SUCCESS", EVIL, null]),
    user: ["SUCCESS", EVIL],
    sqlite: { sql: ['"status" IN (?, ?)', '"status" IS NULL'], params: ["SUCCESS", EVIL] },
    postgres: { sql: ['"status" IN ($1, $2)', '"status" IS NULL'], params: ["SUCCESS", EVIL] },
  },
  {
    name: "not_in is the negated in, also matching missing",
    query: f("plugin_id", "not_in", ["p1", "p2"]),
    user: ["p1", "p2"],
    sqlite: { sql: ['coalesce("plugin_id" IN (?, ?), 0) = 0'], params: ["p1", "p2"] },
    postgres: { sql: ['NOT coalesce("plugin_id" IN ($1, $2), FALSE)'], params: ["p1", "p2"] },
  },
  {
    name: "contain_in ORs one substring test per value",
    query: f("error_message", "contain_in", ["alpha", "beta"]),
    user: ["alpha", "beta"],
    sqlite: { sql: ["instr(lower(", " OR ", "instr(lower("], params: ["alpha", "beta"] },
    postgres: { sql: ["strpos(lower(", " OR ", "strpos(lower("], params: ["alpha", "beta"] },
  },
  {
    name: "not_contain_in matches when the field contains none of the values",
    query: f("error_message", "not_contain_in", ["alpha", "beta"]),
    user: ["alpha", "beta"],
    sqlite: {
      sql: ["coalesce(instr(lower(", ", 0) = 0 AND coalesce(instr(lower(", ", 0) = 0"],
      params: ["alpha", "beta"],
    },
    postgres: {
      sql: ["NOT coalesce((strpos(lower(", "FALSE)) AND (NOT coalesce((strpos(lower(", "FALSE)"],
      params: ["alpha", "beta"],
    },
  },
  {
    name: "regex binds the pattern: SQLite's linear regexp_i, PostgreSQL's ~* in the C collation",
    query: f("job_id", "regex", "^job-[a-f]+'x"),
    user: ["^job-[a-f]+'x"],
    sqlite: { sql: ['regexp_i(?, "job_id") = 1'], params: ["^job-[a-f]+'x"] },
    postgres: { sql: ['(job_text("job_id") COLLATE "C") ~* $1::text'], params: ["^job-[a-f]+'x"] },
  },
  {
    name: "regex \\d is written as [0-9] for PostgreSQL (ASCII digits only, as JavaScript)",
    query: f("job_id", "regex", "a\\d"),
    user: [],
    sqlite: { sql: ["regexp_i(?"], params: ["a\\d"] },
    postgres: { sql: ["~* $1::text"], params: ["a[0-9]"] },
  },
  {
    name: "regex_in ORs one regex per pattern",
    query: f("job_id", "regex_in", ["^a", "b$"]),
    user: ["^a", "b$"],
    sqlite: { sql: ["regexp_i(?", " OR ", "regexp_i(?"], params: ["^a", "b$"] },
    postgres: { sql: ["~* $1::text", " OR ", "~* $2::text"], params: ["^a", "b$"] },
  },
  {
    name: "eq on an options path is typed and also matches a list element; path segments are bound",
    query: f("options.usr_seg.inner_seg", "eq", EVIL),
    user: [EVIL, "usr_seg", "inner_seg"],
    sqlite: {
      sql: ['json_type("options", ?) = ?', '("options" ->> ?) = ?', 'json_each("options", ?)'],
      params: [
        '$."usr_seg"."inner_seg"',
        "text",
        '$."usr_seg"."inner_seg"',
        EVIL,
        '$."usr_seg"."inner_seg"',
        '$."usr_seg"."inner_seg"',
        "text",
        EVIL,
      ],
    },
    postgres: {
      sql: ['(("options" -> $1::text) -> $2::text) = $3::jsonb', "jsonb_array_elements("],
      params: [
        "usr_seg",
        "inner_seg",
        JSON.stringify(EVIL),
        "usr_seg",
        "inner_seg",
        "usr_seg",
        "inner_seg",
        JSON.stringify(EVIL),
      ],
    },
  },
  {
    name: "eq null on an options path matches JSON null or missing",
    query: f("options.usr_seg", "eq", null),
    user: ["usr_seg"],
    sqlite: { sql: ["IS NULL"], params: ['$."usr_seg"'] },
    postgres: { sql: ["IS NULL"], paramsInclude: ["usr_seg"] },
  },
  {
    name: "a number on an options path compares only with JSON numbers",
    query: f("options.retry", "gt", 2),
    user: [],
    sqlite: {
      sql: ['json_type("options", ?) IN (?, ?) AND ("options" ->> ?) > ?'],
      params: ['$."retry"', "integer", "real", '$."retry"', 2],
    },
    postgres: { sql: ["jsonb_typeof(", "'number'", "> $"], paramsInclude: ["retry"] },
  },
  {
    name: "exists on an options path tests the key, not its value",
    query: f("options.usr_seg", "exists", true),
    user: ["usr_seg"],
    sqlite: { sql: ["json_type(", "IS NOT NULL"], params: ['$."usr_seg"'] },
    postgres: { sql: ['("options" -> $1::text) IS NOT NULL'], params: ["usr_seg"] },
  },
  {
    name: "contain on an options path matches only JSON strings",
    query: f("options.usr_seg", "contain", "needle"),
    user: ["usr_seg", "needle"],
    sqlite: { sql: ["json_type(", "instr(lower("], paramsInclude: ['$."usr_seg"', "text", "needle"] },
    postgres: {
      sql: ['jsonb_typeof(("options" -> $1::text)) = $2::text', "strpos(lower("],
      params: ["usr_seg", "string", "usr_seg", "needle"],
    },
  },
  {
    name: "match tests the members of a list element, names and values bound",
    query: f("options.usr_list", "match", { usr_member: EVIL }),
    user: ["usr_list", "usr_member", EVIL],
    sqlite: { sql: ["json_each("], paramsInclude: ['$."usr_list"', EVIL] },
    postgres: { sql: ["jsonb_array_elements("], paramsInclude: ["usr_list", "usr_member"] },
  },
  {
    name: "filter_or is ORed, then ANDed with filter",
    query: {
      filter: [{ k: "status", v: "FAILURE", o: "eq" }],
      filter_or: [
        { k: "plugin_id", v: "p1", o: "eq" },
        { k: "plugin_id", v: "p2", o: "eq" },
      ],
    },
    user: ["FAILURE", "p1", "p2"],
    sqlite: {
      sql: ['"status" = ? AND ("plugin_id" = ? OR "plugin_id" = ?)'],
      params: ["FAILURE", "p1", "p2"],
    },
    postgres: {
      sql: ['"status" = $1 AND ("plugin_id" = $2 OR "plugin_id" = $3)'],
      params: ["FAILURE", "p1", "p2"],
    },
  },
  {
    name: "keyword: every word is a bound substring test on every keyword field",
    query: { keyword: `alpha ${EVIL}` },
    user: ["alpha", "x');", "DROP"],
    sqlite: {
      sql: ['instr(lower("job_id"), lower(?))', 'instr(lower("error_message"), lower(?))'],
      params: [
        "alpha",
        "x');",
        "DROP",
        "TABLE",
        "jobs;",
        "--",
        "alpha",
        "x');",
        "DROP",
        "TABLE",
        "jobs;",
        "--",
      ],
    },
    postgres: {
      sql: ['strpos(lower(job_text("job_id")', 'strpos(lower(job_text("error_message")'],
      params: [
        "alpha",
        "x');",
        "DROP",
        "TABLE",
        "jobs;",
        "--",
        "alpha",
        "x');",
        "DROP",
        "TABLE",
        "jobs;",
        "--",
      ],
    },
  },
  {
    name: "no sort: newest first, seq as the tiebreaker",
    query: {},
    user: [],
    sqlite: { sql: ['ORDER BY "created_at" DESC, "seq" DESC'], params: [] },
    postgres: { sql: ['ORDER BY "created_at" DESC, "seq" DESC'], params: [] },
  },
  {
    name: "sort on a nullable column puts NULLs first ascending (SQLite's default, explicit on PostgreSQL)",
    query: { sort: [{ key: "finished_at" }] },
    user: [],
    sqlite: { sql: ['ORDER BY "finished_at" ASC, "seq" ASC'], params: [] },
    postgres: { sql: ['ORDER BY "finished_at" ASC NULLS FIRST, "seq" ASC'], params: [] },
  },
  {
    name: "sort descending puts NULLs last",
    query: { sort: [{ key: "finished_at", desc: true }] },
    user: [],
    sqlite: { sql: ['"finished_at" DESC'], params: [] },
    postgres: { sql: ['"finished_at" DESC NULLS LAST'], params: [] },
  },
  {
    name: "sort on an options path ranks JSON types in Mongo's order, then values; the path is bound",
    query: { sort: [{ key: "options.usr_seg", desc: true }] },
    user: ["usr_seg"],
    sqlite: {
      sql: ["CASE json_type(\"options\", ?) WHEN 'integer' THEN 1", "DESC", '"seq" ASC'],
      paramsInclude: ['$."usr_seg"'],
    },
    postgres: {
      sql: [
        "CASE jsonb_typeof((\"options\" -> $1::text)) WHEN 'number' THEN 1",
        "DESC NULLS LAST",
        '"seq" ASC',
      ],
      paramsInclude: ["usr_seg"],
    },
  },
  {
    name: "page: start is 1-based, limit and offset are bound",
    query: { page: { start: 21, limit: 10 } },
    user: [],
    sqlite: { sql: [" LIMIT ? OFFSET ?"], params: [10, 20] },
    postgres: { sql: [" LIMIT $1 OFFSET $2"], params: [10, 20] },
  },
  // ---- stat -------------------------------------------------------------------------------------------
  {
    name: "stat group: keys and field names are quoted identifiers or bound, never SQL text",
    query: {
      aggregate: [
        {
          group: {
            keys: [{ key: "status", name: "usr_key" }],
            fields: [
              { key: "duration_seconds", name: "usr_total", operator: "sum" },
              { name: "usr_n", operator: "count" },
            ],
          },
        },
      ],
    },
    user: [],
    sqlite: { sql: ['AS "usr_key"', 'total("g"."__v4") AS "usr_total"', 'count(*) AS "usr_n"', "GROUP BY"] },
    postgres: {
      sql: [
        'AS "usr_key"',
        'coalesce(sum(("g"."__v4")::float8), 0)::float8 AS "usr_total"',
        'count(*) AS "usr_n"',
        "GROUP BY",
      ],
    },
  },
  {
    name: "stat group by options path: the path is bound",
    query: {
      aggregate: [
        {
          group: {
            keys: [{ key: "options.usr_seg", name: "k" }],
            fields: [{ name: "n", operator: "count" }],
          },
        },
      ],
    },
    user: ["usr_seg"],
    sqlite: { sql: ["GROUP BY"], paramsInclude: ['$."usr_seg"'] },
    postgres: { sql: ["GROUP BY"], paramsInclude: ["usr_seg"] },
  },
  {
    name: "stat date_format year/month/day is an integer date part",
    query: {
      aggregate: [
        {
          group: {
            keys: [
              { key: "created_at", name: "y", date_format: "year" },
              { key: "created_at", name: "m", date_format: "month" },
              { key: "created_at", name: "d", date_format: "day" },
            ],
          },
        },
      ],
    },
    user: [],
    sqlite: { sql: ['CAST(strftime(?, "p"."created_at") AS INTEGER)'], paramsInclude: ["%Y", "%m", "%d"] },
    postgres: {
      sql: [
        'extract(year FROM job_ts("p"."created_at") AT TIME ZONE \'UTC\')::integer',
        "extract(month FROM",
        "extract(day FROM",
      ],
    },
  },
  {
    name: "stat date_format with a strftime pattern: strftime with the format bound; to_char per directive, literals bound",
    query: {
      aggregate: [{ group: { keys: [{ key: "created_at", name: "day", date_format: "%Y-%m-%d" }] } }],
    },
    user: [],
    sqlite: { sql: ['strftime(?, "p"."created_at")'], params: ["%Y-%m-%d", 501, 0] },
    postgres: {
      sql: [
        "to_char((job_ts(\"p\".\"created_at\") AT TIME ZONE 'UTC'), 'YYYY') || $1::text || to_char(",
        "'MM') || $2::text || to_char(",
        "'DD')",
      ],
      params: ["-", "-", 501, 0],
    },
  },
  {
    name: "stat unwind iterates the list's elements: json_each on SQLite, the job_elements helper on PostgreSQL",
    query: { aggregate: [{ unwind: { path: "options.usr_list" } }, { count: { name: "n" } }] },
    user: ["usr_list"],
    sqlite: {
      sql: ["json_each(CASE coalesce(json_type(\"p\".\"options\", ?), 'null') WHEN 'array'"],
      paramsInclude: ['$."usr_list"'],
    },
    postgres: { sql: ['job_elements(("p"."options" -> $1::text))'], params: ["usr_list", 501, 0] },
  },
  {
    name: "stat sort and page: nulls first ascending, limit and offset bound, total_count from a second statement",
    query: {
      aggregate: [
        { group: { keys: [{ key: "plugin_id", name: "p" }], fields: [{ name: "n", operator: "count" }] } },
        { sort: [{ key: "p" }] },
      ],
      page: { start: 3, limit: 2 },
    },
    user: [],
    sqlite: { sql: ["ORDER BY", " LIMIT ? OFFSET ?", "SELECT count(*)"], paramsInclude: [2] },
    postgres: { sql: ["ORDER BY", "NULLS FIRST", " LIMIT $", "SELECT count(*)"], paramsInclude: [2] },
  },
  {
    name: "stat filter: the value is bound in the source's WHERE",
    query: { filter: [{ k: "status", v: EVIL, o: "eq" }], aggregate: [{ count: { name: "n" } }] },
    user: [EVIL],
    sqlite: { sql: ['where "status" = ?'], params: [EVIL, 501, 0] },
    postgres: { sql: ['where "status" = $1'], params: [EVIL, 501, 0] },
  },
  {
    name: "stat distinct on an options path: one row per element, the path bound",
    query: { distinct: "options.usr_list" },
    user: ["usr_list"],
    sqlite: { sql: ["SELECT DISTINCT", "json_each("], paramsInclude: ['$."usr_list"'] },
    postgres: {
      sql: ["SELECT DISTINCT", 'job_elements(("p"."options" -> $1::text))'],
      params: ["usr_list", 501, 0],
    },
  },
];

/** Each piece must occur, in order, in the SQL text. */
function expectInOrder(text: string, pieces: readonly string[]): void {
  let from = 0;
  for (const piece of pieces) {
    const at = text.indexOf(piece, from);
    expect(at, `${JSON.stringify(piece)} after position ${from} in: ${text}`).toBeGreaterThanOrEqual(0);
    from = at + piece.length;
  }
}

const cells = CASES.flatMap((c) =>
  (Object.keys(DIALECTS) as DialectName[]).map((d) => [c.name, d, c] as const),
);

describe("compilers per dialect", () => {
  it("has cases for both dialects", () => {
    expect(cells.length).toBe(CASES.length * 2);
    expect(CASES.length).toBeGreaterThan(30);
  });

  it.each(cells)("%s (%s)", (_name, dialectName, c) => {
    const statements = compile(DIALECTS[dialectName], c.query);
    expect(statements.length).toBeGreaterThan(0);
    const expected = c[dialectName];
    const text = statements.map((s) => s.sql).join("\n");
    const parameters = statements.flatMap((s) => s.parameters);
    expectInOrder(text, expected.sql);
    if (expected.params) expect(parameters).toEqual(expected.params);
    for (const p of expected.paramsInclude ?? []) expect(parameters).toContainEqual(p);
    for (const user of c.user) {
      expect(text, `user text ${JSON.stringify(user)} in SQL`).not.toContain(user);
    }
    // Placeholders match the parameters: nothing was inlined in place of a value.
    const placeholders =
      dialectName === "sqlite"
        ? statements.map((s) => (s.sql.match(/\?/g) ?? []).length)
        : statements.map((s) => new Set(s.sql.match(/\$\d+/g) ?? []).size);
    expect(placeholders).toEqual(statements.map((s) => s.parameters.length));
  });
});
