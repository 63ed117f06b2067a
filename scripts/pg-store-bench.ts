/**
 * The PostgreSQL store against the plain `pg` driver running the same SQL, on a seeded database
 * (`npm run seed -- --jobs 1000000` with DATABASE_URL set). Rounds alternate so noise hits both.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/jobs_bench npx tsx scripts/pg-store-bench.ts
 *
 * get: one job by id in a workspace scope. list: 100 newest of a workspace (with the domain-level
 * jobs) and the total, one snapshot. progress: a version-checked progress report in a write
 * transaction (lock the row, update, change-feed append under its lock, commit).
 */
import pg from "pg";
import type { Condition } from "../src/query/ast.js";
import { appendChanges } from "../src/storage/dialect/postgres/change-feed.js";
import { openPostgresStore } from "../src/storage/dialect/postgres/open.js";
import { postgresDialect } from "../src/storage/dialect/postgres/postgres-dialect.js";
import { PostgresQueries } from "../src/storage/dialect/postgres/queries.js";
import type { ListRequest } from "../src/storage/store.js";

const url = process.env.DATABASE_URL;
if (!url) throw new Error("set DATABASE_URL to a seeded PostgreSQL database");
const CONCURRENCY = 8;
const OPS = Number(process.env.OPS ?? 2000);
const WRITE_OPS = Number(process.env.WRITE_OPS ?? 400);
const ROUNDS = Number(process.env.ROUNDS ?? 3);

const store = await openPostgresStore({
  url,
  size: CONCURRENCY,
  statementTimeoutMs: 30_000,
  connectTimeoutMs: 5000,
});
const plain = new pg.Pool({ connectionString: url, max: CONCURRENCY });
const q = new PostgresQueries(postgresDialect);

const domain = "domain-seed0001";
const workspace = "workspace-seed0001-01";
const field = (column: "domain_id" | "workspace_id") => ({ column, path: [], name: column }) as const;
const scope: Condition[] = [
  { op: "eq", field: field("domain_id"), value: domain },
  { op: "in", field: field("workspace_id"), values: [workspace, "*"] },
];
const ids = (
  await plain.query<{ job_id: string }>("SELECT job_id FROM jobs WHERE domain_id = $1 LIMIT 5000", [domain])
).rows.map((r) => r.job_id);
if (ids.length === 0) throw new Error("no jobs: run npm run seed first");
const listRequest: ListRequest = {
  where: { and: scope, or: [] },
  sort: [],
  page: { offset: 0, limit: 100 },
  only: null,
  countOnly: false,
  unpagedMax: 1000,
};
// Jobs for progress writes: IN_PROGRESS copies so the bench never touches seeded history.
await plain.query("DELETE FROM jobs WHERE job_id LIKE 'job-bench-%'");
await plain.query(
  `INSERT INTO jobs (job_id, status, resource_group, domain_id, workspace_id, trusted_account_id, created_at, updated_at, started_at)
   SELECT 'job-bench-' || g, 'IN_PROGRESS', 'WORKSPACE', $1, $2, 'ta-bench-' || g, now(), now(), now() FROM generate_series(1, $3) g`,
  [domain, workspace, CONCURRENCY],
);

type Op = (i: number) => Promise<unknown>;

async function measure(op: Op, ops: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, worker) => {
      while (next < ops) await op(next++ * CONCURRENCY + worker);
    }),
  );
  return ops / ((performance.now() - started) / 1000);
}

const getSql = q.byId("job-x", scope);
const countSql = q.listCount(listRequest);
const pageSql = q.listPage(listRequest);

const pairs: Record<string, { ops: number; store: Op; plain: Op }> = {
  get: {
    ops: OPS,
    store: (i) => store.get(ids[i % ids.length] as string, scope),
    plain: (i) => plain.query(getSql.sql, [ids[i % ids.length], ...getSql.parameters.slice(1)]),
  },
  "list 100 + count": {
    ops: OPS / 4,
    store: () => store.list(listRequest),
    plain: async () => {
      const c = await plain.connect();
      try {
        await c.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        await c.query(countSql.sql, countSql.parameters as unknown[]);
        await c.query("SELECT coalesce(max(id), 0) FROM job_changes");
        await c.query(pageSql.sql, pageSql.parameters as unknown[]);
        await c.query("COMMIT");
      } finally {
        c.release();
      }
    },
  },
  "progress write": {
    ops: WRITE_OPS,
    store: (i) =>
      store.write(async (tx) => {
        const id = `job-bench-${(i % CONCURRENCY) + 1}`;
        const row = await tx.find(id, scope);
        if (!row) throw new Error(`missing ${id}`);
        await tx.update(id, row.version as number, {
          heartbeat_at: new Date().toISOString(),
          records_processed: i,
        });
      }),
    plain: async (i) => {
      const id = `job-bench-${(i % CONCURRENCY) + 1}`;
      const c = await plain.connect();
      try {
        await c.query("BEGIN");
        const found = await c.query("SELECT * FROM jobs WHERE job_id = $1 FOR UPDATE", [id]);
        const row = found.rows[0];
        const updated = await c.query(
          "UPDATE jobs SET heartbeat_at = $1, records_processed = $2, version = version + 1 WHERE job_id = $3 AND version = $4 RETURNING *",
          [new Date().toISOString(), i, id, row.version],
        );
        const r = updated.rows[0];
        await appendChanges(c, [
          {
            job_id: id,
            domain_id: r.domain_id,
            workspace_id: r.workspace_id,
            kind: "updated",
            event_seq: null,
          },
        ]);
        await c.query("COMMIT");
      } finally {
        c.release();
      }
    },
  },
};

for (const [name, pair] of Object.entries(pairs)) {
  await measure(pair.store, pair.ops / 4);
  await measure(pair.plain, pair.ops / 4);
  const s: number[] = [];
  const p: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    s.push(await measure(pair.store, pair.ops));
    p.push(await measure(pair.plain, pair.ops));
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const ms = median(s);
  const mp = median(p);
  console.log(
    `${name.padEnd(18)} store ${ms.toFixed(0).padStart(6)} ops/s   plain pg ${mp.toFixed(0).padStart(6)} ops/s   plain/store ${(mp / ms).toFixed(2)}`,
  );
}
await plain.query("DELETE FROM jobs WHERE job_id LIKE 'job-bench-%'");
await store.close();
await plain.end();
