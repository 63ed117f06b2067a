/**
 * Lifecycle progress reports acknowledged per second (`--writers` writers, one job each, Connect JSON over
 * HTTP/1.1), against raw durable autocommit UPDATEs with the service's own pragmas on a scratch database.
 * The rpcs are found in the generated descriptors (bench/core/lifecycle.ts).
 */
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { generateJobs, insertJobs } from "../../src/seed/generate.js";
import { openDatabase } from "../../src/storage/database.js";
import type { BenchContext } from "../core/context.js";
import { CannotMeasure } from "../core/errors.js";
import { type Figure, figure, fmt } from "../core/figure.js";
import { COUNTER, findLifecycle, finishWriters, PERCENT, prepareWriters } from "../core/lifecycle.js";
import { LOAD_WRITES } from "../core/load.js";
import type { RunRecord } from "../core/report.js";
import type { Scenario } from "../core/scenario.js";
import { BENCH_DOMAIN, SEED_NOW } from "../core/workload.js";
import type { WriteLoadSpec } from "../load/writes.js";

/** Raw durable writes: autocommit single-row UPDATEs with the service's own pragmas, on a scratch database. */
function rawWritesPerSecond(
  dir: string,
  ms: number,
): { perSecond: number; synchronous: string; journal: string } {
  const file = path.join(dir, "scratch-writes.db");
  for (const suffix of ["", "-wal", "-shm"]) fs.rmSync(`${file}${suffix}`, { force: true });
  const db = openDatabase({ file });
  try {
    insertJobs(db, generateJobs({ count: 1000, now: SEED_NOW }));
    const ids = (db.prepare("SELECT job_id FROM jobs LIMIT 100").all() as { job_id: string }[]).map(
      (r) => r.job_id,
    );
    const update = db.prepare("UPDATE jobs SET updated_at = ? WHERE job_id = ?");
    let n = 0;
    const start = performance.now();
    while (performance.now() - start < ms) {
      update.run(new Date().toISOString(), ids[n % ids.length]);
      n++;
    }
    const seconds = (performance.now() - start) / 1000;
    const sync = Number(db.pragma("synchronous", { simple: true }));
    return {
      perSecond: n / seconds,
      synchronous: ["OFF", "NORMAL", "FULL", "EXTRA"][sync] ?? String(sync),
      journal: String(db.pragma("journal_mode", { simple: true })),
    };
  } finally {
    db.close();
    for (const suffix of ["", "-wal", "-shm"]) fs.rmSync(`${file}${suffix}`, { force: true });
  }
}

type Outcome = { run: RunRecord; tokenLabel: string } | { status: Figure["status"]; reason: string };

async function measureWrites(ctx: BenchContext): Promise<Outcome> {
  const probe = await findLifecycle();
  if (!probe.found) return { status: "not measurable yet", reason: probe.reason };
  const server = await ctx.service();
  try {
    const setup = await prepareWriters(
      server.baseUrl,
      probe,
      [
        { label: "DOMAIN_ADMIN access token", token: ctx.token },
        { label: "system token", token: ctx.systemToken },
      ],
      ctx.o.writers,
      async () => {
        const db = new Database(ctx.largest.file, { readonly: true });
        try {
          const rows = db
            .prepare("SELECT job_id FROM jobs WHERE domain_id = ? AND status = 'IN_PROGRESS' LIMIT ?")
            .all(BENCH_DOMAIN, ctx.o.writers) as { job_id: string }[];
          return rows.map((r) => r.job_id);
        } finally {
          db.close();
        }
      },
    );
    const spec: WriteLoadSpec = {
      url: `${server.baseUrl}${setup.path}`,
      headers: setup.headers,
      bodies: setup.bodies,
      counterPlaceholder: String(COUNTER),
      percentPlaceholder: String(PERCENT),
      durationS: ctx.o.durationS,
      warmupS: ctx.o.warmupS,
    };
    const run = await ctx.load(LOAD_WRITES, spec, `service / ${setup.path} (writes)`, server.child.pid);
    await finishWriters(server.baseUrl, probe, setup);
    return { run, tokenLabel: setup.tokenLabel };
  } catch (error) {
    if (error instanceof CannotMeasure) throw error;
    return {
      status: "not measurable yet",
      reason: `lifecycle rpc found but not drivable: ${(error as Error).message.slice(0, 300)}`,
    };
  }
}

export const lifecycleWritesScenario: Scenario = {
  name: "writes",
  title: "lifecycle progress writes acknowledged, against raw durable UPDATEs",
  async run(ctx) {
    const writes = await measureWrites(ctx);
    if ("reason" in writes) ctx.log(`    lifecycle writes: ${writes.reason}`);
    const raw = rawWritesPerSecond(ctx.workDir, ctx.o.quick ? 300 : 1500);
    ctx.log(
      `    raw writes: ${fmt(raw.perSecond)}/s (journal ${raw.journal}, synchronous ${raw.synchronous})`,
    );
    const durability = `journal ${raw.journal}, synchronous ${raw.synchronous} (openDatabase)`;
    const common = {
      name: "lifecycle.progress_writes_per_s",
      title: "lifecycle progress reports acknowledged per second",
      unit: "writes/s",
      baseline: raw.perSecond,
      baselineName: "raw autocommit UPDATE in-process",
      target: { on: "value", op: ">=", threshold: 10_000 },
    } as const;
    return [
      "run" in writes
        ? figure({
            ...common,
            value: writes.run.result.rps,
            note: `${ctx.o.writers} writers (one job each, ${writes.tokenLabel}), Connect JSON HTTP/1.1; ${durability}`,
          })
        : figure({ ...common, value: null, status: writes.status, note: `${writes.reason}; ${durability}` }),
    ];
  },
};
