/**
 * `npx tsx bench/profile.ts [--jobs N] [--seconds S] [--env K=V ...] [--data-dir DIR]`: where the server's
 * CPU goes on `get` over Connect JSON HTTP/1.1. Starts the built service pinned to one CPU with
 * `--cpu-prof`, loads it with autocannon on the other, and prints the server's CPU µs per call split by
 * where the samples fall (node internals, connect-node, protobuf-es, our src/, GC...), plus the top
 * functions by self time. `--env WIRE_UNARY=connect` (or any other setting) profiles a variant.
 * `--grpc` profiles `get` over gRPC (h2c, the get scenario's request and sessions) instead.
 * `--list` profiles the `list` scenario's request instead (every thread's profile, read workers too).
 * `--writes` profiles lifecycle progress reports instead (`--writers` writers, one job each, as the
 * `writes` scenario), per acknowledged report.
 * `--heap` also samples the main thread's allocations (collected ones included: bench/core/heap-sampler.mjs)
 * and prints the bytes allocated per call by area and the top allocating functions (self bytes).
 * `--root DIR` profiles another checkout's build (e.g. a `git archive` of main, built) instead of this one.
 * `--interval US` sets the sampling interval; `--save FILE` writes the figures as JSON (bench/profile-diff.ts).
 * `--floor` profiles the floor server (bench/servers/floor-get.ts) under the same `get` load instead of the
 * service, with `npm start`'s node flags, so the two profiles compare function by function (with
 * `--writes`: bench/servers/bare-writes.ts on the jobs the service made, the service unprofiled);
 * `--floor-spin US` makes it burn that much CPU per call (as slow as the service, nothing else changed);
 * `--floor-churn KB` makes it touch that much memory per call (a bigger working set, as the service's).
 * `--node-flag F` (repeatable) adds a node flag after `npm start`'s; `--server-output FILE` keeps what the
 * server printed (e.g. with `--node-flag=--trace-gc`, each collection: how often the old generation is swept).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { grpcFrame } from "../test/support/http-client.js";
import { createRunState } from "./core/context.js";
import { fmt } from "./core/figure.js";
import {
  COUNTER,
  findLifecycle,
  finishWriters,
  type LifecycleProbe,
  PERCENT,
  prepareWriters,
  type WriterSetup,
} from "./core/lifecycle.js";
import { LOAD_H1, LOAD_H2, LOAD_WRITES } from "./core/load.js";
import { parseOptions } from "./core/options.js";
import {
  type Child,
  detectPinning,
  freePort,
  type Pinning,
  pinSelf,
  startNode,
  waitHttpOk,
} from "./core/proc.js";
import { type RealServer, startCommand, startRealServer } from "./core/service.js";
import { BENCH_DOMAIN, GET_PATH, LIST_PATH, LIST_REQUEST } from "./core/workload.js";
import type { H1LoadSpec } from "./load/h1.js";
import type { H2LoadSpec } from "./load/h2.js";
import type { WriteLoadSpec } from "./load/writes.js";
import { getRequest } from "./scenarios/get.js";
import type { BareWritesSpec } from "./servers/bare-writes.js";
import type { FloorGetSpec } from "./servers/floor-get.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** Where a frame's code lives, coarse enough to act on. */
export function area(url: string, fn: string): string {
  if (fn === "(garbage collector)") return "GC";
  if (fn === "(program)" || fn === "(idle)" || fn === "(root)") return fn;
  if (url === "") return "native / V8 builtins";
  if (url.startsWith("node:"))
    return `node internals (${url.replace(/^node:(internal\/)?/, "").split("/")[0]})`;
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1] as string;
  const src = /\/(src|gen)\/(.*)$/.exec(url);
  if (src)
    return `${src[1]}/${(src[2] as string)
      .split("/")
      .slice(0, src[1] === "src" ? 2 : 1)
      .join("/")}`;
  return url;
}

