/**
 * The PostgreSQL column: `get`, `list` with count, both `stat` workloads and progress writes through
 * the service layer on the PostgreSQL store (`JobService` on `PostgresStore`, in-process: the wire
 * costs the same on both backends and the `get`/`list` scenarios measure it), each against the same
 * statements replayed by the plain `pg` driver in the same run. Reads alternate call by call (service,
 * then plain), so both see the same moments of a noisy machine.
 */
import pg from "pg";
import type { Condition } from "../../src/query/ast.js";
import { JobService } from "../../src/service/job-service.js";
import type { JsonObject } from "../../src/service/job-view.js";
import { appendChanges } from "../../src/storage/dialect/postgres/change-feed.js";
import { openPostgresStore } from "../../src/storage/dialect/postgres/open.js";
import type { PostgresStore } from "../../src/storage/dialect/postgres/postgres-store.js";
import type { BenchContext } from "../core/context.js";
import { CannotMeasure } from "../core/errors.js";
import { type Figure, figure, fmt } from "../core/figure.js";
import { BENCH_PRINCIPAL } from "../core/inprocess.js";
import { percentile } from "../core/measure.js";
import { describeStatements, RecordingClient, record, replay } from "../core/pg-replay.js";
import type { Scenario } from "../core/scenario.js";
import { BENCH_DOMAIN, LIST_REQUEST, STAT_WORKLOADS } from "../core/workload.js";

const POOL = 10;

/** p50 of `service` and of `plain`, called alternately under the run's latency budget (ms). */
async function alternate(
  ctx: BenchContext,
  service: () => Promise<unknown>,
  plain: () => Promise<unknown>,
): Promise<{ service: number; plain: number; n: number }> {
  const b = ctx.o.latency;
  for (let i = 0; i < b.warmup; i++) {
    await service();
    await plain();
  }
  const s: number[] = [];
  const p: number[] = [];
  const start = performance.now();
  while (s.length < b.maxIterations && (s.length < b.minIterations || performance.now() - start < b.minMs)) {
    let t = performance.now();
    await service();
    s.push(performance.now() - t);
    t = performance.now();
    await plain();
    p.push(performance.now() - t);
  }
  return { service: percentile(s, 50), plain: percentile(p, 50), n: s.length };
}

/** Completed calls per second of `op` with `workers` concurrent callers for `seconds`. */
async function throughput(
  workers: number,
  seconds: number,
  op: (worker: number, i: number) => Promise<void>,
) {
  let done = 0;
  const until = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      while (performance.now() < until) await op(w, done++);
    }),
  );
  return done / ((performance.now() - start) / 1000);
}

function unavailable(reason: string): Figure[] {
  const names = ["pg.get.p50_ms", "pg.list.p50_ms", ...STAT_WORKLOADS.map((w) => `pg.${w.name}.p50_ms`)];
  return [
    ...names.map((name) => figure({ name, title: name, value: null, unit: "ms", note: reason })),
    figure({
      name: "pg.progress_writes_per_s",
      title: "progress writes",
      value: null,
      unit: "writes/s",
      note: reason,
    }),
  ];
}

