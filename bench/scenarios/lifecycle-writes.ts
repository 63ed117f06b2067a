/**
 * Lifecycle progress reports acknowledged per second (`--writers` writers, one job each, Connect JSON over
 * HTTP/1.1), against raw durable autocommit UPDATEs with the service's own pragmas on a scratch database.
 * The rpcs are found in the generated descriptors (bench/core/lifecycle.ts).
 *
 * Without the wire: the same reports through `JobLifecycleService` on a `SqliteStore` (scratch file,
 * the service's pragmas), `--writers` concurrent callers, with group commit and with a transaction per
 * write (`maxGroupWrites: 1`), alternating rounds in the same run.
 */
import fs from "node:fs";
import path from "node:path";
import type { Principal } from "../../src/auth/principal.js";
import { generateJobs, insertJobs } from "../../src/seed/generate.js";
import { JobLifecycleService } from "../../src/service/job-lifecycle.js";
import { openDatabase } from "../../src/storage/database.js";
import { SqliteStore } from "../../src/storage/sqlite/sqlite-store.js";
import type { BenchContext } from "../core/context.js";
import { CannotMeasure } from "../core/errors.js";
import { type Figure, figure, fmt } from "../core/figure.js";
import {
  findLifecycle,
  finishWriters,
  prepareWriters,
  seededRunningJobs,
  type WriterSetup,
  writeLoadSpec,
} from "../core/lifecycle.js";
import { LOAD_WRITES } from "../core/load.js";
import { freePort, startNode, waitHttpOk } from "../core/proc.js";
import type { RunRecord } from "../core/report.js";
import type { Scenario } from "../core/scenario.js";
import { BENCH_DOMAIN, SEED_NOW } from "../core/workload.js";
import type { WriteLoadSpec } from "../load/writes.js";
import type { BareWritesSpec } from "../servers/bare-writes.js";

/** A scratch database file and its WAL and shared-memory files. */
function removeDatabase(file: string): void {
  for (const suffix of ["", "-wal", "-shm"]) fs.rmSync(`${file}${suffix}`, { force: true });
}

/** Raw durable writes: autocommit single-row UPDATEs with the service's own pragmas, on a scratch database. */
function rawWritesPerSecond(
  dir: string,
  ms: number,
): { perSecond: number; synchronous: string; journal: string } {
  const file = path.join(dir, "scratch-writes.db");
  removeDatabase(file);
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
    removeDatabase(file);
  }
}

/** The collector that reports progress in-process (a system token of the bench's domain). */
export const WORKER: Principal = {
  tokenType: "SYSTEM_TOKEN",
  role: null,
  domainId: BENCH_DOMAIN,
  workspaceId: null,
  permissions: [],
  subject: "bench-writer",
};

/** One started job per writer (each of its own account, so the duplicate rule leaves them be): their ids. */
export async function startedJobs(lifecycle: JobLifecycleService, writers: number): Promise<string[]> {
  const ids: string[] = [];
  for (let w = 0; w < writers; w++) {
    const job = await lifecycle.create(WORKER, { trusted_account_id: `ta-w${w}`, resource_group: "DOMAIN" });
    await lifecycle.start(WORKER, { job_id: job.job_id });
    ids.push(job.job_id as string);
  }
  return ids;
}

/** Progress reports per second through the service on a scratch store; `maxGroupWrites` 1 = no grouping. */
async function serviceWritesPerSecond(
  dir: string,
  writers: number,
  ms: number,
  maxGroupWrites: number,
): Promise<number> {
  const file = path.join(dir, `scratch-service-writes-${maxGroupWrites}.db`);
  const remove = () => removeDatabase(file);
  remove();
  const store = new SqliteStore(openDatabase({ file }), { ownsConnection: true, maxGroupWrites });
  try {
    const lifecycle = new JobLifecycleService(store, { duplicateWindowMs: 600_000 });
    const ids = await startedJobs(lifecycle, writers);
    let done = 0;
    const until = performance.now() + ms;
    const start = performance.now();
    await Promise.all(
      ids.map(async (jobId) => {
        for (let n = 1; performance.now() < until; n++) {
          await lifecycle.reportProgress(WORKER, { job_id: jobId, records_processed: n });
          done++;
        }
      }),
    );
    return done / ((performance.now() - start) / 1000);
  } finally {
    await store.close();
    remove();
  }
}

/**
 * The same writers' load against bare `node:http` (bench/servers/bare-writes.ts) on the service's own
 * database file and the same jobs, right after the service's run (the service idle meanwhile): with the
 * service's statements run by hand under group commit (`durable`), and answering without the database.
 * What no code of ours costs: the floor the service's figure is read against, on the same table (an
 * update's index work and page reads depend on it), the same rows and the same page cache.
 */
