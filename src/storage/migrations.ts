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
  {
    version: 2,
    description: "job lifecycle: progress, cancel and version columns; idempotency keys; events; tombstones",
    up: `
      ALTER TABLE jobs ADD COLUMN started_at TEXT;
      ALTER TABLE jobs ADD COLUMN heartbeat_at TEXT;
      ALTER TABLE jobs ADD COLUMN progress_percent REAL
        CHECK (progress_percent IS NULL OR (progress_percent >= 0 AND progress_percent <= 100));
      ALTER TABLE jobs ADD COLUMN current_step TEXT;
      ALTER TABLE jobs ADD COLUMN records_processed INTEGER CHECK (records_processed >= 0);
      ALTER TABLE jobs ADD COLUMN records_total INTEGER CHECK (records_total >= 0);
      ALTER TABLE jobs ADD COLUMN records_created INTEGER CHECK (records_created >= 0);
      ALTER TABLE jobs ADD COLUMN records_updated INTEGER CHECK (records_updated >= 0);
      ALTER TABLE jobs ADD COLUMN records_deleted INTEGER CHECK (records_deleted >= 0);
      ALTER TABLE jobs ADD COLUMN cancel_requested_at TEXT;
      ALTER TABLE jobs ADD COLUMN cancel_reason TEXT;
      ALTER TABLE jobs ADD COLUMN canceled_by TEXT;
      ALTER TABLE jobs ADD COLUMN error_code TEXT;
      ALTER TABLE jobs ADD COLUMN idempotency_key TEXT;
      -- Bumped by every lifecycle write; callers pass it back as expected_version.
      ALTER TABLE jobs ADD COLUMN version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1);
      -- Seconds from start (or creation, for a job that never started) to finish; NULL until the job
      -- has finished, so filters, sort, stat and answers agree (a stored value cannot follow the clock).
      ALTER TABLE jobs ADD COLUMN duration_seconds REAL GENERATED ALWAYS AS (
        CASE WHEN finished_at IS NULL THEN NULL
             ELSE round((julianday(finished_at) - julianday(coalesce(started_at, created_at))) * 86400.0, 3)
        END
      ) VIRTUAL;

      -- A retried create finds its job here; UNIQUE also stops two concurrent creates with one key.
      CREATE UNIQUE INDEX jobs_by_idempotency_key ON jobs (domain_id, idempotency_key)
        WHERE idempotency_key IS NOT NULL;
      -- The reaper's scans: few rows are unfinished, so these partial indexes stay small.
      CREATE INDEX jobs_pending ON jobs (created_at) WHERE status = 'PENDING';
      CREATE INDEX jobs_in_progress ON jobs (created_at) WHERE status = 'IN_PROGRESS';
      -- Retention: the oldest finished jobs first.
      CREATE INDEX jobs_by_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;

      -- A job's timeline, written in the same transaction as each change. id is the global order
      -- (AUTOINCREMENT: never reused after a purge, so a later watch can resume from it).
      CREATE TABLE job_events (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id      TEXT NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
        seq         INTEGER NOT NULL CHECK (seq >= 1),
        action      TEXT NOT NULL,
        from_status TEXT CHECK (from_status IN ('PENDING','IN_PROGRESS','FAILURE','SUCCESS','CANCELED')),
        to_status   TEXT NOT NULL CHECK (to_status IN ('PENDING','IN_PROGRESS','FAILURE','SUCCESS','CANCELED')),
        reason      TEXT,
        actor       TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        UNIQUE (job_id, seq)
      ) STRICT;

      -- What is left of a purged job, so get can answer "expired" rather than "never existed".
      CREATE TABLE job_tombstones (
        job_id       TEXT PRIMARY KEY,
        domain_id    TEXT NOT NULL,
        workspace_id TEXT NOT NULL,
        status       TEXT NOT NULL,
        finished_at  TEXT,
        purged_at    TEXT NOT NULL
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX job_tombstones_by_purged ON job_tombstones (purged_at);
    `,
  },
  {
    version: 3,
    description: "idempotency keys scoped per workspace; the job change feed",
    up: `
      -- A key is unique per (domain, workspace): one workspace can neither see nor use up another's.
      DROP INDEX jobs_by_idempotency_key;
      CREATE UNIQUE INDEX jobs_by_idempotency_key ON jobs (domain_id, workspace_id, idempotency_key)
        WHERE idempotency_key IS NOT NULL;

      -- One row per job changed by a committed write transaction, in commit order (writers are
      -- serialized, so id order is commit order). AUTOINCREMENT: ids are never reused, even after
      -- retention dropped every row, so a cursor never points at a different change.
      CREATE TABLE job_changes (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id       TEXT NOT NULL,
        domain_id    TEXT NOT NULL,
        workspace_id TEXT NOT NULL,
        kind         TEXT NOT NULL CHECK (kind IN ('created','updated','deleted')),
        event_seq    INTEGER,
        created_at   TEXT NOT NULL
      ) STRICT;
      CREATE INDEX job_changes_by_created ON job_changes (created_at);
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
