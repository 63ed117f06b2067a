/**
 * HTTP/1.1 load generator (its own process): autocannon, a warm-up run thrown away, then the measured
 * run. Argument: one JSON object (see `H1LoadSpec`). Prints one JSON line (`LoadResult`) on stdout.
 */
import autocannon from "autocannon";
import type { LoadResult } from "../core/load-result.js";

export interface H1LoadSpec {
  url: string;
  headers: Record<string, string>;
  body: string;
  connections: number;
  durationS: number;
  warmupS: number;
}

async function run(spec: H1LoadSpec, durationS: number): Promise<autocannon.Result> {
  return autocannon({
    url: spec.url,
    method: "POST",
    headers: spec.headers,
    body: spec.body,
    connections: spec.connections,
    pipelining: 1,
    duration: durationS,
    timeout: 10,
  });
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? "{}") as H1LoadSpec;
  let warmupRequests = 0;
  if (spec.warmupS > 0) {
    const warm = await run(spec, spec.warmupS);
    warmupRequests = warm.requests.total;
  }
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await run(spec, spec.durationS);
  const cpu = process.cpuUsage(cpu0);
  const generatorCpuPct = ((cpu.user + cpu.system) / 1000 / (performance.now() - t0)) * 100;
  const ok = r["2xx"];
  const statusCodes =
    (r as unknown as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {};
  const errorSamples = Object.entries(statusCodes)
    .filter(([code]) => !code.startsWith("2"))
    .map(([code, v]) => `HTTP ${code} x${v.count}`);
  if (r.errors > 0) errorSamples.push(`connection errors x${r.errors}`);
  if (r.timeouts > 0) errorSamples.push(`timeouts x${r.timeouts}`);
  const result: LoadResult = {
    ok,
    errors: r.non2xx + r.errors + r.timeouts,
    errorSamples,
    rps: ok / r.duration,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    meanMs: r.latency.average,
    durationS: r.duration,
    totalRequests: r.requests.total + warmupRequests,
    latencyResolutionMs: 1,
    generator: "autocannon",
    generatorCpuPct,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`load-h1 failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
