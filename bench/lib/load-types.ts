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
