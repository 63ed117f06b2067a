/**
 * `npx tsx bench/ab-get.ts --build before=/other/checkout --build after=. [--protocol grpc|json]
 * [--jobs N --data-dir DIR] [--rounds R] [--seconds S]`: `get` against each checkout's built service and
 * a baseline, all started at once and loaded in turn, short runs rotated round by round, so every
 * checkout and the baseline see the same minutes of a shared machine (whose speed can move by a third
 * within minutes). Prints, per target, the median req/s and server CPU per call, and each checkout's
 * median of its per-round ratio to the baseline: the get scenario's figures, measured in finer slices.
 *
 * - `--protocol grpc` (the default): gRPC, against `@grpc/grpc-js` + SQLite, ratio of req/s (`get.grpc.rps`);
 * - `--protocol json`: Connect JSON over HTTP/1.1, against the floor (bench/servers/floor-get.ts), ratio
 *   of server CPU per call (`get.connect_json_h1.server_cpu_us_vs_floor`).
 */
import { execFileSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { fmt } from "./core/figure.js";
import { startRealServer } from "./core/service.js";
import { toolRunState } from "./core/tool-run.js";
import { type GetTarget, loadGet, startFloor, startGrpcJs } from "./scenarios/get.js";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      build: { type: "string", multiple: true, default: [] },
      jobs: { type: "string", default: "20000" },
      "data-dir": { type: "string" },
      rounds: { type: "string", default: "6" },
      seconds: { type: "string", default: "3" },
      protocol: { type: "string", default: "grpc" },
    },
  });
  const protocol = values.protocol;
  if (protocol !== "grpc" && protocol !== "json")
    throw new Error(`--protocol grpc or json (got ${protocol})`);
  const builds = (values.build ?? []).map((b) => {
    const [name, dir] = b.split("=", 2) as [string, string | undefined];
    if (!dir) throw new Error(`--build NAME=DIR (got ${b})`);
    return { name, root: path.resolve(dir) };
  });
  if (builds.length === 0) throw new Error("--build NAME=DIR, once per checkout");
  const tool = await toolRunState({
    jobs: String(values.jobs),
    dataDir: values["data-dir"],
    options: ["--quick", "--duration", String(values.seconds)],
  });
  if (tool === null) return;
  const { run, pinning, log } = tool;
  try {
    const targets: GetTarget[] = [];
    for (const { name, root } of builds) {
      log(`building ${name} (${root})`);
      execFileSync(
        process.execPath,
        [path.join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
        {
          cwd: root,
          stdio: "inherit",
        },
      );
      const server = await startRealServer({ dataDir: run.workDir, dbFile: run.largest.file, pinning, root });
      run.track(server.child);
      targets.push({ name, pid: server.child.pid, h1Url: server.baseUrl, h2Origin: server.baseUrl });
    }
    const baseline = protocol === "grpc" ? await startGrpcJs(run) : await startFloor(run);
    targets.push(baseline);
    const rps = new Map<string, number[]>(targets.map((t) => [t.name, []]));
    const cpu = new Map<string, number[]>(targets.map((t) => [t.name, []]));
    const ratios = new Map<string, number[]>(builds.map((b) => [b.name, []]));
    const load0 = os.loadavg();
    for (let round = 1; round <= Number(values.rounds); round++) {
      // gRPC compares throughput (higher is better), JSON CPU per call against the floor (lower is better).
      const byName = new Map<string, number>();
      for (let i = 0; i < targets.length; i++) {
        const target = targets[(round + i) % targets.length] as GetTarget;
        const r = await loadGet(run, target, protocol, round);
        const perCall = r.serverCpuUsPerRequest ?? Number.NaN;
        byName.set(target.name, protocol === "grpc" ? r.result.rps : perCall);
        rps.get(target.name)?.push(r.result.rps);
        cpu.get(target.name)?.push(perCall);
      }
      const base = byName.get(baseline.name) as number;
      for (const b of builds) ratios.get(b.name)?.push((byName.get(b.name) as number) / base);
    }
    const load1 = os.loadavg();
    log(
      `\nget over ${protocol === "grpc" ? "gRPC" : "Connect JSON"}, ${values.rounds} rounds of ${values.seconds} s runs; load average ` +
        `${load0.map((l) => l.toFixed(1)).join(" ")} -> ${load1.map((l) => l.toFixed(1)).join(" ")}`,
    );
    for (const t of targets) {
      const ratio = ratios.get(t.name);
      log(
        `  ${t.name.padEnd(24)} ${fmt(median(rps.get(t.name) ?? [])).padStart(7)} req/s  ` +
          `${fmt(median(cpu.get(t.name) ?? [])).padStart(6)} µs CPU/call` +
          (ratio
            ? `  ${protocol === "grpc" ? "req/s vs grpc-js" : "CPU/call vs the floor"}: median ${median(ratio).toFixed(2)} x (${ratio.map((x) => x.toFixed(2)).join(", ")})`
            : ""),
      );
    }
    await baseline.stop?.();
  } finally {
    await run.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`ab-get failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
