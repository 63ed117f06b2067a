/**
 * `npx tsx bench/memory.ts [--jobs N] [--seconds S] [--data-dir DIR] [--variants a,b] [--loads a,b]`: what the
 * service's resident memory is made of. The built service on one CPU as `npm start` runs it, then
 * variants that each change one setting (V8's young generation, the SQLite page cache, the read
 * workers): RSS at start, then peak RSS (VmHWM) after each load of `npm run bench`'s order (`get` over
 * Connect JSON, Connect binary h2c and gRPC, `list`, `stat`, progress `writes`, then `scaling`'s list and
 * stat one at a time once the read workers have stopped idle), with each load's req/s and resident memory
 * by kind of mapping (`/proc/<pid>/smaps`); for the first variant also heap snapshots (after the peaks
 * are read: writing one costs the server tens of MB), in the middle of one more writes load and after
 * it, summarised by kind (code, strings, objects...) and by constructor. Separately: a bare `node`
 * process, one with better-sqlite3 and a connection, and one that only imports the service's module graph.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import type { RunState } from "./core/context.js";
import { fmt } from "./core/figure.js";
import { summarize } from "./core/heap-snapshot.js";
import { serverLatency } from "./core/latency.js";
import {
  findLifecycle,
  finishWriters,
  prepareWriters,
  seededRunningJobs,
  writeLoadSpec,
} from "./core/lifecycle.js";
import { LOAD_H1, LOAD_WRITES } from "./core/load.js";
import { memoryOf, REPO_ROOT, waitHttpOk } from "./core/proc.js";
import type { RunRecord } from "./core/report.js";
import { type RealServer, startRealServer } from "./core/service.js";
import { toolRunState } from "./core/tool-run.js";
import { LIST_PATH, LIST_REQUEST, STAT_BY_STATUS, STAT_PATH } from "./core/workload.js";
import type { H1LoadSpec } from "./load/h1.js";
import { loadGet } from "./scenarios/get.js";
import { measureStat } from "./scenarios/stat.js";

function rssOfScript(code: string): number {
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", code], {
    cwd: REPO_ROOT,
    encoding: "utf8",
  });
  return Number(out.trim());
}

/** The loads, in `npm run bench`'s order, so the phase that sets the peak is the one that sets it there. */
const LOADS = ["get-json", "get-h2c", "get-grpc", "list", "stat", "writes", "scaling"] as const;

/**
 * The read workers' idle stop as the service is configured by default (DATABASE_READ_WORKER_IDLE_SECONDS):
 * in `npm run bench` the `scaling` scenario reaches the shared service after its workers have stopped.
 */
const WORKER_IDLE_S = 30;

/**
 * Resident MB of a process by kind of mapping (`/proc/<pid>/smaps`): the `node` binary's own pages
 * (shared with every node process, counted in each one's RSS), other files (shared libraries,
 * better-sqlite3's addon), the main thread's malloc heap, the other threads' malloc arenas (read
 * workers, V8's and libuv's helper threads), and the anonymous rest (V8's heaps of every isolate,
 * large buffers).
 */
