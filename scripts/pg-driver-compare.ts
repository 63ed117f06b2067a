/**
 * Which PostgreSQL driver serves `get` and `list` faster through Kysely: `pg` (Kysely's
 * PostgresDialect) or `postgres` (kysely-postgres-js)? Same queries, same pool size, rounds
 * interleaved so machine noise hits both alike. Run against a seeded database:
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/jobs_bench npx tsx scripts/pg-driver-compare.ts
 *
 * Prints requests/s and p50/p99 (ms) per driver and query.
 */
import { Kysely, PostgresDialect, type SqlBool, sql } from "kysely";
import { PostgresJSDialect } from "kysely-postgres-js";
import pg from "pg";
import postgres from "postgres";
import type { JobsDatabase } from "../src/storage/schema.js";

const url = process.env.DATABASE_URL;
if (!url) throw new Error("set DATABASE_URL to a seeded PostgreSQL database");
const POOL = 8;
const CONCURRENCY = 8;
const OPS = Number(process.env.OPS ?? 2000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);

const viaPg = new Kysely<JobsDatabase>({
  dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: POOL }) }),
});
const viaPostgresJs = new Kysely<JobsDatabase>({
  dialect: new PostgresJSDialect({ postgres: postgres(url, { max: POOL }) }),
});

const ids = (
  await sql<{ job_id: string }>`SELECT job_id FROM jobs TABLESAMPLE SYSTEM (1) LIMIT 5000`.execute(viaPg)
).rows.map((r) => r.job_id);
const domain = "domain-seed0001";
if (ids.length === 0) throw new Error("the database has no jobs: run npm run seed first");

type Query = (db: Kysely<JobsDatabase>, i: number) => Promise<unknown>;
const queries: Record<string, Query> = {
  get: (db, i) =>
    db
      .selectFrom("jobs")
      .selectAll()
      .where(sql<SqlBool>`job_id = ${ids[i % ids.length]} AND domain_id = ${domain}`)
      .execute(),
  "list 100 + count": (db) =>
    db
      .transaction()
      .setIsolationLevel("repeatable read")
      .execute(async (tx) => {
        const where = sql<SqlBool>`domain_id = ${domain} AND workspace_id = 'workspace-seed0001-01'`;
        await tx.selectFrom("jobs").select(sql<number>`count(*)`.as("n")).where(where).execute();
        return tx
          .selectFrom("jobs")
          .selectAll()
          .where(where)
          .orderBy("created_at", "desc")
          .orderBy("seq", "desc")
          .limit(100)
          .execute();
      }),
};

async function measure(
  db: Kysely<JobsDatabase>,
  query: Query,
): Promise<{ rps: number; p50: number; p99: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < OPS) {
        const i = next++;
        const t = performance.now();
        await query(db, i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const q = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] as number;
  return { rps: OPS / seconds, p50: q(0.5), p99: q(0.99) };
}

const drivers = { pg: viaPg, postgres: viaPostgresJs } as const;
for (const [name, query] of Object.entries(queries)) {
  const results: Record<string, { rps: number; p50: number; p99: number }[]> = { pg: [], postgres: [] };
  for (const db of Object.values(drivers)) await measure(db, query); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (const [driver, db] of Object.entries(drivers)) results[driver]?.push(await measure(db, query));
  }
  for (const [driver, runs] of Object.entries(results)) {
    const median = (f: (x: { rps: number; p50: number; p99: number }) => number) =>
      runs.map(f).sort((a, b) => a - b)[Math.floor(runs.length / 2)] as number;
    console.log(
      `${name.padEnd(18)} ${driver.padEnd(9)} ${median((x) => x.rps)
        .toFixed(0)
        .padStart(
          6,
        )} req/s  p50 ${median((x) => x.p50).toFixed(2)} ms  p99 ${median((x) => x.p99).toFixed(2)} ms`,
    );
  }
}
await viaPg.destroy();
await viaPostgresJs.destroy();
