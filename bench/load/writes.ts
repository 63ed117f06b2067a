/**
 * Write load generator (its own process): one writer per job, each a closed loop of progress reports
 * over its own keep-alive HTTP/1.1 connection (Connect JSON), with counters that only grow. A write
 * counts when the server acknowledges it (HTTP 200). Argument: one JSON object (`WriteLoadSpec`).
 * Prints one JSON line (`LoadResult`) on stdout.
 */
import http from "node:http";
import { createHistogram } from "node:perf_hooks";
import { toLoadResult } from "../core/load-result.js";

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

function post(
  agent: http.Agent,
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      url,
      { method: "POST", agent, headers: { ...headers, "content-length": String(Buffer.byteLength(body)) } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", () => resolve(0));
      },
    );
    req.on("error", () => resolve(0));
    req.end(body);
  });
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

  const writer = async (template: string) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let counter = 1;
    while (running) {
      counter++;
      const body = template
        .replaceAll(spec.counterPlaceholder, String(counter))
        .replaceAll(spec.percentPlaceholder, String(Math.min(100, Math.floor(counter / 1000))));
      const start = process.hrtime.bigint();
      const status = await post(agent, spec.url, spec.headers, body);
      sent++;
      if (status === 200) {
        if (recording) {
          ok++;
          histogram.record(Math.max(1, Number((process.hrtime.bigint() - start) / 1000n)));
        }
      } else {
        if (recording) errors++;
        samples.set(`HTTP ${status}`, (samples.get(`HTTP ${status}`) ?? 0) + 1);
      }
    }
    agent.destroy();
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
    generator: "node:http writers (bench/load-writes.ts)",
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`load-writes failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
