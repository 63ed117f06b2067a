/**
 * `npx tsx bench/ab-list-pg.ts --build base=/other/checkout --build new=. [--jobs N] [--rounds R]`: the
 * `list` scenario's request through each checkout's `JobService` on its PostgreSQL store, in this one
 * process, on one database of this run's own (seeded with N jobs, dropped at the end), interleaved call by
 * call; checks that every build answers the same rows and total, and prints each one's p50.
 */
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { fmt } from "./core/figure.js";
import { BENCH_PRINCIPAL } from "./core/inprocess.js";
import { percentile } from "./core/measure.js";
import { createBenchPostgres } from "./core/postgres.js";
import { LIST_REQUEST } from "./core/workload.js";

type ListCall = () => Promise<{ results: unknown[]; total_count: number }>;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      build: { type: "string", multiple: true, default: [] },
      jobs: { type: "string", default: "200000" },
      rounds: { type: "string", default: "600" },
    },
  });
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const db = await createBenchPostgres(Number(values.jobs), log);
  if (!("url" in db)) throw new Error(db.unavailable);
  const closers: (() => Promise<void>)[] = [];
  try {
    const builds: { name: string; call: ListCall; samples: number[] }[] = [];
    for (const b of values.build ?? []) {
      const [name, dir] = b.split("=", 2) as [string, string | undefined];
      if (!dir) throw new Error(`--build NAME=DIR (got ${b})`);
      const root = path.resolve(dir);
      const { openPostgresStore } = await import(path.join(root, "src/storage/dialect/postgres/open.ts"));
      const { JobService } = await import(path.join(root, "src/service/job-service.ts"));
      const store = await openPostgresStore({
        url: db.url,
        size: 4,
        statementTimeoutMs: 60_000,
        connectTimeoutMs: 10_000,
      });
      closers.push(() => store.close());
      const service = new JobService(store, { maxPageSize: 1000 });
      builds.push({ name, call: () => service.list(BENCH_PRINCIPAL, LIST_REQUEST), samples: [] });
    }
    const first = builds[0];
    if (!first) throw new Error("give at least one --build NAME=DIR");
    const expected = JSON.stringify(await first.call());
    for (const b of builds) {
      if (JSON.stringify(await b.call()) !== expected) throw new Error(`${b.name} answers differently`);
      for (let i = 0; i < 20; i++) await b.call();
    }
    const load0 = os.loadavg();
    const rounds = Number(values.rounds);
    for (let r = 0; r < rounds; r++)
      for (let k = 0; k < builds.length; k++) {
        const b = builds[(r + k) % builds.length] as (typeof builds)[number];
        const t0 = performance.now();
        await b.call();
        b.samples.push(performance.now() - t0);
      }
    const load1 = os.loadavg();
    log(
      `list 100 of ${db.jobs.toLocaleString("en-US")} on PostgreSQL, ${rounds} interleaved rounds; load average ` +
        `${load0.map((l) => l.toFixed(2)).join(" ")} -> ${load1.map((l) => l.toFixed(2)).join(" ")}`,
    );
    const base = percentile(first.samples, 50);
    for (const b of builds) {
      const p50 = percentile(b.samples, 50);
      log(`  ${b.name.padEnd(8)} p50 ${fmt(p50)} ms (${fmt(p50 / base)} x ${first.name})`);
    }
  } finally {
    for (const close of closers) await close().catch(() => {});
    await db.drop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`ab-list-pg failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