/** Self-time samples per area and per function, over the last `windowS` seconds of the profile only. */
export function summarize(
  file: string,
  windowS: number,
): { byArea: Map<string, number>; byFunction: Map<string, number>; total: number } {
  const profile = JSON.parse(fs.readFileSync(file, "utf8")) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
    endTime: number;
    startTime: number;
  };
  // Start-up (module loading, first compilation) and shutdown are not the calls: count the load window.
  const hitsById = new Map<number, number>();
  let t = profile.startTime;
  const from = profile.endTime - windowS * 1e6;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (t < from) continue;
    const id = profile.samples[i] as number;
    hitsById.set(id, (hitsById.get(id) ?? 0) + 1);
  }
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const hits = hitsById.get(node.id) ?? 0;
    if (hits === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const a = area(url, functionName);
    if (a === "(idle)") continue;
    total += hits;
    byArea.set(a, (byArea.get(a) ?? 0) + hits);
    const key = `${functionName || "(anonymous)"} ${url.split("/").slice(-2).join("/")}:${lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + hits);
  }
  return { byArea, byFunction, total };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      jobs: { type: "string", default: "20000" },
      seconds: { type: "string", default: "8" },
      connections: { type: "string", default: "50" },
      env: { type: "string", multiple: true, default: [] },
      "data-dir": { type: "string" },
      top: { type: "string", default: "25" },
      writes: { type: "boolean", default: false },
      list: { type: "boolean", default: false },
      grpc: { type: "boolean", default: false },
      writers: { type: "string", default: "16" },
      heap: { type: "boolean", default: false },
      root: { type: "string" },
      floor: { type: "boolean", default: false },
      /** With --floor: CPU burnt per call, µs (FloorGetSpec.spinUs). */
      "floor-spin": { type: "string", default: "0" },
      /** With --floor: memory touched per call, KB (FloorGetSpec.churnKb). */
      "floor-churn": { type: "string", default: "0" },
      /** Sampling interval, µs (node's default 1000 gives a few thousand samples a run: too coarse per function). */
      interval: { type: "string", default: "1000" },
      /** Also write the figures (µs per call by area and by function) as JSON here, for bench/profile-diff.ts. */
      save: { type: "string" },
      /** More node flags for the server, after `npm start`'s (e.g. `--trace-gc`, `--heap-growing-percent=50`). */
      "node-flag": { type: "string", multiple: true, default: [] },
      /** Write what the server printed (e.g. its `--trace-gc` lines) here when it stops. */
      "server-output": { type: "string" },
    },
  });
  const opts = parseOptions(["--quick", "--sizes", String(values.jobs), "--jobs", String(values.jobs)]);
  if (opts === "help") return;
  const o = { ...opts, dataDir: values["data-dir"] ? path.resolve(values["data-dir"]) : null };
  const pinning = detectPinning(false);
  pinSelf(pinning.clientCpu);
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const run = await createRunState(o, pinning, log);
  const profDir = fs.mkdtempSync(path.join(os.tmpdir(), "job-prof-"));
  try {
    const env = Object.fromEntries((values.env ?? []).map((kv) => kv.split("=", 2) as [string, string]));
    const heapFile = path.join(profDir, "main.heapprofile");
    const nodeFlags = [
      "--cpu-prof",
      `--cpu-prof-dir=${profDir}`,
      `--cpu-prof-interval=${values.interval}`,
      ...(values.heap ? ["--import", path.join(import.meta.dirname, "core/heap-sampler.mjs")] : []),
      ...(values["node-flag"] ?? []),
    ];
    // `--writes --floor`: the service (unprofiled) makes the writers' jobs; the bare writes server is profiled.
    const bareWrites = values.writes && values.floor;
    const server = bareWrites
      ? await startRealServer({ dataDir: run.workDir, dbFile: run.largest.file, pinning, env })
      : values.floor
        ? await startFloorServer(run, pinning, nodeFlags, values.heap ? { HEAP_SAMPLE_FILE: heapFile } : {}, {
            spinUs: Number(values["floor-spin"]),
            churnKb: Number(values["floor-churn"]),
          })
        : await startRealServer({
            dataDir: run.workDir,
            dbFile: run.largest.file,
            pinning,
            env: values.heap ? { ...env, HEAP_SAMPLE_FILE: heapFile } : env,
            ...(values.root ? { root: path.resolve(values.root) } : {}),
            nodeFlags,
          });
    run.track(server.child);
    const writes = values.writes
      ? await writesSpec(server.baseUrl, run, Number(values.writers), Number(values.seconds))
      : null;
    const profiled =
      bareWrites && writes
        ? await startBareWrites(run, pinning, nodeFlags, writes.setup.headers.authorization ?? "")
        : server;
    if (writes && profiled !== server) writes.spec.url = `${profiled.baseUrl}${writes.setup.path}`;
    const spec = writes
      ? writes.spec
      : ({
          url: `${server.baseUrl}${values.list ? LIST_PATH : GET_PATH}`,
          headers: { authorization: `Bearer ${run.token}`, "content-type": "application/json" },
          body: JSON.stringify(values.list ? LIST_REQUEST : { job_id: run.jobId }),
          connections: Number(values.connections),
          durationS: Number(values.seconds),
          warmupS: 1,
        } satisfies H1LoadSpec);
    const grpc: H2LoadSpec | null = values.grpc
      ? {
          origin: server.baseUrl,
          path: GET_PATH,
          headers: {
            authorization: `Bearer ${run.token}`,
            "content-type": "application/grpc",
            te: "trailers",
          },
          bodyBase64: Buffer.from(grpcFrame(getRequest(run.jobId))).toString("base64"),
          grpc: true,
          sessions: opts.h2Sessions,
          concurrency: Number(values.connections),
          durationS: Number(values.seconds),
          warmupS: 1,
        }
      : null;
    const r = grpc
      ? await run.load(LOAD_H2, grpc, "service / get gRPC", server.child.pid)
      : "bodies" in spec
        ? await run.load(
            LOAD_WRITES,
            spec,
            `${profiled === server ? "service" : "bare writes server"} / progress reports (writes)`,
            profiled.child.pid,
          )
        : await run.load(
            LOAD_H1,
            spec,
            `${values.floor ? "floor" : "service"} / ${values.list ? "list" : "get"} Connect JSON HTTP/1.1`,
            server.child.pid,
          );
    // A reused data set must not keep our jobs running (the next run's creates would be duplicates).
    if (profiled !== server) await profiled.child.stop();
    if (writes) await finishWriters(server.baseUrl, writes.probe, writes.setup);
    await server.child.stop();
    if (values["server-output"]) fs.writeFileSync(values["server-output"], server.child.output());
    // One profile per thread (the main thread and each read worker): their busy samples add up.
    const files = fs.readdirSync(profDir).filter((f) => f.endsWith(".cpuprofile"));
    if (files.length === 0) throw new Error("the server wrote no .cpuprofile");
    const byArea = new Map<string, number>();
    const byFunction = new Map<string, number>();
    let total = 0;
    const threads: string[] = [];
    for (const file of files) {
      const one = summarize(path.join(profDir, file), spec.durationS + spec.warmupS);
      for (const [k, v] of one.byArea) byArea.set(k, (byArea.get(k) ?? 0) + v);
      for (const [k, v] of one.byFunction) byFunction.set(k, (byFunction.get(k) ?? 0) + v);
      total += one.total;
      threads.push(`${file}: ${one.total}`);
    }
    const file = files.join(", ");
    // The profile spans start-up and warm-up too: shares are of its busy samples, applied to the load run's CPU/call.
    const cpuUs = r.serverCpuUsPerRequest ?? Number.NaN;
    log(
      `\nserver CPU per call ${fmt(cpuUs)} µs (${fmt(r.result.rps)} req/s); ${total} busy samples; env ${JSON.stringify(env)}`,
    );
    log(`busy samples by thread: ${threads.join("; ")}`);
    log("\nby area (share of busy samples, and µs per call):");
    for (const [a, hits] of [...byArea].sort((x, y) => y[1] - x[1])) {
      log(
        `  ${((hits / total) * 100).toFixed(1).padStart(5)}%  ${fmt((hits / total) * cpuUs).padStart(6)} µs  ${a}`,
      );
    }
    log(`\ntop ${values.top} functions by self time:`);
    for (const [f, hits] of [...byFunction].sort((x, y) => y[1] - x[1]).slice(0, Number(values.top))) {
      log(`  ${((hits / total) * 100).toFixed(1).padStart(5)}%  ${f}`);
    }
    if (values.save) {
      const perCall = (m: Map<string, number>) =>
        Object.fromEntries([...m].map(([k, hits]) => [k, (hits / total) * cpuUs]));
      const saved = { cpuUs, rps: r.result.rps, byArea: perCall(byArea), byFunction: perCall(byFunction) };
      fs.writeFileSync(values.save, JSON.stringify(saved));
    }
    if (values.heap) {
      // The sampler runs from start-up to exit: the calls are the load run's, warm-up included.
      const calls = r.result.ok * ((spec.durationS + spec.warmupS) / spec.durationS);
      printHeap(heapFile, calls, Number(values.top), log);
    }
    log(`\nprofiles in ${profDir}: ${file}${values.heap ? `, ${path.basename(heapFile)}` : ""}`);
  } finally {
    await run.close();
  }
}

/**
 * A baseline server (a script of bench/servers/ given its JSON spec) started as `npm start` starts the
 * service (its environment and node flags: the same young generation and heap growth), plus `nodeFlags`.
 */
async function startAsService(
  run: { track(child: Child): Child },
  pinning: Pinning,
  script: string,
  spec: { port: number },
  nodeFlags: readonly string[],
  env: Record<string, string>,
): Promise<RealServer> {
  const start = startCommand();
  const child = run.track(
    startNode(script, [JSON.stringify(spec)], {
      cpu: pinning.serverCpu,
      env: { ...process.env, ...start.env, ...env },
      name: path.basename(script, ".ts"),
      nodeFlags: [...start.flags, ...nodeFlags],
    }),
  );
  const baseUrl = `http://127.0.0.1:${spec.port}`;
  await waitHttpOk(`${baseUrl}/healthz`, child, 30_000);
  return { child, baseUrl };
}

