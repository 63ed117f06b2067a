/**
 * `npm run migrate-to-postgres`: a SQLite database with jobs (every column), events and tombstones
 * arrives in PostgreSQL row for row with its ids kept; new ids continue after the copied ones; a
 * second run into the now non-empty database refuses and changes nothing.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openDatabase } from "../src/storage/database.js";
import { typeParsers } from "../src/storage/dialect/postgres/pool.js";
import { JOBS } from "./support/fixture.js";
import { createTestDatabase, describePostgres, type TestDatabase } from "./support/postgres.js";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "..");

describePostgres("npm run migrate-to-postgres", () => {
  let db: TestDatabase;
  let dir: string;
  let file: string;
  let client: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "job-migrate-pg-"));
    file = path.join(dir, "jobs.db");
    const sqlite = openDatabase({ file });
    const insert = sqlite.prepare(
      `INSERT INTO jobs (job_id, status, options, resource_group, error_message, domain_id, workspace_id,
        trusted_account_id, plugin_id, created_at, updated_at, finished_at)
       VALUES (@job_id, @status, @options, @resource_group, @error_message, @domain_id, @workspace_id,
        @trusted_account_id, @plugin_id, @created_at, @updated_at, @finished_at)`,
    );
    for (const job of JOBS) insert.run(job);
    const first = JOBS[0]?.job_id as string;
    sqlite
      .prepare(
        `UPDATE jobs SET started_at = created_at, heartbeat_at = updated_at, progress_percent = 42.5,
          current_step = 'tab\tand\nnewline \\ backslash', records_processed = 7, idempotency_key = 'k-1', version = 4
         WHERE job_id = ?`,
      )
      .run(first);
    const event = sqlite.prepare(
      "INSERT INTO job_events (job_id, seq, action, from_status, to_status, reason, actor, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    event.run(first, 1, "create", null, "PENDING", null, "system:test", "2026-03-01T00:00:00.000Z");
    event.run(first, 2, "start", "PENDING", "IN_PROGRESS", "go", "system:test", "2026-03-01T00:00:01.000Z");
    sqlite
      .prepare(
        "INSERT INTO job_tombstones (job_id, domain_id, workspace_id, status, finished_at, purged_at) VALUES ('job-old', 'domain-a', 'ws-1', 'SUCCESS', '2025-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')",
      )
      .run();
    sqlite.close();
    client = new pg.Client({ connectionString: db.url, types: typeParsers });
    await client.connect();
    await client.query("SET TimeZone = 'UTC'");
  });

  afterAll(async () => {
    await client?.end();
    await db?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const migrate = () =>
    run(process.execPath, ["--import", "tsx", "src/cli/migrate-to-postgres.ts", "--from", file], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: db.url, DATA_DIR: dir },
    });

  it("copies every row with its ids, and new ids continue after them", async () => {
    const { stdout } = await migrate();
    expect(stdout).toMatch(new RegExp(`copied ${JOBS.length} jobs, 2 job_events, 1 job_tombstones`));
    const sqlite = openDatabase({ file, readonly: true });
    try {
      for (const [table, key] of [
        ["jobs", "seq"],
        ["job_events", "id"],
        ["job_tombstones", "job_id"],
      ] as const) {
        const want = sqlite.prepare(`SELECT * FROM ${table} ORDER BY ${key}`).all() as Record<
          string,
          unknown
        >[];
        const got = (await client.query(`SELECT * FROM ${table} ORDER BY ${key}`)).rows as Record<
          string,
          unknown
        >[];
        expect(want.length).toBeGreaterThan(0);
        const normal = (row: Record<string, unknown>) =>
          Object.fromEntries(
            Object.entries(row).map(([k, v]) => [
              k,
              k === "options" && typeof v === "string" ? JSON.parse(v) : v,
            ]),
          );
        expect(got.map(normal)).toEqual(want.map(normal));
      }
    } finally {
      sqlite.close();
    }
    const next = await client.query(
      `INSERT INTO jobs (job_id, status, resource_group, domain_id, workspace_id, trusted_account_id, created_at, updated_at)
       VALUES ('job-new', 'PENDING', 'WORKSPACE', 'd', 'w', 't', now(), now()) RETURNING seq`,
    );
    expect(next.rows[0].seq).toBe(JOBS.length + 1);
    await client.query("DELETE FROM jobs WHERE job_id = 'job-new'");
  });

  it("refuses to migrate into a database that already has jobs, changing nothing", async () => {
    await expect(migrate()).rejects.toMatchObject({ stderr: expect.stringMatching(/already holds/) });
    const { rows } = await client.query("SELECT count(*)::int AS n FROM jobs");
    expect(rows[0].n).toBe(JOBS.length);
  });
});
