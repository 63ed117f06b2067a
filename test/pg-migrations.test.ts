/**
 * PostgreSQL schema migrations: N instances starting together migrate exactly once (advisory lock),
 * a second start applies nothing, a database newer than the code refuses to start, and the schema
 * keeps the SQLite backend's value formats (ISO timestamps with milliseconds and Z, JSON text).
 */
import type pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  migratePostgres,
  POSTGRES_LATEST_VERSION,
  POSTGRES_MIGRATIONS,
} from "../src/storage/dialect/postgres/migrations.js";
import { createPool } from "../src/storage/dialect/postgres/pool.js";
import { SchemaTooNewError } from "../src/storage/migrations.js";
import { createTestDatabase, describePostgres, type TestDatabase } from "./support/postgres.js";

describePostgres("PostgreSQL migrations", () => {
  let db: TestDatabase;
  const pools: pg.Pool[] = [];
  const pool = (url = db.url) => {
    const p = createPool({ url, size: 2, statementTimeoutMs: 10_000, connectTimeoutMs: 5000 });
    pools.push(p);
    return p;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
    await db?.drop();
  });

  it("eight instances starting together apply each migration exactly once", async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => migratePostgres(pool())));
    const applied = results.flat();
    expect(applied).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version));
    expect(results.filter((r) => r.length > 0)).toHaveLength(1);
    const { rows } = await pool().query("SELECT version FROM schema_migrations ORDER BY version");
    expect(rows.map((r) => r.version)).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version));
  });

  it("a second start applies nothing", async () => {
    expect(await migratePostgres(pool())).toEqual([]);
  });

  it("a database newer than the code refuses to start", async () => {
    const p = pool();
    await p.query("INSERT INTO schema_migrations (version, description) VALUES ($1, 'from the future')", [
      POSTGRES_LATEST_VERSION + 1,
    ]);
    await expect(migratePostgres(p)).rejects.toBeInstanceOf(SchemaTooNewError);
    await p.query("DELETE FROM schema_migrations WHERE version = $1", [POSTGRES_LATEST_VERSION + 1]);
  });

  it("timestamps read back as ISO-8601 with milliseconds and Z, options as JSON text", async () => {
    const p = pool();
    await p.query(
      `INSERT INTO jobs (job_id, status, options, resource_group, domain_id, workspace_id, trusted_account_id,
        created_at, updated_at, started_at, finished_at)
       VALUES ('job-1', 'SUCCESS', $1, 'WORKSPACE', 'd', 'w', 't', $2, $2, $3, $4)`,
      [
        '{"a":[1,true,"x"]}',
        "2026-01-02T03:04:05.000Z",
        "2026-01-02T03:04:05.120Z",
        "2026-01-02T03:05:06.789Z",
      ],
    );
    const { rows } = await p.query(
      "SELECT created_at, started_at, finished_at, options, duration_seconds FROM jobs",
    );
    expect(rows[0]).toEqual({
      created_at: "2026-01-02T03:04:05.000Z",
      started_at: "2026-01-02T03:04:05.120Z",
      finished_at: "2026-01-02T03:05:06.789Z",
      options: '{"a": [1, true, "x"]}',
      duration_seconds: 61.669,
    });
  });
});
