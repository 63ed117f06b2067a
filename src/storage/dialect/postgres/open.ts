/** Open the PostgreSQL backend: the pool, then the migrations (under their advisory lock). */
import { migratePostgres } from "./migrations.js";
import type { PoolOptions } from "./pool.js";
import { PostgresStore } from "./postgres-store.js";

export async function openPostgresStore(options: PoolOptions, now?: () => Date): Promise<PostgresStore> {
  const store = new PostgresStore(options, now ?? null);
  try {
    await migratePostgres(store.pool);
    return store;
  } catch (error) {
    await store.close();
    throw error;
  }
}
