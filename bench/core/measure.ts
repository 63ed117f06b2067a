/** Sampling helpers: percentiles, latency loops with a budget, per-call cost of in-process code. */

export interface LatencyBudget {
  minIterations: number;
  minMs: number;
  maxIterations: number;
  warmup: number;
}

/** Percentile (nearest rank) of an unsorted sample. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** The median (the mean of the two middle values of an even count); null for none. */
export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Repeat `fn` until both `minIterations` and `minMs` are reached (or `maxIterations`); latencies in ms. */
export async function sampleLatency(
  fn: () => unknown | Promise<unknown>,
  budget: LatencyBudget,
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

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
