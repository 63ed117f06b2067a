/**
 * `npm run seed` on PostgreSQL (src/storage/dialect/postgres/seed.ts): into an empty database the rows
 * are copied frozen (the table is truncated in the load's transaction, every page all-frozen); appending to a non-empty one
 * copies them normally and continues the job sequence; `--if-empty` keeps what is there; `--reset`
 * starts again. Every time the dropped indexes and constraints are all back afterwards.
 */
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { generateJobs } from "../src/seed/generate.js";
import { seedPostgres } from "../src/storage/dialect/postgres/seed.js";
import { createTestDatabase, describePostgres, type TestDatabase } from "./support/postgres.js";

const NOW = new Date("2026-06-01T00:00:00.000Z");

describePostgres("npm run seed on PostgreSQL", () => {
  let db: TestDatabase;
  let client: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    // PostgreSQL's contrib module that reads the visibility map (a test-only extension).
    await client.query("CREATE EXTENSION IF NOT EXISTS pg_visibility");
  });

  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  const seed = (count: number, flags: { reset?: boolean; ifEmpty?: boolean } = {}) =>
    seedPostgres(
      { url: db.url, size: 1, statementTimeoutMs: 30_000, connectTimeoutMs: 5000 },
      {
        reset: flags.reset ?? false,
        ifEmpty: flags.ifEmpty ?? false,
        rows: (firstIndex) => generateJobs({ count, seed: 5, now: NOW, firstIndex }),
      },
    );
  const indexes = async () =>
    (
      await client.query<{ name: string }>(
        "SELECT indexname AS name FROM pg_indexes WHERE tablename = 'jobs' ORDER BY indexname",
      )
    ).rows.map((r) => r.name);
  const constraints = async () =>
    (
      await client.query<{ c: string }>(
        `SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) AS c
         FROM pg_constraint WHERE conrelid IN ('jobs'::regclass, 'job_events'::regclass) ORDER BY 1`,
      )
    ).rows.map((r) => r.c);
  const count = async () => Number((await client.query("SELECT count(*) AS n FROM jobs")).rows[0].n);
  /** Pages of jobs, and how many the visibility map marks all-frozen (COPY FREEZE writes them so). */
  const pages = async () => {
    const { rows } = await client.query(
      "SELECT count(*) AS pages, count(*) FILTER (WHERE all_frozen) AS frozen FROM pg_visibility_map('jobs')",
    );
    return { pages: Number(rows[0].pages), frozen: Number(rows[0].frozen) };
  };

  it("into an empty database: every row, frozen, with every index rebuilt", async () => {
    const before = await seed(0).then(indexes);
    const keys = await constraints();
    expect(before.length).toBeGreaterThan(5);
    expect(keys.some((c) => c.startsWith("jobs ") && c.includes("UNIQUE (job_id)"))).toBe(true);
    expect(keys.some((c) => c.startsWith("job_events ") && c.includes("REFERENCES jobs(job_id)"))).toBe(true);
    expect(await seed(2000)).toEqual({ kind: "inserted", count: 2000 });
    expect(await count()).toBe(2000);
    const { pages: total, frozen } = await pages();
    expect(total).toBeGreaterThan(10);
    expect(frozen).toBe(total);
    expect(await indexes()).toEqual(before);
    expect(await constraints()).toEqual(keys);
    // The unique index is back and enforced.
    await expect(
      client.query(
        "INSERT INTO jobs (job_id, status, resource_group, domain_id, workspace_id, trusted_account_id, created_at, updated_at) SELECT job_id, status, resource_group, domain_id, workspace_id, trusted_account_id, created_at, updated_at FROM jobs LIMIT 1",
      ),
    ).rejects.toThrow(/jobs_job_id_key/);
  });

  it("appends to a non-empty database without freezing, continuing the job sequence", async () => {
    const before = await indexes();
    expect(await seed(500)).toEqual({ kind: "inserted", count: 500 });
    expect(await count()).toBe(2500);
    const { pages: total, frozen } = await pages();
    expect(frozen).toBeLessThan(total);
    const distinct = await client.query("SELECT count(DISTINCT job_id) AS n FROM jobs");
    expect(Number(distinct.rows[0].n)).toBe(2500);
    expect(await indexes()).toEqual(before);
  });

  it("--if-empty keeps a non-empty database; --reset starts again, frozen", async () => {
    expect(await seed(10, { ifEmpty: true })).toEqual({ kind: "kept", existing: 2500 });
    expect(await seed(300, { reset: true })).toEqual({ kind: "inserted", count: 300 });
    expect(await count()).toBe(300);
    const { pages: total, frozen } = await pages();
    expect(total).toBeGreaterThan(0);
    expect(frozen).toBe(total);
    const seq = await client.query("SELECT min(seq) AS lo, max(seq) AS hi FROM jobs");
    expect([Number(seq.rows[0].lo), Number(seq.rows[0].hi)]).toEqual([1, 300]);
  });
});