/** The floor server of `get` on the run's database. */
async function startFloorServer(
  run: { largest: { file: string }; token: string; track(child: Child): Child },
  pinning: Pinning,
  nodeFlags: readonly string[],
  env: Record<string, string>,
  cost: { spinUs: number; churnKb: number },
): Promise<RealServer> {
  const spec: FloorGetSpec = {
    port: await freePort(),
    dbFile: run.largest.file,
    authorization: `Bearer ${run.token}`,
    domainId: BENCH_DOMAIN,
    ...cost,
  };
  return startAsService(run, pinning, "bench/servers/floor-get.ts", spec, nodeFlags, env);
}

/** The floor of progress writes (durable) on the run's database, where the service made the writers' jobs. */
async function startBareWrites(
  run: { largest: { file: string }; track(child: Child): Child },
  pinning: Pinning,
  nodeFlags: readonly string[],
  authorization: string,
): Promise<RealServer> {
  const spec: BareWritesSpec = {
    port: await freePort(),
    dbFile: run.largest.file,
    authorization,
    domainId: BENCH_DOMAIN,
    durable: true,
  };
  return startAsService(run, pinning, "bench/servers/bare-writes.ts", spec, nodeFlags, {});
}

interface HeapNode {
  callFrame: ProfileNode["callFrame"];
  selfSize: number;
  children: HeapNode[];
}

