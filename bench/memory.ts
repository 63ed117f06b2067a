/**
 * `npx tsx bench/memory.ts [--jobs N] [--seconds S] [--data-dir DIR]`: what the service's resident memory
 * is made of. The built service on one CPU as `npm start` runs it, then variants that each change one
 * setting (V8's young generation, the SQLite page cache, the read workers): RSS at start, then peak RSS
 * (VmHWM) after `get`, `list` and `stat` load, with each load's req/s; for the first variant also a heap
 * snapshot taken after the load, summarised by kind (code, strings, objects...) and by constructor.
 * Separately: a bare `node` process, and one that only imports the service's module graph.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createRunState } from "./core/context.js";
import { fmt } from "./core/figure.js";
import { summarize } from "./core/heap-snapshot.js";
import { LOAD_H1 } from "./core/load.js";
import { parseOptions } from "./core/options.js";
import { detectPinning, memoryOf, pinSelf, REPO_ROOT, waitHttpOk } from "./core/proc.js";
import { startRealServer } from "./core/service.js";
import { GET_PATH, LIST_PATH, LIST_REQUEST, STAT_BY_STATUS, STAT_PATH } from "./core/workload.js";
import type { H1LoadSpec } from "./load/h1.js";

function rssOfScript(code: string): number {
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", code], {
    cwd: REPO_ROOT,
    encoding: "utf8",
  });
  return Number(out.trim());
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      jobs: { type: "string", default: "20000" },
      seconds: { type: "string", default: "5" },
      "data-dir": { type: "string" },
    },
  });
  const opts = parseOptions(["--quick", "--sizes", String(values.jobs), "--jobs", String(values.jobs)]);
  if (opts === "help") return;
  const o = { ...opts, dataDir: values["data-dir"] ? path.resolve(values["data-dir"]) : null };
  const pinning = detectPinning(false);
  pinSelf(pinning.clientCpu);
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const run = await createRunState(o, pinning, log);
  try {
    const mem = "process.stdout.write(String(process.memoryUsage().rss / 1048576))";
    log(`\nbare node: RSS ${fmt(rssOfScript(mem))} MB`);
    log(
      `node + the service's module graph (import dist/src/app.js, main.js's imports): RSS ${fmt(
        rssOfScript(
          `await import("./dist/src/app.js"); await import("./dist/src/storage/database.js"); ${mem}`,
        ),
      )} MB`,
    );
    const seconds = Number(values.seconds);
    const auth = { authorization: `Bearer ${run.token}`, "content-type": "application/json" };
    // The first variant is the service as `npm start` runs it (its flags and defaults); each other one
    // changes one setting, so its difference is what that part costs.
    const variants: { label: string; flags: string[]; env: Record<string, string> }[] = [
      { label: "as npm start", flags: [], env: {} },
      { label: "V8's young generation (16 MB semi)", flags: ["--max-semi-space-size=16"], env: {} },
      { label: "--max-semi-space-size=8", flags: ["--max-semi-space-size=8"], env: {} },
      { label: "--max-semi-space-size=2", flags: ["--max-semi-space-size=2"], env: {} },
      { label: "DATABASE_CACHE_MB=16", flags: [], env: { DATABASE_CACHE_MB: "16" } },
      { label: "DATABASE_READ_WORKERS=0", flags: [], env: { DATABASE_READ_WORKERS: "0" } },
    ];
    for (const variant of variants) {
      const snapDir = fs.mkdtempSync(path.join(os.tmpdir(), "job-heap-"));
      const snapshot = variant === variants[0];
      const server = await startRealServer({
        dataDir: run.workDir,
        dbFile: run.largest.file,
        pinning,
        env: variant.env,
        nodeFlags: [
          ...variant.flags,
          ...(snapshot ? ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${snapDir}`] : []),
        ],
      });
      run.track(server.child);
      const idle = memoryOf(server.child.pid);
      const spec = (url: string, body: unknown, connections: number): H1LoadSpec => ({
        url,
        headers: auth,
        body: JSON.stringify(body),
        connections,
        durationS: seconds,
        warmupS: 0.5,
      });
      const peaks: string[] = [];
      const loads: [string, string, unknown, number][] = [
        ["get", GET_PATH, { job_id: run.jobId }, 50],
        ["list", LIST_PATH, LIST_REQUEST, 50],
        // A stat scans the domain's jobs: a few at a time, as a dashboard would.
        ["stat", STAT_PATH, STAT_BY_STATUS.request, 4],
      ];
      for (const [name, url, body, connections] of loads) {
        // A load with no correct answer (a machine too busy for the duration) costs only its own figure.
        const record = await run
          .load(
            LOAD_H1,
            spec(`${server.baseUrl}${url}`, body, connections),
            `${name} (${variant.label})`,
            server.child.pid,
          )
          .catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
        const rate =
          typeof record === "string"
            ? `not measured: ${record}`
            : `${fmt(record.result.rps)} req/s, ${fmt(record.serverCpuUsPerRequest)} µs CPU/call`;
        peaks.push(`${name} ${fmt(memoryOf(server.child.pid).peakMb)} (${rate})`);
      }
      log(`  ${variant.label.padEnd(36)} idle ${fmt(idle.rssMb)} MB; peak after ${peaks.join(", after ")}`);
      if (snapshot) {
        server.child.proc.kill("SIGUSR2");
        // The snapshot is written on the main thread: once /healthz answers again, the file is complete.
        await new Promise((r) => setTimeout(r, 500));
        await waitHttpOk(`${server.baseUrl}/healthz`, server.child, 120_000);
        const file = fs.readdirSync(snapDir).find((f) => f.endsWith(".heapsnapshot"));
        if (file) {
          const s = summarize(path.join(snapDir, file));
          log(`    heap snapshot (after the load): ${fmt(s.total)} MB live`);
          log(`      by kind: ${s.byType.map(([k, v]) => `${k} ${fmt(v)}`).join(", ")}`);
          log(`      by constructor: ${s.byName.map(([k, v]) => `${k} ${fmt(v)}`).join(", ")}`);
        }
      }
      await server.child.stop();
      fs.rmSync(snapDir, { recursive: true, force: true });
    }
  } finally {
    await run.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`memory failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
