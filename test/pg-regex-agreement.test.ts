/**
 * Regex agreement: for patterns of the portable subset, PostgreSQL's case-insensitive `~*` (as the
 * PostgreSQL dialect emits it) and JavaScript's `RegExp(pattern, "i")` (what the SQLite backend runs)
 * answer the same for every subject. Patterns are generated from the subset's building blocks;
 * subjects mix ASCII letters of both cases, digits, spaces, punctuation and non-ASCII letters.
 */
import fc from "fast-check";
import { sql } from "kysely";
import type pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { migratePostgres } from "../src/storage/dialect/postgres/migrations.js";
import { createPool } from "../src/storage/dialect/postgres/pool.js";
import { postgresDialect } from "../src/storage/dialect/postgres/postgres-dialect.js";
import { createTestDatabase, describePostgres, type TestDatabase } from "./support/postgres.js";

const atoms = fc.constantFrom(
  "a",
  "B",
  "z",
  "0",
  "7",
  "-",
  "_",
  " ",
  ".",
  "\\d",
  "\\s",
  "\\w",
  "\\D",
  "\\S",
  "\\W",
  "[a-c]",
  "[^x]",
  "[0-9]",
  "[\\w-]",
  "[\\s.]",
  "\\.",
  "\\-",
  "é",
  "K",
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
    const cases = fc.sample(fc.tuple(pattern, fc.array(subject, { minLength: 8, maxLength: 8 })), {
      numRuns: 1000,
      seed: 11,
    });
    expect(cases.length).toBe(1000);
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
      const js = new RegExp(p, "i");
      for (const row of rows) {
        if (row.m !== js.test(row.s))
          disagreements.push(`${JSON.stringify(p)} on ${JSON.stringify(row.s)}: pg ${row.m}, js ${!row.m}`);
      }
    }
    expect(disagreements).toEqual([]);
  });
});