/** Bytes allocated per call by area and by function (V8's sampled sizes are scaled to estimates). */
function printHeap(file: string, calls: number, top: number, log: (line: string) => void): void {
  const profile = JSON.parse(fs.readFileSync(file, "utf8")) as { head: HeapNode };
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  const visit = (node: HeapNode) => {
    const { functionName, url, lineNumber } = node.callFrame;
    if (node.selfSize > 0) {
      total += node.selfSize;
      const a = area(url, functionName);
      byArea.set(a, (byArea.get(a) ?? 0) + node.selfSize);
      const key = `${functionName || "(anonymous)"} ${url.split("/").slice(-2).join("/")}:${lineNumber + 1}`;
      byFunction.set(key, (byFunction.get(key) ?? 0) + node.selfSize);
    }
    for (const child of node.children) visit(child);
  };
  visit(profile.head);
  log(
    `\nmain thread allocations: ${fmt(total / calls)} bytes per call (${fmt(calls)} calls, start-up included)`,
  );
  log("by area (bytes per call):");
  for (const [a, bytes] of [...byArea].sort((x, y) => y[1] - x[1])) {
    log(`  ${fmt(bytes / calls).padStart(8)}  ${a}`);
  }
  log(`top ${top} allocating functions (self bytes per call):`);
  for (const [f, bytes] of [...byFunction].sort((x, y) => y[1] - x[1]).slice(0, top)) {
    log(`  ${fmt(bytes / calls).padStart(8)}  ${f}`);
  }
}

/** The `writes` scenario's load: `writers` started jobs, each reported on in a closed loop. */
async function writesSpec(
  baseUrl: string,
  run: { token: string; systemToken: string },
  writers: number,
  seconds: number,
): Promise<{ spec: WriteLoadSpec; probe: Extract<LifecycleProbe, { found: true }>; setup: WriterSetup }> {
  const probe = await findLifecycle();
  if (!probe.found) throw new Error(probe.reason);
  const setup = await prepareWriters(
    baseUrl,
    probe,
    [
      { label: "DOMAIN_ADMIN access token", token: run.token },
      { label: "system token", token: run.systemToken },
    ],
    writers,
    async () => [],
  );
  const spec = {
    url: `${baseUrl}${setup.path}`,
    headers: setup.headers,
    bodies: setup.bodies,
    counterPlaceholder: String(COUNTER),
    percentPlaceholder: String(PERCENT),
    durationS: seconds,
    warmupS: 1,
  };
  return { spec, probe, setup };
}

main().catch(async (error: unknown) => {
  process.stderr.write(`profile failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
