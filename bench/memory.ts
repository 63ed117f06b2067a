/**
 * `npx tsx bench/memory.ts [--jobs N] [--seconds S] [--data-dir DIR]`: what the service's resident memory
 * is made of. For each variant of V8's young generation (`--max-semi-space-size`), the built service on
 * one CPU: RSS at start, then peak RSS (VmHWM) after `get` and `list` load; for the default variant also
 * a heap snapshot taken under load, summarised by kind (code, strings, objects...) and by constructor.
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
import { GET_PATH, LIST_PATH, LIST_REQUEST } from "./core/workload.js";
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
    for (const flags of [
      [],
      ["--max-semi-space-size=8"],
      ["--max-semi-space-size=4"],
      ["--max-semi-space-size=2"],
    ]) {
      for (const wire of ["connect", "lean"]) {
        const snapDir = fs.mkdtempSync(path.join(os.tmpdir(), "job-heap-"));
        const snapshot = flags.length === 0;
        const server = await startRealServer({
          dataDir: run.workDir,
          dbFile: run.largest.file,
          pinning,
          env: { WIRE_UNARY: wire },
          nodeFlags: [
            ...flags,
            ...(snapshot ? ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${snapDir}`] : []),
          ],
        });
        run.track(server.child);
        const idle = memoryOf(server.child.pid);
        const spec = (url: string, body: unknown): H1LoadSpec => ({
          url,
          headers: auth,
          body: JSON.stringify(body),
          connections: 50,
          durationS: seconds,
          warmupS: 0.5,
        });
        await run.load(
          LOAD_H1,
          spec(`${server.baseUrl}${GET_PATH}`, { job_id: run.jobId }),
          `get (${wire} ${flags.join(" ")})`,
          server.child.pid,
        );
        const afterGet = memoryOf(server.child.pid);
        await run.load(
          LOAD_H1,
          spec(`${server.baseUrl}${LIST_PATH}`, LIST_REQUEST),
          `list (${wire} ${flags.join(" ")})`,
          server.child.pid,
        );
        const peak = memoryOf(server.child.pid);
        log(
          `  ${wire.padEnd(7)} ${(flags.join(" ") || "default young generation").padEnd(26)} idle ${fmt(idle.rssMb)} MB, ` +
            `peak after get ${fmt(afterGet.peakMb)} MB, after list ${fmt(peak.peakMb)} MB`,
        );
        if (snapshot && wire === "connect") {
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
    }
  } finally {
    await run.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`memory failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
