/**
 * Move an existing SQLite database to PostgreSQL (`npm run migrate-to-postgres`): every table the
 * two schemas share, with its ids (job seq, event ids, change-feed ids) kept, so sort ties, event
 * numbering and watch cursors stay valid. One PostgreSQL transaction: a failure leaves the target as
 * it was. The target's jobs table must be empty (this is a move, not a merge).
 */
import type Database from "better-sqlite3";
import { copyRows } from "./copy-rows.js";
import { openPostgresStore } from "./open.js";
import type { PoolOptions } from "./pool.js";

/** In dependency order (events reference jobs). */
const TABLES = ["jobs", "job_events", "job_tombstones", "job_changes"] as const;
/** Identity columns whose sequences must continue after the copied ids. */
const IDENTITIES: Readonly<Record<string, string>> = { jobs: "seq", job_events: "id", job_changes: "id" };

export type ImportCounts = Record<string, number>;

export async function importSqlite(source: Database.Database, target: PoolOptions): Promise<ImportCounts> {
  const store = await openPostgresStore(target);
  const client = await store.pool.connect();
  try {
    await client.query("BEGIN; SET LOCAL statement_timeout = 0");
    const existing = await client.query<{ n: number }>("SELECT count(*) AS n FROM jobs");
    if ((existing.rows[0]?.n ?? 0) > 0) {
      throw new Error(
        `the PostgreSQL database already holds ${existing.rows[0]?.n} jobs; migrate into an empty one`,
      );
    }
    const counts: ImportCounts = {};
    for (const table of TABLES) {
      const sourceColumns = new Set(
        (source.prepare(`SELECT name FROM pragma_table_xinfo(?)`).all(table) as { name: string }[]).map(
          (c) => c.name,
        ),
      );
      if (sourceColumns.size === 0) {
        counts[table] = 0;
        continue;
      }
      // Columns both sides have, except PostgreSQL's generated ones (duration_seconds is computed there).
      const { rows } = await client.query<{ name: string }>(
        `SELECT column_name AS name FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER'
         ORDER BY ordinal_position`,
        [table],
      );
      const columns = rows.map((r) => r.name).filter((name) => sourceColumns.has(name));
      const select = source.prepare(`SELECT ${columns.map((c) => `"${c}"`).join(", ")} FROM "${table}"`);
      // COPY writes identity columns as given (like OVERRIDING SYSTEM VALUE).
      counts[table] = await copyRows(
        client,
        table,
        columns,
        select.iterate() as Iterable<Record<string, unknown>>,
      );
      const identity = IDENTITIES[table];
      if (identity) {
        await client.query(
          `SELECT setval(pg_get_serial_sequence($1, $2), greatest((SELECT max("${identity}") FROM "${table}"), 1), (SELECT count(*) > 0 FROM "${table}"))`,
          [table, identity],
        );
      }
    }
    await client.query("COMMIT");
    for (const table of TABLES) await client.query(`VACUUM (ANALYZE) "${table}"`);
    return counts;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
    await store.close();
  }
}