async function bareWrites(
  ctx: BenchContext,
  setup: WriterSetup,
  spec: WriteLoadSpec,
): Promise<{ durable: RunRecord; httpOnly: RunRecord }> {
  const runs: RunRecord[] = [];
  for (const durable of [true, false]) {
    const port = await freePort();
    const bare: BareWritesSpec = {
      port,
      dbFile: ctx.largest.file,
      authorization: setup.headers.authorization ?? "",
      domainId: BENCH_DOMAIN,
      durable,
    };
    const child = ctx.track(
      startNode("bench/servers/bare-writes.ts", [JSON.stringify(bare)], {
        cpu: ctx.pinning.serverCpu,
        name: "bare writes server",
      }),
    );
    try {
      await waitHttpOk(`http://127.0.0.1:${port}/healthz`, child, 30_000);
      const label = `bare node:http (writes, ${durable ? "durable" : "no database"})`;
      runs.push(
        await ctx.load(
          LOAD_WRITES,
          { ...spec, url: `http://127.0.0.1:${port}${setup.path}` },
          label,
          child.pid,
        ),
      );
    } finally {
      await child.stop();
    }
  }
  return { durable: runs[0] as RunRecord, httpOnly: runs[1] as RunRecord };
}

type Outcome =
  | { run: RunRecord; tokenLabel: string; bare: { durable: RunRecord; httpOnly: RunRecord } }
  | { status: Figure["status"]; reason: string };

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
      seededRunningJobs(ctx.largest.file, ctx.o.writers),
    );
    const spec = writeLoadSpec(server.baseUrl, setup, ctx.o);
    const run = await ctx.load(LOAD_WRITES, spec, `service / ${setup.path} (writes)`, server.child.pid);
    // The floor on the same jobs while they are still running; the service then finishes them.
    const bare = await bareWrites(ctx, setup, spec).finally(() =>
      finishWriters(server.baseUrl, probe, setup),
    );
    return { run, tokenLabel: setup.tokenLabel, bare };
  } catch (error) {
    if (error instanceof CannotMeasure) throw error;
    return {
      status: "not measurable yet",
      reason: `lifecycle rpc found but not drivable: ${(error as Error).message.slice(0, 300)}`,
    };
  }
}

/** The floor: the same load on bare node:http, with the statements by hand and without the database. */
function bareFigures(
  service: RunRecord,
  bare: { durable: RunRecord; httpOnly: RunRecord },
  writers: number,
  durability: string,
): Figure[] {
  const cpu = (r: RunRecord) => r.serverCpuUsPerRequest ?? null;
  return [
    figure({
      name: "lifecycle.progress_writes_bare_per_s",
      title: "progress writes acknowledged by bare node:http running the same statements with group commit",
      unit: "writes/s",
      value: bare.durable.result.rps,
      baseline: bare.httpOnly.result.rps,
      baselineName: "the same bare server answering without the database",
      note: `${writers} writers, same load generator and bodies; ${durability}`,
    }),
    figure({
      name: "lifecycle.progress_write_server_cpu_us",
      title:
        "server CPU per acknowledged progress write: the service against bare node:http (same statements)",
      unit: "µs",
      value: cpu(service),
      baseline: cpu(bare.durable),
      baselineName: "bare node:http with the statements by hand",
      note: `bare node:http without the database: ${fmt(cpu(bare.httpOnly) ?? Number.NaN)} µs per request`,
    }),
  ];
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
    const ms = ctx.o.quick ? 1000 : 3000;
    const grouped: number[] = [];
    const single: number[] = [];
    for (let round = 0; round < 2; round++) {
      grouped.push(await serviceWritesPerSecond(ctx.workDir, ctx.o.writers, ms, 256));
      single.push(await serviceWritesPerSecond(ctx.workDir, ctx.o.writers, ms, 1));
    }
    const inProcess = { grouped: Math.max(...grouped), single: Math.max(...single) };
    ctx.log(
      `    service writes in-process: ${fmt(inProcess.grouped)}/s group commit, ${fmt(inProcess.single)}/s a transaction per write`,
    );
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
      ...("run" in writes ? bareFigures(writes.run, writes.bare, ctx.o.writers, durability) : []),
      figure({
        name: "lifecycle.progress_writes_in_process_per_s",
        title: "progress reports through the service layer, no wire: group commit vs a transaction per write",
        unit: "writes/s",
        value: inProcess.grouped,
        baseline: inProcess.single,
        baselineName: "the same store with a transaction per write (maxGroupWrites 1)",
        note: `${ctx.o.writers} concurrent callers, best of 2 alternating rounds of ${ms} ms; ${durability}`,
      }),
    ];
  },
};
