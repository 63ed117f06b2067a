/**
 * Versioned PostgreSQL schema migrations. Every instance calls `migrate` at start; the first one to
 * take the advisory lock applies what is pending (all of it in one transaction: PostgreSQL DDL is
 * transactional, so a crash half-way leaves the old version), the others wait for the lock and then
 * find nothing to do. A database whose version is newer than this code refuses to start.
 *
 * Text columns use the "C" collation: byte order, exactly as SQLite's BINARY compares, so sorts
 * and range filters give the same answer on both backends whatever the database's locale is.
 */
import type pg from "pg";
import { SchemaTooNewError } from "../../migrations.js";

export interface PostgresMigration {
  readonly version: number;
  readonly description: string;
  readonly up: string;
}

/** Advisory lock key of the migration (any constant; other keys are in change-feed.ts). */
export const MIGRATION_LOCK = 0x6a6f6201;

const STATUS = `CHECK (%s IN ('PENDING','IN_PROGRESS','FAILURE','SUCCESS','CANCELED'))`;
const status = (column: string) => STATUS.replace("%s", column);

export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    description: "jobs, job_events, job_tombstones, job_changes and the indexes of the scoped listing",
    up: `
      CREATE TABLE jobs (
        -- Insertion order: the stable sort tiebreaker (upstream uses the Mongo ObjectId).
        seq                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        job_id              text COLLATE "C" NOT NULL UNIQUE,
        status              text COLLATE "C" NOT NULL ${status("status")},
        options             jsonb,
        resource_group      text COLLATE "C" NOT NULL CHECK (resource_group IN ('DOMAIN','WORKSPACE')),
        error_message       text COLLATE "C",
        domain_id           text COLLATE "C" NOT NULL,
        workspace_id        text COLLATE "C" NOT NULL,
        trusted_account_id  text COLLATE "C" NOT NULL,
        plugin_id           text COLLATE "C",
        created_at          timestamptz NOT NULL,
        updated_at          timestamptz NOT NULL,
        finished_at         timestamptz,
        started_at          timestamptz,
        heartbeat_at        timestamptz,
        progress_percent    double precision
                            CHECK (progress_percent IS NULL OR (progress_percent >= 0 AND progress_percent <= 100)),
        current_step        text COLLATE "C",
        records_processed   bigint CHECK (records_processed >= 0),
        records_total       bigint CHECK (records_total >= 0),
        records_created     bigint CHECK (records_created >= 0),
        records_updated     bigint CHECK (records_updated >= 0),
        records_deleted     bigint CHECK (records_deleted >= 0),
        cancel_requested_at timestamptz,
        cancel_reason       text COLLATE "C",
        canceled_by         text COLLATE "C",
        error_code          text COLLATE "C",
        idempotency_key     text COLLATE "C",
        version             integer NOT NULL DEFAULT 1 CHECK (version >= 1),
        -- Seconds from start (or creation) to finish, NULL until finished (as SQLite's generated column).
        duration_seconds    double precision GENERATED ALWAYS AS (
          CASE WHEN finished_at IS NULL THEN NULL
               ELSE round(extract(epoch FROM finished_at - coalesce(started_at, created_at)), 3)::double precision
          END) STORED
      );
      -- (scope..., created_at, seq) scanned backwards gives the default order created_at DESC, seq DESC
      -- without a sort step, and serves the scoped counts.
      CREATE INDEX jobs_by_domain_created ON jobs (domain_id, created_at, seq);
      CREATE INDEX jobs_by_scope_created ON jobs (domain_id, workspace_id, created_at, seq);
      CREATE INDEX jobs_by_trusted_account ON jobs (domain_id, trusted_account_id, created_at, seq);
      CREATE INDEX jobs_by_plugin ON jobs (domain_id, plugin_id, created_at, seq);
      CREATE INDEX jobs_by_status ON jobs (domain_id, status, created_at, seq);
      -- Idempotency keys are scoped to a workspace: one workspace can neither see nor use up another's.
      CREATE UNIQUE INDEX jobs_by_idempotency_key ON jobs (domain_id, workspace_id, idempotency_key)
        WHERE idempotency_key IS NOT NULL;
      -- The reaper's scans and retention: small partial indexes.
      CREATE INDEX jobs_pending ON jobs (created_at) WHERE status = 'PENDING';
      CREATE INDEX jobs_in_progress ON jobs (created_at) WHERE status = 'IN_PROGRESS';
      CREATE INDEX jobs_by_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;

      CREATE TABLE job_events (
        id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        job_id      text COLLATE "C" NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
        seq         integer NOT NULL CHECK (seq >= 1),
        action      text COLLATE "C" NOT NULL,
        from_status text COLLATE "C" ${status("from_status")},
        to_status   text COLLATE "C" NOT NULL ${status("to_status")},
        reason      text COLLATE "C",
        actor       text COLLATE "C" NOT NULL,
        created_at  timestamptz NOT NULL,
        UNIQUE (job_id, seq)
      );

      CREATE TABLE job_tombstones (
        job_id       text COLLATE "C" PRIMARY KEY,
        domain_id    text COLLATE "C" NOT NULL,
        workspace_id text COLLATE "C" NOT NULL,
        status       text COLLATE "C" NOT NULL,
        finished_at  timestamptz,
        purged_at    timestamptz NOT NULL
      );
      CREATE INDEX job_tombstones_by_purged ON job_tombstones (purged_at);

      -- The change feed. id is assigned under a transaction-level advisory lock held until commit
      -- (change-feed.ts), so id order is commit order: a reader that saw id N has seen every id < N.
      CREATE TABLE job_changes (
        id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        job_id       text COLLATE "C" NOT NULL,
        domain_id    text COLLATE "C" NOT NULL,
        workspace_id text COLLATE "C" NOT NULL,
        kind         text COLLATE "C" NOT NULL CHECK (kind IN ('created','updated','deleted')),
        event_seq    integer,
        created_at   timestamptz NOT NULL
      );
      CREATE INDEX job_changes_by_created ON job_changes (created_at);

      -- Helpers the dialect (postgres-dialect.ts) uses where a value is needed as text or JSON:
      -- overloaded by argument type, so a timestamptz becomes ISO-8601 with milliseconds and Z, as
      -- SQLite stores it. SQL functions: PostgreSQL inlines them into the query.
      CREATE FUNCTION job_text(v timestamptz) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT to_char(v AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;
      CREATE FUNCTION job_text(v text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT v $$;
      CREATE FUNCTION job_text(v jsonb) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT v #>> '{}' $$;
      CREATE FUNCTION job_text(v double precision) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT v::text $$;
      CREATE FUNCTION job_text(v bigint) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT v::text $$;
      CREATE FUNCTION job_text(v integer) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT v::text $$;

      CREATE FUNCTION job_json(v timestamptz) RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT to_jsonb(job_text(v)) $$;
      CREATE FUNCTION job_json(v text) RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT to_jsonb(v) $$;
      CREATE FUNCTION job_json(v double precision) RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT to_jsonb(v) $$;
      CREATE FUNCTION job_json(v bigint) RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT to_jsonb(v) $$;
      CREATE FUNCTION job_json(v integer) RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT to_jsonb(v) $$;
      CREATE FUNCTION job_json(v boolean) RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT to_jsonb(v) $$;
      CREATE FUNCTION job_json(v jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT v $$;

      -- The elements of a value for unwind/distinct (a list: its elements; another non-null value:
      -- itself; null or missing: nothing) and the members of an object, as (key, value) rows.
      CREATE FUNCTION job_elements(doc jsonb) RETURNS TABLE (key bigint, value jsonb)
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT t.o - 1, t.v FROM jsonb_array_elements(CASE coalesce(jsonb_typeof(doc), 'null')
          WHEN 'array' THEN doc WHEN 'null' THEN '[]'::jsonb ELSE jsonb_build_array(doc) END) WITH ORDINALITY AS t(v, o) $$;
      CREATE FUNCTION job_members(doc jsonb) RETURNS TABLE (key text, value jsonb)
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT t.k COLLATE "C", t.v FROM jsonb_each(CASE WHEN jsonb_typeof(doc) = 'object' THEN doc ELSE '{}'::jsonb END) AS t(k, v) $$;

      -- min/max of JSON values (group fields over options paths), in Mongo's type order: numbers,
      -- strings, objects, lists, booleans; within a type jsonb's own order. NULLs are skipped.
      CREATE FUNCTION job_json_rank(v jsonb) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE jsonb_typeof(v) WHEN 'number' THEN 1 WHEN 'string' THEN 2 WHEN 'object' THEN 3
          WHEN 'array' THEN 4 WHEN 'boolean' THEN 5 ELSE 0 END $$;
      CREATE FUNCTION job_json_smaller(a jsonb, b jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
        SELECT CASE WHEN (job_json_rank(a), a) <= (job_json_rank(b), b) THEN a ELSE b END $$;
      CREATE FUNCTION job_json_larger(a jsonb, b jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
        SELECT CASE WHEN (job_json_rank(a), a) >= (job_json_rank(b), b) THEN a ELSE b END $$;
      CREATE AGGREGATE min(jsonb) (sfunc = job_json_smaller, stype = jsonb, combinefunc = job_json_smaller, parallel = safe);
      CREATE AGGREGATE max(jsonb) (sfunc = job_json_larger, stype = jsonb, combinefunc = job_json_larger, parallel = safe);

      -- A datetime from a column or from an ISO-8601 string inside options; NULL for anything else
      -- (as SQLite's strftime answers NULL for a value that is not a date).
      CREATE FUNCTION job_ts(v timestamptz) RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT v $$;
      CREATE FUNCTION job_ts(v text) RETURNS timestamptz LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
        BEGIN
          IF v IS NULL OR v !~ '^d{4}-dd-dd([T ]dd:dd(:dd(.d{1,9})?)?)?(Z|[+-]dd:dd)?$' THEN
            RETURN NULL;
          END IF;
          RETURN (CASE WHEN v ~ '(Z|[+-]dd:dd)$' THEN v ELSE v || 'Z' END)::timestamptz;
        EXCEPTION WHEN others THEN
          RETURN NULL;
        END $$;
      CREATE FUNCTION job_ts(v jsonb) RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT CASE WHEN jsonb_typeof(v) = 'string' THEN job_ts(v #>> '{}') END $$;
    `,
  },
];

export const POSTGRES_LATEST_VERSION = POSTGRES_MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

/**
 * Apply every pending migration under the advisory lock; returns the versions this call applied
 * (empty when another instance did it first). Throws SchemaTooNewError for a newer database.
 */
export async function migratePostgres(
  pool: pg.Pool,
  migrations: readonly PostgresMigration[] = POSTGRES_MIGRATIONS,
): Promise<number[]> {
  const latest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    // Held until COMMIT/ROLLBACK: instances starting together queue here.
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version     integer PRIMARY KEY,
      description text NOT NULL,
      applied_at  timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ v: number | null }>(
      "SELECT max(version) AS v FROM schema_migrations",
    );
    const current = rows[0]?.v ?? 0;
    if (current > latest) throw new SchemaTooNewError(current, latest);
    const applied: number[] = [];
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      await client.query(migration.up);
      await client.query("INSERT INTO schema_migrations (version, description) VALUES ($1, $2)", [
        migration.version,
        migration.description,
      ]);
      applied.push(migration.version);
    }
    await client.query("COMMIT");
    return applied;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