/** Progress writes: the store's version-checked transaction vs the same statements by hand. */
async function writes(ctx: BenchContext, store: PostgresStore, plain: pg.Pool): Promise<Figure> {
  const writers = ctx.o.writers;
  const ids = Array.from({ length: writers }, (_, i) => `job-bench-${i + 1}`);
  // IN_PROGRESS jobs of the run's own, so the writes never touch the seeded history.
  await plain.query(
    `INSERT INTO jobs (job_id, status, resource_group, domain_id, workspace_id, trusted_account_id, created_at, updated_at, started_at)
     SELECT 'job-bench-' || g, 'IN_PROGRESS', 'DOMAIN', $1, '*', 'ta-bench-' || g, now(), now(), now() FROM generate_series(1, $2) g`,
    [BENCH_DOMAIN, writers],
  );
  const scope: Condition[] = [
    { op: "eq", field: { column: "domain_id", path: [], name: "domain_id" }, value: BENCH_DOMAIN },
  ];
  const viaStore = (w: number, i: number) =>
    store.write(async (tx) => {
      const id = ids[w] as string;
      const row = await tx.find(id, scope);
      if (!row) throw new CannotMeasure(`missing ${id}`);
      await tx.update(id, row.version as number, {
        heartbeat_at: new Date().toISOString(),
        records_processed: i,
      });
    });
  const viaPlain = async (w: number, i: number) => {
    const id = ids[w] as string;
    const c = await plain.connect();
    try {
      await c.query("BEGIN");
      const row = (
        await c.query("SELECT * FROM jobs WHERE job_id = $1 AND domain_id = $2 FOR UPDATE", [
          id,
          BENCH_DOMAIN,
        ])
      ).rows[0];
      const r = (
        await c.query(
          "UPDATE jobs SET heartbeat_at = $1, records_processed = $2, version = version + 1 WHERE job_id = $3 AND version = $4 RETURNING *",
          [new Date().toISOString(), i, id, row.version],
        )
      ).rows[0];
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
  };
  await throughput(writers, ctx.o.warmupS, viaStore);
  await throughput(writers, ctx.o.warmupS, viaPlain);
  const s: number[] = [];
  const p: number[] = [];
  for (let r = 0; r < ctx.o.rounds; r++) {
    s.push(await throughput(writers, ctx.o.durationS, viaStore));
    p.push(await throughput(writers, ctx.o.durationS, viaPlain));
  }
  const value = percentile(s, 50);
  const baseline = percentile(p, 50);
  ctx.log(`    progress writes: ${fmt(value)}/s, plain pg ${fmt(baseline)}/s (${writers} writers)`);
  return figure({
    name: "pg.progress_writes_per_s",
    title: `PostgreSQL: progress writes per second, ${writers} writers (row lock, versioned update, change-feed row, commit)`,
    value,
    unit: "writes/s",
    baseline,
    baselineName: "plain pg, the same transaction by hand",
    note: "the store groups concurrent writes into one transaction (a savepoint each, one commit); the plain driver commits each write alone, under the change-feed lock (docs/scale-out.md)",
  });
}

export const pgScenario: Scenario = {
  name: "pg",
  title: "PostgreSQL: get, list with count, stat and progress writes vs the plain pg driver",
  async run(ctx) {
    const db = await ctx.postgres();
    if (!("url" in db)) {
      ctx.note(`pg: not measured: ${db.unavailable}`);
      return unavailable(db.unavailable);
    }
    const store = await openPostgresStore({
      url: db.url,
      size: POOL,
      statementTimeoutMs: 60_000,
      connectTimeoutMs: 10_000,
      Client: RecordingClient,
    });
    const plain = new pg.Pool({ connectionString: db.url, max: POOL, options: "-c TimeZone=UTC" });
    const service = new JobService(store, { maxPageSize: 1000 });
    const size = db.jobs.toLocaleString("en-US");
    try {
      const reads: { name: string; title: string; call: () => Promise<unknown>; target?: number }[] = [
        {
          name: "pg.get",
          title: `get by id over ${size} jobs`,
          call: () => service.get(BENCH_PRINCIPAL, { job_id: ctx.jobId }),
        },
        {
          name: "pg.list",
          title: `list 100 with filters, sort and total_count over ${size} jobs`,
          call: () => service.list(BENCH_PRINCIPAL, LIST_REQUEST),
          target: 2,
        },
        ...STAT_WORKLOADS.map((w) => ({
          name: `pg.${w.name}`,
          title: `${w.title} over ${size} jobs`,
          call: () => service.stat(BENCH_PRINCIPAL, w.request as { query?: JsonObject }),
        })),
      ];
      const figures: Figure[] = [];
      for (const r of reads) {
        await r.call(); // prepares what the store prepares, outside the recording
        const statements = await record(r.call);
        const m = await alternate(ctx, r.call, () => replay(plain, statements));
        ctx.log(`    ${r.name}: p50 ${fmt(m.service)} ms, plain pg ${fmt(m.plain)} ms (${m.n} pairs)`);
        figures.push(
          figure({
            name: `${r.name}.p50_ms`,
            title: `PostgreSQL: ${r.title}, JobService in-process, p50`,
            value: m.service,
            unit: "ms",
            baseline: m.plain,
            baselineName: "plain pg, the same statements, alternating",
            target: r.target === undefined ? null : { on: "ratio", op: "<=", threshold: r.target },
            note: `statements: ${describeStatements(statements)}`,
          }),
        );
      }
      figures.push(await writes(ctx, store, plain));
      return figures;
    } finally {
      await store.close();
      await plain.end();
    }
  },
};
