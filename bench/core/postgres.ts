/**
 * The benchmark's own PostgreSQL database: created (from template0) at first use, seeded with the
 * same jobs as the largest SQLite set (same generator, seed and "now") through the service's own
 * migrations and `seedPostgres`, and dropped when the run ends. The server is BENCH_DATABASE_URL,
 * else TEST_DATABASE_URL, else the development machines' postgres://postgres@127.0.0.1:5432/postgres.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { generateJobs } from "../../src/seed/generate.js";
import { seedPostgres } from "../../src/storage/dialect/postgres/seed.js";
import { cpuTimeMs } from "./proc.js";
import { SEED, SEED_NOW } from "./workload.js";

export const POSTGRES_ADMIN_URL =
  process.env.BENCH_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  "postgres://postgres@127.0.0.1:5432/postgres";

export interface BenchPostgres {
  readonly name: string;
  /** Connection string of the seeded database. */
  readonly url: string;
  readonly jobs: number;
  readonly seedSeconds: number;
  drop(): Promise<void>;
}

/** PostgreSQL is optional for `npm run bench`: its scenarios say why they could not measure. */
export type PostgresOrReason = BenchPostgres | { readonly unavailable: string };

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export async function createBenchPostgres(
  jobs: number,
  log: (line: string) => void,
): Promise<PostgresOrReason> {
  const name = `job_bench_${randomBytes(5).toString("hex")}`;
  try {
    // The name is ours (literal prefix + hex), never user input.
    await admin((c) => c.query(`CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'UTF8'`));
  } catch (error) {
    return {
      unavailable: `PostgreSQL at ${redact(POSTGRES_ADMIN_URL)} is unreachable: ${(error as Error).message}`,
    };
  }
  const u = new URL(POSTGRES_ADMIN_URL);
  u.pathname = `/${name}`;
  const url = u.toString();
  const drop = () => admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => {});
  try {
    const start = performance.now();
    await seedPostgres(
      { url, size: 2, statementTimeoutMs: 0, connectTimeoutMs: 10_000 },
      {
        reset: false,
        ifEmpty: false,
        rows: (firstIndex) => generateJobs({ count: jobs, seed: SEED, now: SEED_NOW, firstIndex }),
      },
    );
    const seedSeconds = (performance.now() - start) / 1000;
    log(
      `  PostgreSQL: seeded ${jobs.toLocaleString("en-US")} jobs into ${name} in ${seedSeconds.toFixed(1)} s`,
    );
    return { name, url, jobs, seedSeconds, drop };
  } catch (error) {
    await drop().catch(() => {});
    throw error;
  }
}

/** CPU time (ms) of each PostgreSQL backend serving `database` now, by pid (pg_stat_activity). */
export async function backendCpu(client: pg.ClientBase, database: string): Promise<Map<number, number>> {
  const { rows } = await client.query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    [database],
  );
  const out = new Map<number, number>();
  for (const { pid } of rows) {
    const ms = cpuTimeMs(pid);
    if (ms !== null) out.set(pid, ms);
  }
  return out;
}

/** CPU (ms) the backends alive at `after` spent since `before` (a backend born in between counts whole). */
export function backendCpuSpent(before: Map<number, number>, after: Map<number, number>): number {
  let ms = 0;
  for (const [pid, t] of after) ms += t - (before.get(pid) ?? 0);
  return ms;
}
