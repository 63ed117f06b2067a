/**
 * The storage backend the configuration selects, behind the `JobStore` interface. SQLite (one file
 * under DATA_DIR) is the embedded default; `DATABASE_URL` selects PostgreSQL (docs/scale-out.md).
 */
import type { Config } from "../config.js";
import { openDatabase } from "./database.js";
import { openPostgresStore } from "./dialect/postgres/open.js";
import { SqliteStore } from "./sqlite/sqlite-store.js";
import type { JobStore } from "./store.js";

export interface OpenStoreOptions {
  /** Injected clock (tests). */
  readonly now?: () => Date;
}

/** Open (and migrate) the configured database. `close()` on the store releases everything. */
export async function openStore(
  config: Pick<Config, "databaseFile" | "databaseBusyTimeoutMs" | "postgres">,
  options: OpenStoreOptions = {},
): Promise<JobStore> {
  if (config.postgres) {
    const pg = config.postgres;
    return openPostgresStore(
      {
        url: pg.url,
        size: pg.poolSize,
        statementTimeoutMs: pg.statementTimeoutMs,
        connectTimeoutMs: pg.connectTimeoutMs,
      },
      options.now,
    );
  }
  const db = openDatabase({ file: config.databaseFile, busyTimeoutMs: config.databaseBusyTimeoutMs });
  return new SqliteStore(db, { now: options.now, ownsConnection: true });
}
