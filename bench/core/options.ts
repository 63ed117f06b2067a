/** The command line of `npm run bench`: what to seed, how long to load, which scenarios to run. */
import path from "node:path";
import { parseArgs } from "node:util";
import type { LatencyBudget } from "./measure.js";
import { REPO_ROOT } from "./proc.js";

export interface Options {
  quick: boolean;
  sizes: number[];
  durationS: number;
  warmupS: number;
  connections: number;
  h2Sessions: number;
  writers: number;
  rounds: number;
  out: string;
  dataDir: string | null;
  pin: boolean;
  latency: LatencyBudget;
  microMs: number;
  /** Jobs of one trusted account listed without a page (the console's call). */
  unpagedJobs: number;
  /** Scenario names to run (default: all, in registry order). */
  only: string[] | null;
}

export const USAGE = `usage: npm run bench -- [options]
  --quick             small data sets and short runs (finishes in under two minutes)
  --jobs N            largest data set (default 1000000; quick: 20000)
  --sizes A,B,C       data sets of the scaling curve (default N/100,N/10,N; quick: N/10,N/2,N)
  --duration S        seconds of each load run (default 10; quick: 3)
  --warmup S          seconds of warm-up before each load run (default 3; quick: 1)
  --connections C     concurrent requests of the throughput runs (default 50)
  --writers W         concurrent lifecycle writers (default 16)
  --rounds R          rounds of the interleaved get runs and of scaling's lists; figures take the
                      median, the ratio targets the median of each round's ratio (default 3; quick: 1)
  --out DIR           where latest.json and latest.md go (default bench/results)
  --data-dir DIR      keep the seeded databases there and reuse them next time
  --unpaged-jobs N    jobs of one trusted account listed without a page (default 50000)
  --only A,B          run only these scenarios (names: see docs/benchmarks.md; default all)
  --no-pin            do not pin processes to CPUs with taskset`;

export function parseOptions(argv: string[]): Options | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: false },
      jobs: { type: "string" },
      sizes: { type: "string" },
      duration: { type: "string" },
      warmup: { type: "string" },
      connections: { type: "string" },
      writers: { type: "string" },
      rounds: { type: "string" },
      out: { type: "string" },
      "data-dir": { type: "string" },
      "unpaged-jobs": { type: "string" },
      only: { type: "string" },
      "no-pin": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    allowPositionals: false,
  });
  if (values.help) return "help";
  const num = (name: string, raw: string | undefined, fallback: number, min: number): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min} (got ${raw})`);
    return n;
  };
  const quick = values.quick ?? false;
  const jobs = Math.round(num("jobs", values.jobs, quick ? 20_000 : 1_000_000, 10));
  let sizes: number[];
  if (values.sizes !== undefined) {
    sizes = values.sizes.split(",").map((s) => Math.round(num("sizes", s.trim(), 0, 10)));
  } else {
    const fractions = quick ? [0.1, 0.5, 1] : [0.01, 0.1, 1];
    sizes = fractions.map((f) => Math.max(10, Math.round(jobs * f)));
  }
  sizes = [...new Set(sizes)].sort((a, b) => a - b);
  const durationS = num("duration", values.duration, quick ? 3 : 10, 0.2);
  const warmupS = num("warmup", values.warmup, Math.min(quick ? 1 : 3, durationS / 2), 0);
  const latencyMs = Math.min(quick ? 600 : 3000, durationS * 500);
  return {
    quick,
    sizes,
    durationS,
    warmupS,
    connections: Math.round(num("connections", values.connections, 50, 1)),
    h2Sessions: 4,
    writers: Math.round(num("writers", values.writers, 16, 1)),
    rounds: Math.round(num("rounds", values.rounds, quick ? 1 : 3, 1)),
    out: path.resolve(values.out ?? path.join(REPO_ROOT, "bench", "results")),
    dataDir: values["data-dir"] ? path.resolve(values["data-dir"]) : null,
    pin: !(values["no-pin"] ?? false),
    latency: {
      minIterations: quick ? 10 : 30,
      minMs: latencyMs,
      maxIterations: quick ? 400 : 3000,
      warmup: 3,
    },
    microMs: quick ? 80 : 400,
    unpagedJobs: Math.round(num("unpaged-jobs", values["unpaged-jobs"], 50_000, 1)),
    only:
      values.only === undefined
        ? null
        : values.only
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean),
  };
}
