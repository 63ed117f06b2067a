/**
 * Regex agreement: for patterns of the portable subset (the parser's `regexProblem` admits them),
 * PostgreSQL's case-insensitive `~*` (as the PostgreSQL dialect emits it) and the JavaScript engine
 * the SQLite backend runs (`linearRegex`) answer the same for every subject. Patterns are generated from the subset's building blocks;
 * subjects mix ASCII letters of both cases, digits, spaces, punctuation and non-ASCII letters.
 */
import fc from "fast-check";
import { sql } from "kysely";
import type pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { linearRegex } from "../src/query/linear-regex.js";
import { regexProblem } from "../src/query/regex.js";
import { migratePostgres } from "../src/storage/dialect/postgres/migrations.js";
import { createPool } from "../src/storage/dialect/postgres/pool.js";
import { postgresDialect } from "../src/storage/dialect/postgres/postgres-dialect.js";
import { createTestDatabase, describePostgres, type TestDatabase } from "./support/postgres.js";

const atoms = fc.constantFrom(
  ...[
    "a",
    "B",
    "z",
    "k",
    "S",
    "0",
    "7",
    "-",
    "_",
    " ",
    ".",
    "\\d",
    "\\D",
    "[a-c]",
    "[^x]",
    "[0-9]",
    "[^a-z]",
  ],
  ...["[A-Z0-9_-]", "\\.", "\\-", "\\$", "(?:ab)", "→"],
);
const quantifier = fc.constantFrom("", "", "*", "+", "?", "{1,2}", "{2}");
const piece = fc.tuple(atoms, quantifier).map(([a, q]) => a + q);
const branch = fc.array(piece, { minLength: 1, maxLength: 4 }).map((p) => p.join(""));
const pattern = fc
  .tuple(fc.boolean(), fc.array(branch, { minLength: 1, maxLength: 3 }), fc.boolean(), fc.boolean())
  .map(([anchorStart, branches, group, anchorEnd]) => {
    const body = branches.length > 1 || group ? `(${branches.join("|")})` : (branches[0] as string);
    return `${anchorStart ? "^" : ""}${body}${anchorEnd ? "$" : ""}`;
  });
const subject = fc
  .array(
    fc.constantFrom(
      "a",
      "A",
      "b",
      "B",
      "c",
      "z",
      "Z",
      "0",
      "7",
      " ",
      "\t",
      "-",
      "_",
      ".",
      "x",
      "é",
      "É",
      "ß",
      "\n",
      "\u00a0",
      "K",
      "ſ",
      "٣",
    ),
    { maxLength: 8 },
  )
  .map((c) => c.join(""));

describePostgres("regex: PostgreSQL ~* agrees with JavaScript /i on the portable subset", () => {
  let db: TestDatabase;
  let pool: pg.Pool;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = createPool({ url: db.url, size: 2, statementTimeoutMs: 10_000, connectTimeoutMs: 5000 });
    await migratePostgres(pool);
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it("answers every generated (pattern, subject) pair alike", async () => {
    const all = fc.sample(fc.tuple(pattern, fc.array(subject, { minLength: 8, maxLength: 8 })), {
      numRuns: 1000,
      seed: 11,
    });
    // Only what the parser admits reaches the database.
    const cases = all.filter(([p]) => regexProblem(p) === null);
    expect(cases.length).toBeGreaterThan(500);
    const disagreements: string[] = [];
    for (const [p, subjects] of cases) {
      // The dialect's own expression, over a text column as a job field would be.
      const query = sql<{
        s: string;
        m: boolean;
      }>`SELECT s, ${postgresDialect.regexMatches(sql`(s COLLATE "C")`, p)} AS m FROM unnest(${subjects}::text[]) AS t(s)`.compile(
        postgresDialect.builder,
      );
      const { rows } = await pool.query<{ s: string; m: boolean }>(query.sql, query.parameters as unknown[]);
      const js = linearRegex(p);
      for (const row of rows) {
        if (row.m !== js.test(row.s))
          disagreements.push(`${JSON.stringify(p)} on ${JSON.stringify(row.s)}: pg ${row.m}, js ${!row.m}`);
      }
    }
    expect(disagreements).toEqual([]);
  });
});
