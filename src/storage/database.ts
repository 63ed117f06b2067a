/**
 * Opening the SQLite database: WAL, pragmas, user functions, migrations.
 * Everything SQLite-specific about the connection lives here and in `dialect/`.
 */
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { registerSqliteFunctions } from "./dialect/sqlite/functions.js";
import { migrate } from "./migrations.js";

export interface OpenOptions {
  /** File path, or ":memory:" for tests. */
  readonly file: string;
  readonly readonly?: boolean;
  /** How long a writer waits for the file lock before SQLITE_BUSY (ms). */
  readonly busyTimeoutMs?: number;
  /**
   * SQLite's page cache for this connection (MiB). Unset: better-sqlite3's build default, 16 MB per
   * connection, which a scan of a large table fills (docs/benchmarks.md "Memory").
   */
  readonly cacheMb?: number;
}

export type Db = Database.Database;

export function openDatabase(options: OpenOptions): Db {
  if (options.file !== ":memory:")
    fs.mkdirSync(path.dirname(path.resolve(options.file)), { recursive: true });
  const db = new Database(options.file, { readonly: options.readonly ?? false });
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 1000))}`);
    if (!options.readonly) {
      db.pragma("journal_mode = WAL");
      // NORMAL in WAL mode: a committed transaction survives a process crash (SIGKILL); only an OS
      // crash or power loss can roll back the last transactions. Documented in docs/design.md.
      db.pragma("synchronous = NORMAL");
      db.pragma("journal_size_limit = 67108864");
    }
    // A negative cache_size is in KiB.
    if (options.cacheMb !== undefined)
      db.pragma(`cache_size = -${Math.max(1, Math.floor(options.cacheMb)) * 1024}`);
    db.pragma("foreign_keys = ON");
    registerSqliteFunctions(db);
    if (!options.readonly) migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
