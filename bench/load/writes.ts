/**
 * Write load generator (its own process): one writer per job, each a closed loop of progress reports
 * over its own keep-alive HTTP/1.1 connection (Connect JSON), with counters that only grow. A write
 * counts when the server acknowledges it (HTTP 200). Argument: one JSON object (`WriteLoadSpec`).
 * Prints one JSON line (`LoadResult`) on stdout.
 *
 * Each writer speaks HTTP/1.1 on its own socket (`h1-exchange.ts`): the request head is built once and
 * each report is one `write`, the answer read by its declared length. `node:http`'s client (a
 * `ClientRequest`, an `IncomingMessage` and their streams per report) cost this process a full core
 * below 10,000 reports/s, so the generator, not the server, set the figure (docs/benchmarks.md,
 * "Progress writes: the load generator was the limit").
 */
import { createHistogram } from "node:perf_hooks";
import { toLoadResult } from "../core/load-result.js";
import { H1Exchange } from "./h1-exchange.js";

export interface WriteLoadSpec {
  url: string;
  headers: Record<string, string>;
  /** One body template per writer, with the placeholders below. */
  bodies: string[];
  counterPlaceholder: string;
  percentPlaceholder: string;
  durationS: number;
  warmupS: number;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? "{}") as WriteLoadSpec;
  const histogram = createHistogram();
  let recording = false;
  let running = true;
  let ok = 0;
  let errors = 0;
  let sent = 0;
  const samples = new Map<string, number>();
  const failed = (what: string) => {
    if (recording) errors++;
    samples.set(what, (samples.get(what) ?? 0) + 1);
  };

  const writer = async (template: string) => {
    // Split once: a report is the template with its two numbers put in.
    const parts = template.split(spec.counterPlaceholder).map((p) => p.split(spec.percentPlaceholder));
    const body = (counter: number) => {
      const percent = String(Math.min(100, Math.floor(counter / 1000)));
      return parts.map((p) => p.join(percent)).join(String(counter));
    };
    let exchange = new H1Exchange(spec.url, "POST", spec.headers);
    let counter = 1;
    while (running) {
      counter++;
      const start = process.hrtime.bigint();
      sent++;
      try {
        const status = await exchange.send(body(counter));
        if (status === 200) {
          if (recording) {
            ok++;
            histogram.record(Math.max(1, Number((process.hrtime.bigint() - start) / 1000n)));
          }
        } else {
          failed(`HTTP ${status}`);
        }
      } catch (error) {
        failed((error as Error).message);
        // A broken connection is replaced, as node:http's agent would.
        exchange.close();
        exchange = new H1Exchange(spec.url, "POST", spec.headers);
      }
    }
    exchange.close();
  };

  const done = Promise.all(spec.bodies.map(writer));
  await new Promise((resolve) => setTimeout(resolve, spec.warmupS * 1000));
  histogram.reset();
  recording = true;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await new Promise((resolve) => setTimeout(resolve, spec.durationS * 1000));
  recording = false;
  const elapsedS = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  running = false;
  await done;

  const result = toLoadResult({
    ok,
    errors,
    samples: samples,
    histogram,
    elapsedS,
    sent,
    cpu,
    generator: "HTTP/1.1 writers on raw sockets (bench/load/writes.ts)",
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`load-writes failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
