/**
 * `npm run seed` on PostgreSQL: generated jobs streamed with COPY in one transaction (all or
 * nothing), then VACUUM (ANALYZE) so the planner knows the new table. The secondary indexes are
 * dropped for the load and built again after it (inside the same transaction): one sorted build per
 * index is many times faster than a million random insertions into each of them. Into an empty
 * table the UNIQUE job_id index goes too, and the rows are copied frozen (docs/decisions.md,
 * "Seeding PostgreSQL"). Seeding writes no change-feed rows: it is a bulk load before anyone watches.
 */
import type pg from "pg";
import { SEEDED_FIELDS } from "../../../catalogue/job-fields.js";
import type { SeedJob } from "../../../seed/generate.js";
import { copyRows } from "./copy-rows.js";
import { openPostgresStore } from "./open.js";
import type { PoolOptions } from "./pool.js";

export interface PostgresSeedOptions {
  readonly reset: boolean;
  readonly ifEmpty: boolean;
  /** Builds the rows from the first free position of the seed's sequence. */
  readonly rows: (firstIndex: number) => Iterable<SeedJob>;
}

export type PostgresSeedResult =
  | { readonly kind: "kept"; readonly existing: number }
  | { readonly kind: "inserted"; readonly count: number };

export async function seedPostgres(
  pool: PoolOptions,
  options: PostgresSeedOptions,
): Promise<PostgresSeedResult> {
  const store = await openPostgresStore(pool);
  const client = await store.pool.connect();
  try {
    if (options.ifEmpty) {
      const { rows } = await client.query<{ n: number }>("SELECT count(*) AS n FROM jobs");
      const existing = rows[0]?.n ?? 0;
      if (existing > 0) return { kind: "kept", existing };
    }
    // A bulk load can take longer than a request's statement timeout.
    await client.query("BEGIN; SET LOCAL statement_timeout = 0; SET LOCAL maintenance_work_mem = '256MB'");
    // The load drops the indexes, which takes this lock anyway; taken first, nobody writes a job
    // between the check for an empty table below and the TRUNCATE that follows it.
    await client.query("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE");
    if (options.reset) await client.query("TRUNCATE jobs, job_events, job_changes RESTART IDENTITY");
    // Continue the seed's sequence after the rows already there, so appended job ids never collide.
    const { rows } = await client.query<{ n: number }>("SELECT coalesce(max(seq), 0) AS n FROM jobs");
    // An empty table (events reference jobs, so they are empty too) is truncated here, which loses
    // nothing and lets COPY write the rows frozen: no VACUUM pass over every page afterwards.
    const empty = (await client.query("SELECT 1 FROM jobs LIMIT 1")).rowCount === 0;
    if (empty && !options.reset) await client.query("TRUNCATE jobs, job_events");
    const indexes = await client.query<{ name: string; definition: string }>(
      `SELECT i.indexname AS name, i.indexdef AS definition FROM pg_indexes i
       WHERE i.schemaname = current_schema() AND i.tablename = 'jobs'
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`,
    );
    for (const index of indexes.rows) await client.query(`DROP INDEX "${index.name}"`);
    // Into an empty table the UNIQUE job_id index goes too: kept, each row is a random insertion into
    // it (a third of COPY's server time); built after, one sort. Foreign keys that rely on it (events)
    // go first and come back last; their tables are empty, so checking them again costs nothing.
    const constraints = empty ? await uniqueConstraints(client) : [];
    for (const c of [...constraints].reverse())
      await client.query(`ALTER TABLE ${c.table} DROP CONSTRAINT "${c.name}"`);
    const count = await copyRows(
      client,
      "jobs",
      SEEDED_FIELDS,
      options.rows(rows[0]?.n ?? 0) as Iterable<Record<string, unknown>>,
      { freeze: empty },
    );
    for (const index of indexes.rows) await client.query(index.definition);
    for (const c of constraints)
      await client.query(`ALTER TABLE ${c.table} ADD CONSTRAINT "${c.name}" ${c.definition}`);
    await client.query("COMMIT");
    // VACUUM sets the visibility map (already set by a frozen COPY, whose pages it then skips), so
    // scoped counts are index-only scans from the start.
    await client.query("VACUUM (ANALYZE) jobs");
    return { kind: "inserted", count };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
    await store.close();
  }
}

interface Constraint {
  /** As `regclass` prints it (quoted where needed). */
  readonly table: string;
  readonly name: string;
  readonly definition: string;
}

/**
 * The UNIQUE constraints of jobs, then the foreign keys that reference jobs: the order to add them
 * back in (a foreign key needs its unique index). Names and definitions are the schema's own.
 */
async function uniqueConstraints(client: pg.PoolClient): Promise<Constraint[]> {
  const { rows } = await client.query<Constraint>(
    `SELECT conrelid::regclass::text AS table, conname AS name, pg_get_constraintdef(oid) AS definition
     FROM pg_constraint
     WHERE (conrelid = 'jobs'::regclass AND contype = 'u') OR (confrelid = 'jobs'::regclass AND contype = 'f')
     ORDER BY contype DESC, conname`,
  );
  return rows;
}
