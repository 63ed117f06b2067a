/**
 * HTTP/2 (h2c, prior knowledge) load generator for Connect binary and gRPC, in its own process.
 * `concurrency` streams are kept in flight, spread over `sessions` connections, for a fixed time after
 * a warm-up; latencies go to a `node:perf_hooks` histogram (microseconds). A response counts as correct
 * when it is HTTP 200 and, for gRPC, ends with grpc-status 0. Argument: one JSON object (`H2LoadSpec`).
 * Prints one JSON line (`LoadResult`) on stdout.
 */
import type http2 from "node:http2";
import { createHistogram } from "node:perf_hooks";
import { grpcStatusOf, h2Connect, h2Exchange } from "../../test/support/http-client.js";
import { toLoadResult } from "../core/load-result.js";

export interface H2LoadSpec {
  /** `http://127.0.0.1:port` */
  origin: string;
  path: string;
  headers: Record<string, string>;
  /** Request body, base64. */
  bodyBase64: string;
  grpc: boolean;
  sessions: number;
  concurrency: number;
  durationS: number;
  warmupS: number;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? "{}") as H2LoadSpec;
  const body = Buffer.from(spec.bodyBase64, "base64");
  const sessions = await Promise.all(
    Array.from({ length: Math.max(1, spec.sessions) }, () => h2Connect(spec.origin)),
  );
  const request = { path: spec.path, headers: spec.headers, body, timeoutMs: 0 };

  const histogram = createHistogram();
  let recording = false;
  let running = true;
  let ok = 0;
  let errors = 0;
  let sent = 0;
  const errorSamples = new Map<string, number>();
  const noteError = (what: string) => {
    if (recording) errors++;
    errorSamples.set(what, (errorSamples.get(what) ?? 0) + 1);
  };

  let inFlight = 0;
  let drained: (() => void) | null = null;

  const fire = (session: http2.ClientHttp2Session): void => {
    if (!running) return;
    inFlight++;
    sent++;
    const start = process.hrtime.bigint();
    h2Exchange(session, request).then((outcome) => {
      inFlight--;
      let failed: string | null = null;
      if (outcome.kind !== "response") failed = `stream ${outcome.kind}: ${outcome.detail ?? ""}`;
      else if (outcome.status !== 200) failed = `HTTP ${outcome.status}`;
      else if (spec.grpc) {
        const gs = grpcStatusOf(outcome);
        if (gs.status !== "0")
          failed = `grpc-status ${gs.status ?? "missing"}${gs.message ? `: ${gs.message}` : ""}`;
      }
      if (failed !== null) {
        noteError(failed);
      } else if (recording) {
        ok++;
        histogram.record(Math.max(1, Number((process.hrtime.bigint() - start) / 1000n)));
      }
      if (running) {
        if (session.closed || session.destroyed) return;
        // Keep the recursion off the stack of the finishing stream.
        setImmediate(() => fire(session));
      } else if (inFlight === 0 && drained) {
        drained();
      }
    });
  };

  const perSession = Math.max(1, Math.ceil(spec.concurrency / sessions.length));
  let started = 0;
  for (const session of sessions) {
    for (let i = 0; i < perSession && started < spec.concurrency; i++, started++) fire(session);
  }

  await new Promise((resolve) => setTimeout(resolve, spec.warmupS * 1000));
  histogram.reset();
  ok = 0;
  errors = 0;
  errorSamples.clear();
  recording = true;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await new Promise((resolve) => setTimeout(resolve, spec.durationS * 1000));
  recording = false;
  const elapsedS = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  running = false;
  if (inFlight > 0) {
    await Promise.race([
      new Promise<void>((resolve) => {
        drained = resolve;
      }),
      new Promise((resolve) => setTimeout(resolve, 5000)),
    ]);
  }
  for (const s of sessions) s.close();

  const result = toLoadResult({
    ok,
    errors,
    samples: errorSamples,
    histogram,
    elapsedS,
    sent,
    cpu,
    generator: "node:http2 (bench/load-h2.ts)",
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
  setTimeout(() => process.exit(0), 100).unref();
}

main().catch((error: unknown) => {
  process.stderr.write(`load-h2 failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
