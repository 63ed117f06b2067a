/**
 * Versioned schema migrations, applied in order at start-up inside one transaction each.
 * The schema version lives in `PRAGMA user_version`. A database newer than this code refuses to
 * open: running old code on a newer schema could silently drop or misread data.
 */
import type Database from "better-sqlite3";

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly up: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "jobs table and the indexes of the scoped listing and common filters",
    up: `
      CREATE TABLE jobs (
        -- Insertion order: the stable sort tiebreaker (upstream uses the Mongo ObjectId).
        seq                INTEGER PRIMARY KEY,
        job_id             TEXT NOT NULL UNIQUE,
        status             TEXT NOT NULL
                           CHECK (status IN ('PENDING','IN_PROGRESS','FAILURE','SUCCESS','CANCELED')),
        options            TEXT CHECK (options IS NULL OR json_valid(options)),
        resource_group     TEXT NOT NULL CHECK (resource_group IN ('DOMAIN','WORKSPACE')),
        error_message      TEXT,
        domain_id          TEXT NOT NULL,
        -- '*' for DOMAIN jobs (spec §3.3).
        workspace_id       TEXT NOT NULL,
        trusted_account_id TEXT NOT NULL,
        plugin_id          TEXT,
        -- ISO-8601 UTC with milliseconds and Z: fixed width, so text order is time order.
        created_at         TEXT NOT NULL,
        updated_at         TEXT NOT NULL,
        finished_at        TEXT
      ) STRICT;
      -- rowid (seq) is the implicit last column of every index, so scanning these backwards gives
      -- the default order created_at DESC, seq DESC without a sort step.
      CREATE INDEX jobs_by_domain_created ON jobs (domain_id, created_at);
      CREATE INDEX jobs_by_scope_created ON jobs (domain_id, workspace_id, created_at);
      CREATE INDEX jobs_by_trusted_account ON jobs (domain_id, trusted_account_id, created_at);
      CREATE INDEX jobs_by_plugin ON jobs (domain_id, plugin_id, created_at);
      CREATE INDEX jobs_by_status ON jobs (domain_id, status, created_at);
    `,
  },
];

export const LATEST_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

export class SchemaTooNewError extends Error {
  constructor(found: number, supported: number) {
    super(
      `database schema version ${found} is newer than this build supports (${supported}); ` +
        "run a newer release of the service or restore a backup made for this version",
    );
  }
}

/** Apply every pending migration. Returns the versions applied. */
export function migrate(db: Database.Database): number[] {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > LATEST_VERSION) throw new SchemaTooNewError(current, LATEST_VERSION);
  const applied: number[] = [];
  for (const migration of MIGRATIONS) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.up);
      db.pragma(`user_version = ${migration.version | 0}`);
    }).immediate();
    applied.push(migration.version);
  }
  return applied;
}
