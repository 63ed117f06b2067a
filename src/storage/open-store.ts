/**
 * The storage backend the configuration selects, behind the `JobStore` interface. SQLite (one file
 * under DATA_DIR) is the embedded default; `DATABASE_URL` selects PostgreSQL (docs/scale-out.md).
 */
import type { Config } from "../config.js";
import { openDatabase } from "./database.js";
import { SqliteReadPool } from "./sqlite/read-pool.js";
import { SqliteStore } from "./sqlite/sqlite-store.js";
import type { JobStore } from "./store.js";

export interface OpenStoreOptions {
  /** Injected clock (tests). */
  readonly now?: () => Date;
}

/** Open (and migrate) the configured database. `close()` on the store releases everything. */
export async function openStore(
  config: Pick<
    Config,
    | "databaseFile"
    | "databaseBusyTimeoutMs"
    | "databaseCacheMb"
    | "databaseReadWorkers"
    | "databaseReadWorkerHeapMb"
    | "databaseReadWorkerIdleMs"
    | "databaseReadWorkerIdleKeep"
    | "maxTimeoutMs"
    | "postgres"
    | "limits"
  >,
  options: OpenStoreOptions = {},
): Promise<JobStore> {
  if (config.postgres) {
    const pg = config.postgres;
    // Loaded only when selected: on SQLite the driver and its modules would be resident for nothing
    // (docs/benchmarks.md "Memory").
    const { openPostgresStore } = await import("./dialect/postgres/open.js");
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
  const db = openDatabase({
    file: config.databaseFile,
    busyTimeoutMs: config.databaseBusyTimeoutMs,
    cacheMb: config.databaseCacheMb,
  });
  // Heavy reads go to worker threads with their own connections (an in-memory database has no file
  // to share, so it keeps them on the main thread).
  const reader =
    config.databaseReadWorkers > 0 && config.databaseFile !== ":memory:"
      ? new SqliteReadPool({
          file: config.databaseFile,
          size: config.databaseReadWorkers,
          busyTimeoutMs: config.databaseBusyTimeoutMs,
          maxTimeMs: config.maxTimeoutMs,
          cacheMb: config.databaseCacheMb,
          heapMb: config.databaseReadWorkerHeapMb,
          regexCache: config.limits.regexCache,
          idleMs: config.databaseReadWorkerIdleMs || undefined,
          idleKeep: config.databaseReadWorkerIdleKeep,
        })
      : undefined;
  // The workers start with the first list or stat, not now: a process that serves only gets and
  // writes never pays for them (docs/benchmarks.md "Memory").
  return new SqliteStore(db, { now: options.now, ownsConnection: true, reader });
}
