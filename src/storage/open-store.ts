/**
 * The storage backend the configuration selects, behind the `JobStore` interface. SQLite (one file
 * under DATA_DIR) is the embedded default; the PostgreSQL backend plugs in here.
 */
import type { Config } from "../config.js";
import { openDatabase } from "./database.js";
import { SqliteStore } from "./sqlite/sqlite-store.js";
import type { JobStore } from "./store.js";

export interface OpenStoreOptions {
  /** Injected clock (tests). */
  readonly now?: () => Date;
}

/** Open (and migrate) the configured database. `close()` on the store releases everything. */
export async function openStore(
  config: Pick<Config, "databaseFile" | "databaseBusyTimeoutMs">,
  options: OpenStoreOptions = {},
): Promise<JobStore> {
  const db = openDatabase({ file: config.databaseFile, busyTimeoutMs: config.databaseBusyTimeoutMs });
  return new SqliteStore(db, { now: options.now, ownsConnection: true });
}
