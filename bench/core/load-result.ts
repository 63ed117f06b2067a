/** What every load generator prints (one JSON line on stdout). */
export interface LoadResult {
  /** Responses that were correct (HTTP 200, and grpc-status 0 for gRPC). */
  ok: number;
  /** Failed responses, resets and timeouts during the measured run. */
  errors: number;
  /** A few descriptions of the failures, to print. */
  errorSamples: string[];
  /** Correct responses per second of the measured run. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  durationS: number;
  /** Requests sent including the warm-up (to turn server CPU time into CPU per request). */
  totalRequests: number;
  /** Granularity of the latency figures. */
  latencyResolutionMs: number;
  generator: string;
  /** CPU the load generator itself used during the measured run, in % of one core (near 100: client-bound). */
  generatorCpuPct: number;
}

/** What a load generator measured, before it becomes a LoadResult. */
export interface LoadTally {
  ok: number;
  errors: number;
  /** Failure description -> how many times. */
  samples: ReadonlyMap<string, number>;
  /** Latencies in microseconds (a `node:perf_hooks` histogram). */
  histogram: { count: number; mean: number; percentile(p: number): number };
  elapsedS: number;
  /** Requests sent including the warm-up. */
  sent: number;
  /** `process.cpuUsage(start)` over the measured run. */
  cpu: NodeJS.CpuUsage;
  generator: string;
}

/** The one-line result every load generator prints. */
export function toLoadResult(t: LoadTally): LoadResult {
  const ms = (us: number) => (t.histogram.count > 0 ? us / 1000 : Number.NaN);
  return {
    ok: t.ok,
    errors: t.errors,
    errorSamples: [...t.samples].map(([what, n]) => `${what} x${n}`),
    rps: t.ok / t.elapsedS,
    p50Ms: ms(t.histogram.percentile(50)),
    p99Ms: ms(t.histogram.percentile(99)),
    meanMs: ms(t.histogram.mean),
    durationS: t.elapsedS,
    totalRequests: t.sent,
    latencyResolutionMs: 0.001,
    generator: t.generator,
    generatorCpuPct: (t.cpu.user + t.cpu.system) / 1e4 / t.elapsedS,
  };
}
