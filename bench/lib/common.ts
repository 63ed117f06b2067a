/**
 * Shared pieces of the benchmark: the figure record written to `latest.json`, the fixed workload
 * (which job, which list and stat queries), small statistics helpers and the gRPC frame format.
 */

/** `jobs` rows are generated as of this instant, so every run of a size sees the same data. */
export const SEED_NOW = new Date("2026-01-01T00:00:00.000Z");
export const SEED = 1;
/** The largest seeded domain (about half of all jobs): every request is scoped to it. */
export const BENCH_DOMAIN = "domain-seed0001";

export const JOB_SERVICE = "spaceone.api.identity.v2.Job";

/** A target on the ratio to the baseline, or on the value itself. */
export interface Target {
  readonly on: "ratio" | "value";
  readonly op: ">=" | "<=";
  readonly threshold: number;
}

export interface Figure {
  /** Stable identifier (tests and tooling look figures up by it). */
  name: string;
  /** What it measures, for people. */
  title: string;
  /** null when the figure could not be measured (see `note`). */
  value: number | null;
  unit: string;
  /** The same measurement on the baseline, in the same run; null when there is none. */
  baseline: number | null;
  /** What the baseline is. */
  baseline_name: string | null;
  /** value / baseline; null when either is missing. */
  ratio: number | null;
  target: Target | null;
  /** Whether the target is met; null without a target or without a value. */
  met: boolean | null;
  /** "measured" or "not measurable yet" / "not measurable". */
  status: "measured" | "not measurable yet" | "not measurable";
  note?: string;
}

export function figure(init: {
  name: string;
  title: string;
  value: number | null;
  unit: string;
  baseline?: number | null;
  baselineName?: string | null;
  target?: Target | null;
  note?: string;
  status?: Figure["status"];
}): Figure {
  const value = finiteOrNull(init.value);
  const baseline = finiteOrNull(init.baseline ?? null);
  const ratio = value !== null && baseline !== null && baseline !== 0 ? value / baseline : null;
  const target = init.target ?? null;
  let met: boolean | null = null;
  if (target !== null) {
    const subject = target.on === "ratio" ? ratio : value;
    if (subject !== null)
      met = target.op === ">=" ? subject >= target.threshold : subject <= target.threshold;
  }
  const out: Figure = {
    name: init.name,
    title: init.title,
    value,
    unit: init.unit,
    baseline,
    baseline_name: init.baselineName ?? null,
    ratio,
    target,
    met,
    status: init.status ?? (value === null ? "not measurable" : "measured"),
  };
  if (init.note !== undefined) out.note = init.note;
  return out;
}

function finiteOrNull(v: number | null): number | null {
  return v !== null && Number.isFinite(v) ? v : null;
}

export function targetText(t: Target | null): string {
  if (t === null) return "";
  const n = t.on === "ratio" ? `${t.threshold} x` : `${t.threshold}`;
  return `${t.on === "ratio" ? "ratio" : "value"} ${t.op} ${n}`;
}

/** Percentile (nearest rank) of an unsorted sample. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** Repeat `fn` until both `minIterations` and `minMs` are reached (or `maxIterations`); latencies in ms. */
export async function sampleLatency(
  fn: () => unknown | Promise<unknown>,
  budget: { minIterations: number; minMs: number; maxIterations: number; warmup: number },
): Promise<number[]> {
  for (let i = 0; i < budget.warmup; i++) await fn();
  const samples: number[] = [];
  const start = performance.now();
  while (
    samples.length < budget.maxIterations &&
    (samples.length < budget.minIterations || performance.now() - start < budget.minMs)
  ) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  return samples;
}

/** Mean cost of a synchronous call in microseconds, over about `ms` milliseconds. */
export function microsPerCall(fn: () => unknown, ms: number): number {
  for (let i = 0; i < 200; i++) fn();
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 100; i++) fn();
    calls += 100;
    elapsed = performance.now() - start;
  }
  return (elapsed * 1000) / calls;
}

/** Same for an async call (awaited one at a time). */
export async function microsPerAsyncCall(fn: () => Promise<unknown>, ms: number): Promise<number> {
  for (let i = 0; i < 200; i++) await fn();
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 50; i++) await fn();
    calls += 50;
    elapsed = performance.now() - start;
  }
  return (elapsed * 1000) / calls;
}

/** gRPC length-prefixed message: 1 flag byte (0 = uncompressed), 4-byte big-endian length, bytes. */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

export function round(n: number | null, digits = 2): number | null {
  if (n === null || !Number.isFinite(n)) return null;
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Human formatting: 3 significant digits, thousands kept whole. */
export function fmt(n: number | null): string {
  if (n === null || !Number.isFinite(n)) return "-";
  const abs = Math.abs(n);
  if (abs >= 1000) return Math.round(n).toLocaleString("en-US");
  if (abs >= 100) return n.toFixed(0);
  if (abs >= 10) return n.toFixed(1);
  if (abs >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
