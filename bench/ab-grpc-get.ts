/**
 * `npx tsx bench/ab-grpc-get.ts --build before=/other/checkout --build after=. [--jobs N --data-dir DIR]
 * [--rounds R] [--seconds S]`: `get` over gRPC against each checkout's built service and
 * `@grpc/grpc-js` + SQLite, all started at once and loaded in turn, short runs rotated round by round,
 * so every checkout and the baseline see the same minutes of a shared machine. Prints, per target, the
 * median req/s and server CPU per call, and each checkout's median of its per-round ratio to grpc-js
 * (the get scenario's `get.grpc.rps` figure, measured in finer slices).
 */
import { execFileSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { fmt } from "./core/figure.js";
import { startRealServer } from "./core/service.js";
import { toolRunState } from "./core/tool-run.js";
import { type GetTarget, loadGet, startGrpcJs } from "./scenarios/get.js";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      build: { type: "string", multiple: true, default: [] },
      jobs: { type: "string", default: "20000" },
      "data-dir": { type: "string" },
      rounds: { type: "string", default: "6" },
      seconds: { type: "string", default: "3" },
    },
  });
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
    const grpcjs = await startGrpcJs(run);
    targets.push(grpcjs);
    const rps = new Map<string, number[]>(targets.map((t) => [t.name, []]));
    const cpu = new Map<string, number[]>(targets.map((t) => [t.name, []]));
    const ratios = new Map<string, number[]>(builds.map((b) => [b.name, []]));
    const load0 = os.loadavg();
    for (let round = 1; round <= Number(values.rounds); round++) {
      const byName = new Map<string, number>();
      for (let i = 0; i < targets.length; i++) {
        const target = targets[(round + i) % targets.length] as GetTarget;
        const r = await loadGet(run, target, "grpc", round);
        byName.set(target.name, r.result.rps);
        rps.get(target.name)?.push(r.result.rps);
        cpu.get(target.name)?.push(r.serverCpuUsPerRequest ?? Number.NaN);
      }
      const base = byName.get(grpcjs.name) as number;
      for (const b of builds) ratios.get(b.name)?.push((byName.get(b.name) as number) / base);
    }
    const load1 = os.loadavg();
    log(
      `\nget over gRPC, ${values.rounds} rounds of ${values.seconds} s runs; load average ` +
        `${load0.map((l) => l.toFixed(1)).join(" ")} -> ${load1.map((l) => l.toFixed(1)).join(" ")}`,
    );
    for (const t of targets) {
      const ratio = ratios.get(t.name);
      log(
        `  ${t.name.padEnd(24)} ${fmt(median(rps.get(t.name) ?? [])).padStart(7)} req/s  ` +
          `${fmt(median(cpu.get(t.name) ?? [])).padStart(6)} µs CPU/call` +
          (ratio
            ? `  req/s vs grpc-js: median ${median(ratio).toFixed(2)} x (${ratio.map((x) => x.toFixed(2)).join(", ")})`
            : ""),
      );
    }
    await grpcjs.stop?.();
  } finally {
    await run.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`ab-grpc-get failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
