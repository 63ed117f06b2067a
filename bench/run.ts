/**
 * `npm run bench [-- --quick] [--jobs N] [--only get,list] ...`: the service against its baselines, side
 * by side in one run, on the same data, with the same load generators. Each scenario is one file in
 * bench/scenarios/ (registry: bench/scenarios/index.ts) over the shared core in bench/core/. See
 * docs/benchmarks.md for what each figure means and the targets.
 *
 * Exits non-zero only when it cannot measure (a server does not start, a load generator fails, the
 * responses are wrong); a missed target is reported, never an error.
 */
import os from "node:os";
import { createRunState, type RunState } from "./core/context.js";
import { CannotMeasure } from "./core/errors.js";
import { round } from "./core/figure.js";
import { type Options, parseOptions, USAGE } from "./core/options.js";
import { detectPinning, machineInfo, pinSelf } from "./core/proc.js";
import { formatTable, type Results, runRecordToJson, writeResults } from "./core/report.js";
import { readCpuTicks, stealShare } from "./core/steal.js";
import { SEED, SEED_NOW } from "./core/workload.js";
import { SCENARIOS } from "./scenarios/index.js";

const log = (line: string) => process.stdout.write(`${line}\n`);
let state: RunState | null = null;

function settings(o: Options): Record<string, unknown> {
  return {
    sizes: o.sizes,
    duration_s: o.durationS,
    warmup_s: o.warmupS,
    connections: o.connections,
    h2_sessions: o.h2Sessions,
    writers: o.writers,
    rounds: o.rounds,
    latency_min_samples: o.latency.minIterations,
    latency_min_ms: o.latency.minMs,
    unpaged_jobs: o.unpagedJobs,
    scenarios: o.only ?? SCENARIOS.map((s) => s.name),
  };
}

async function main(): Promise<number> {
  let o: Options;
  try {
    const parsed = parseOptions(process.argv.slice(2));
    if (parsed === "help") {
      log(USAGE);
      return 0;
    }
    o = parsed;
    const unknown = (o.only ?? []).filter((name) => !SCENARIOS.some((s) => s.name === name));
    if (unknown.length > 0) {
      throw new Error(
        `--only: unknown scenario ${unknown.join(", ")} (known: ${SCENARIOS.map((s) => s.name).join(", ")})`,
      );
    }
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const started = performance.now();
  const loadAtStart = os.loadavg()[0] as number;
  const pinning = detectPinning(!o.pin);
  // Before pinning: the CPU count is the machine's, not this process's affinity.
  const machine = machineInfo(pinning);
  const selfPinned = pinning.enabled && pinSelf(pinning.clientCpu);
  log(
    `bench: ${o.quick ? "quick" : "full"} run, sizes ${o.sizes.map((s) => s.toLocaleString("en-US")).join(" / ")} jobs`,
  );
  log(`machine: ${machine.cpu_model}, ${machine.cores} cores, Node ${machine.node}`);
  log(
    `pinning: ${pinning.enabled ? "yes" : "no"} — ${pinning.note}${pinning.enabled && !selfPinned ? " (the orchestrator itself could not be pinned)" : ""}`,
  );
  const scenarios = SCENARIOS.filter((s) => o.only === null || o.only.includes(s.name));
  const run = await createRunState(o, pinning, log);
  state = run;
  const steal: string[] = [];
  try {
    for (const [i, scenario] of scenarios.entries()) {
      log(`\n[${i + 1}/${scenarios.length}] ${scenario.name}: ${scenario.title}`);
      const ticks = readCpuTicks();
      const figures = await scenario.run(run);
      const share = stealShare(ticks, readCpuTicks());
      if (share !== null) steal.push(`${scenario.name} ${(share * 100).toFixed(2)} %`);
      for (const f of figures) {
        if (run.figures.some((g) => g.name === f.name)) throw new Error(`figure ${f.name} produced twice`);
        run.figures.push(f);
      }
      await run.markPhase(scenario.name);
    }
    run.note(
      `seeded with generateJobs(seed ${SEED}, now ${SEED_NOW.toISOString()}); requests as DOMAIN_ADMIN of the largest seeded domain (${run.largest.domainJobs.toLocaleString("en-US")} of ${run.sizeText} jobs)`,
    );
    run.note(
      `latency figures of list/stat: sequential requests over one keep-alive connection, p50 of at least ${o.latency.minIterations} samples / ${o.latency.minMs} ms`,
    );
    run.note(
      "the service runs with its housekeeping off (JOB_REAPER_INTERVAL_SECONDS=0, JOB_RETENTION_INTERVAL_SECONDS=0): the seeded jobs predate the real clock",
    );
    run.note(`wall time ${((performance.now() - started) / 1000).toFixed(0)} s`);
    run.note(
      `how quiet the machine was: load average ${loadAtStart.toFixed(2)} at the start; CPU time stolen by the hypervisor (/proc/stat) during each scenario: ${steal.length > 0 ? steal.join(", ") : "not readable here"}`,
    );
  } finally {
    await run.close();
  }

  const results: Results = {
    version: 1,
    generated_at: new Date().toISOString(),
    mode: o.quick ? "quick" : "full",
    machine,
    settings: settings(o),
    figures: run.figures.map((f) => ({
      ...f,
      value: round(f.value, 3),
      baseline: round(f.baseline, 3),
      ratio: round(f.ratio, 3),
    })),
    runs: run.runs.map(runRecordToJson),
    notes: run.notes,
  };
  log(`\n${formatTable(results.figures)}\n`);
  const written = writeResults(o.out, results);
  log(`wrote ${written.json} and ${written.md}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    await state?.stopAll();
    const message =
      error instanceof Error ? (error instanceof CannotMeasure ? error.message : error.stack) : String(error);
    process.stderr.write(`\nbench: cannot measure: ${message}\n`);
    process.exit(1);
  },
);
