/** Schema migrations: applied in order at start-up, idempotent, and a newer database refuses to open. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase } from "../src/storage/database.js";
import { LATEST_VERSION, MIGRATIONS, migrate, SchemaTooNewError } from "../src/storage/migrations.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "job-migrations-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("migrations", () => {
  it("bring a new database to the latest version, in WAL mode, and are idempotent", () => {
    const file = path.join(dir, "fresh.db");
    const db = openDatabase({ file });
    expect(db.pragma("user_version", { simple: true })).toBe(LATEST_VERSION);
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(migrate(db)).toEqual([]);
    const indexes = (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs'").all() as {
        name: string;
      }[]
    ).map((r) => r.name);
    expect(indexes).toEqual(
      expect.arrayContaining([
        "jobs_by_domain_created",
        "jobs_by_scope_created",
        "jobs_by_trusted_account",
        "jobs_by_plugin",
        "jobs_by_status",
      ]),
    );
    db.close();
  });

  it("upgrade a database left at version 1 without losing its jobs", () => {
    const file = path.join(dir, "v1.db");
    const raw = new Database(file);
    raw.exec((MIGRATIONS[0] as (typeof MIGRATIONS)[number]).up);
    raw.pragma("user_version = 1");
    raw
      .prepare(
        `INSERT INTO jobs (job_id, status, options, resource_group, domain_id, workspace_id, trusted_account_id,
           created_at, updated_at) VALUES ('job-old', 'SUCCESS', '{}', 'WORKSPACE', 'd', 'w', 'ta', 'x', 'x')`,
      )
      .run();
    raw.close();
    const db = openDatabase({ file });
    expect(db.pragma("user_version", { simple: true })).toBe(LATEST_VERSION);
    expect(db.prepare("SELECT job_id, status FROM jobs").all()).toEqual([
      { job_id: "job-old", status: "SUCCESS" },
    ]);
    db.close();
  });

  it("refuse a database newer than the code, with a message saying so", () => {
    const file = path.join(dir, "future.db");
    const raw = new Database(file);
    raw.pragma(`user_version = ${LATEST_VERSION + 1}`);
    raw.close();
    expect(() => openDatabase({ file })).toThrow(SchemaTooNewError);
    expect(() => openDatabase({ file })).toThrow(/newer than this build supports/);
  });
});