function residentParts(pid: number): string {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/smaps`, "utf8");
  } catch {
    return "no /proc smaps";
  }
  const parts = new Map<string, number>();
  let kind = "anonymous";
  for (const line of text.split("\n")) {
    const head = /^([0-9a-f]+)-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      const name = head[2] ?? "";
      // glibc puts each thread's malloc arena at an address aligned to its 64 MB reservation.
      const arena = BigInt(`0x${head[1]}`) % (64n << 20n) === 0n;
      kind =
        name === ""
          ? arena
            ? "other threads' malloc arenas"
            : "anonymous (V8 heaps, large buffers)"
          : name === "[heap]"
            ? "main malloc heap"
            : name.endsWith("/node")
              ? "node binary"
              : name.startsWith("/")
                ? "other files"
                : name;
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) parts.set(kind, (parts.get(kind) ?? 0) + Number(rss[1]) / 1024);
  }
  return [...parts]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join(", ");
}

interface Variant {
  readonly label: string;
  readonly flags: string[];
  readonly env: Record<string, string>;
}

// The first variant is the service as `npm start` runs it (its flags and defaults); each other one
// changes one setting, so its difference is what that part costs.
const VARIANTS: Record<string, Variant> = {
  start: { label: "as npm start", flags: [], env: {} },
  semi16: { label: "V8's young generation (16 MB semi)", flags: ["--max-semi-space-size=16"], env: {} },
  semi8: { label: "--max-semi-space-size=8", flags: ["--max-semi-space-size=8"], env: {} },
  semi4: { label: "--max-semi-space-size=4", flags: ["--max-semi-space-size=4"], env: {} },
  optsize: { label: "--optimize-for-size", flags: ["--optimize-for-size"], env: {} },
  growing0: {
    label: "V8's own heap growth (--heap-growing-percent=0)",
    flags: ["--heap-growing-percent=0"],
    env: {},
  },
  cache16: { label: "DATABASE_CACHE_MB=16", flags: [], env: { DATABASE_CACHE_MB: "16" } },
  cache1: { label: "DATABASE_CACHE_MB=1", flags: [], env: { DATABASE_CACHE_MB: "1" } },
  // glibc's mmap threshold fixed at its initial 128 KiB: a freed large block goes back to the system
  // instead of raising the threshold (up to 32 MiB) and staying in the heap.
  mmap128k: {
    label: "MALLOC_MMAP_THRESHOLD_=131072",
    flags: [],
    env: { MALLOC_MMAP_THRESHOLD_: "131072" },
  },
  // Every idle read worker stops (as before the fourth pass): `scaling` starts one again.
  nokeep: {
    label: "DATABASE_READ_WORKER_IDLE_KEEP=0",
    flags: [],
    env: { DATABASE_READ_WORKER_IDLE_KEEP: "0" },
  },
  noworkers: { label: "DATABASE_READ_WORKERS=0", flags: [], env: { DATABASE_READ_WORKERS: "0" } },
  // glibc's own limit when the variable is unset: 8 arenas per CPU.
  arenas: {
    label: "glibc's malloc arenas (8 per CPU)",
    flags: [],
    env: { MALLOC_ARENA_MAX: String(8 * os.cpus().length) },
  },
};

/** A snapshot of the server's heap now (it answers again once the file is written), summarised. */
async function snapshot(run: RunState, server: RealServer, dir: string, when: string): Promise<void> {
  server.child.proc.kill("SIGUSR2");
  // The snapshot is written on the main thread: once /healthz answers again, the file is complete.
  await new Promise((r) => setTimeout(r, 500));
  await waitHttpOk(`${server.baseUrl}/healthz`, server.child, 120_000);
  const file = fs.readdirSync(dir).find((f) => f.endsWith(".heapsnapshot"));
  if (!file) return;
  const s = summarize(path.join(dir, file));
  run.log(`    heap snapshot (${when}): ${fmt(s.total)} MB live`);
  run.log(`      by kind: ${s.byType.map(([k, v]) => `${k} ${fmt(v)}`).join(", ")}`);
  run.log(`      by constructor: ${s.byName.map(([k, v]) => `${k} ${fmt(v)}`).join(", ")}`);
  fs.rmSync(path.join(dir, file));
}

/** `writers` progress reporters as the bench's `writes` scenario runs them; `during` runs in the middle. */
async function loadWrites(
  run: RunState,
  server: RealServer,
  label: string,
  during: (() => Promise<void>) | null,
): Promise<RunRecord> {
  const probe = await findLifecycle();
  if (!probe.found) throw new Error(probe.reason);
  const setup = await prepareWriters(
    server.baseUrl,
    probe,
    [{ label: "system token", token: run.systemToken }],
    run.o.writers,
    seededRunningJobs(run.largest.file, run.o.writers),
  );
  const spec = writeLoadSpec(server.baseUrl, setup, run.o);
  const middle =
    during &&
    new Promise<void>((resolve) =>
      setTimeout(() => void during().then(resolve, resolve), (run.o.warmupS + run.o.durationS / 2) * 1000),
    );
  try {
    return await run.load(LOAD_WRITES, spec, label, server.child.pid);
  } finally {
    await middle;
    await finishWriters(server.baseUrl, probe, setup);
  }
}

/** The `scaling` scenario's requests on the shared service, after its read workers' idle stop. */
async function loadScaling(run: RunState, server: RealServer): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, (WORKER_IDLE_S + 2) * 1000));
  const before = memoryOf(server.child.pid).rssMb;
  const list = await serverLatency(`${server.baseUrl}${LIST_PATH}`, run.token, LIST_REQUEST, run.o.latency);
  const stat = await measureStat(run, server.baseUrl, STAT_BY_STATUS);
  return (
    `RSS ${fmt(before)} MB before it; list p50 ${list.ok ? fmt(list.p50) : `HTTP ${list.status}`} ms, ` +
    `stat p50 ${fmt(stat.serverP50)} ms`
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      jobs: { type: "string", default: "20000" },
      seconds: { type: "string", default: "5" },
      "data-dir": { type: "string" },
      variants: { type: "string", default: Object.keys(VARIANTS).join(",") },
      loads: { type: "string", default: LOADS.join(",") },
    },
  });
  const variants = String(values.variants)
    .split(",")
    .map((name) => {
      const variant = VARIANTS[name];
      if (!variant)
        throw new Error(`--variants: unknown ${name} (known: ${Object.keys(VARIANTS).join(", ")})`);
      return variant;
    });
  const chosen = String(values.loads).split(",");
  for (const name of chosen) {
    if (!(LOADS as readonly string[]).includes(name))
      throw new Error(`--loads: unknown ${name} (known: ${LOADS.join(", ")})`);
  }
  const tool = await toolRunState({
    jobs: String(values.jobs),
    dataDir: values["data-dir"],
    options: ["--quick", "--duration", String(values.seconds), "--warmup", "0.5"],
  });
  if (tool === null) return;
  const { run, pinning, log } = tool;
  try {
    const mem = "process.stdout.write(String(process.memoryUsage().rss / 1048576))";
    log(`\nbare node: RSS ${fmt(rssOfScript(mem))} MB`);
    log(
      `node + better-sqlite3 with a connection and a statement: RSS ${fmt(
        rssOfScript(
          `const { default: D } = await import("better-sqlite3"); new D(":memory:").prepare("SELECT 1").get(); ${mem}`,
        ),
      )} MB`,
    );
    log(
      `node + the service's module graph (import dist/src/app.js, main.js's imports): RSS ${fmt(
        rssOfScript(
          `await import("./dist/src/app.js"); await import("./dist/src/storage/open-store.js"); ${mem}`,
        ),
      )} MB`,
    );
    const auth = { authorization: `Bearer ${run.token}`, "content-type": "application/json" };
    for (const [index, variant] of variants.entries()) {
      const snapDir = fs.mkdtempSync(path.join(os.tmpdir(), "job-heap-"));
      // The same variant may come twice (interleaved rounds): only the first run takes the snapshots.
      const first = index === 0;
      const server = await startRealServer({
        dataDir: run.workDir,
        dbFile: run.largest.file,
        pinning,
        env: variant.env,
        nodeFlags: [
          ...variant.flags,
          ...(first ? ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${snapDir}`] : []),
        ],
      });
      run.track(server.child);
      const idle = memoryOf(server.child.pid);
      const idleParts = residentParts(server.child.pid);
      const target = {
        name: "service",
        pid: server.child.pid,
        h1Url: server.baseUrl,
        h2Origin: server.baseUrl,
      };
      const h1 = (url: string, body: unknown, connections: number): H1LoadSpec => ({
        url: `${server.baseUrl}${url}`,
        headers: auth,
        body: JSON.stringify(body),
        connections,
        durationS: run.o.durationS,
        warmupS: run.o.warmupS,
      });
      const loads: [(typeof LOADS)[number], (label: string) => Promise<RunRecord | string>][] = [
        ["get-json", () => loadGet(run, target, "json", null)],
        ["get-h2c", () => loadGet(run, target, "proto", null)],
        ["get-grpc", () => loadGet(run, target, "grpc", null)],
        ["list", (label) => run.load(LOAD_H1, h1(LIST_PATH, LIST_REQUEST, 50), label, server.child.pid)],
        // A stat scans the domain's jobs: a few at a time, as a dashboard would.
        [
          "stat",
          (label) => run.load(LOAD_H1, h1(STAT_PATH, STAT_BY_STATUS.request, 4), label, server.child.pid),
        ],
        ["writes", (label) => loadWrites(run, server, label, null)],
        // The shared service's part of the `scaling` scenario: one list, then one stat, at a time, once
        // the workers the earlier loads started have stopped (the scenario first runs the smaller sets).
        ["scaling", () => loadScaling(run, server)],
      ];
      const peaks: string[] = [];
      for (const [name, load] of loads.filter(([name]) => chosen.includes(name))) {
        // A load with no correct answer (a machine too busy for the duration) costs only its own figure.
        const record = await load(`${name} (${variant.label})`).catch((error: unknown) =>
          error instanceof Error ? error.message : String(error),
        );
        const rate =
          typeof record === "string"
            ? record
            : `${fmt(record.result.rps)} req/s, ${fmt(record.serverCpuUsPerRequest)} µs CPU/call`;
        const now = memoryOf(server.child.pid);
        peaks.push(
          `${name} ${fmt(now.peakMb)} (RSS ${fmt(now.rssMb)}; ${rate})\n      ${residentParts(server.child.pid)}`,
        );
      }
      log(`  ${variant.label}: idle ${fmt(idle.rssMb)} MB; peak after\n    ${peaks.join(",\n    ")}`);
      log(`    resident at idle: ${idleParts}`);
      log(`    resident after the loads: ${residentParts(server.child.pid)}`);
      if (first) {
        // Writing a snapshot takes tens of MB of the server's own (the graph it builds): only after the
        // peaks above are read, on one more writes load, so they are not the snapshot's.
        await loadWrites(run, server, `writes, snapshot in the middle (${variant.label})`, () =>
          snapshot(run, server, snapDir, "in the middle of a writes load"),
        ).catch((error: unknown) => log(`    no snapshot under writes: ${String(error)}`));
        await snapshot(run, server, snapDir, "after the loads");
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
