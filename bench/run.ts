/**
 * `npm run bench [-- --quick] [--jobs N] [--duration S] [--out DIR] ...`: the service against its
 * baselines, side by side in one run, on the same data, with the same load generators.
 * See docs/benchmarks.md for what each figure means and the targets.
 *
 * Exits non-zero only when it cannot measure (a server does not start, a load generator fails, the
 * responses are wrong); a missed target is reported, never an error.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import Database from "better-sqlite3";
import { JobRequestSchema } from "../gen/spaceone/api/identity/v2/job_pb.js";
import { ensureLocalSecret } from "../src/auth/keys.js";
import { createTokenVerifier, signToken } from "../src/auth/token.js";
import { loadConfig } from "../src/config.js";
import { generateJobs, insertJobs } from "../src/seed/generate.js";
import { openDatabase } from "../src/storage/database.js";
import { grpcStatusOf, h1Post, h2Post, keepAliveAgent } from "./lib/client.js";
import {
  BENCH_DOMAIN,
  type Figure,
  figure,
  fmt,
  grpcFrame,
  JOB_SERVICE,
  percentile,
  round,
  SEED_NOW,
} from "./lib/common.js";
import {
  BENCH_PRINCIPAL,
  getBreakdown,
  type LatencyBudget,
  listEncoding,
  listStatements,
  makeReplay,
  pageOnly,
  replayP50,
  serviceListP50,
  serviceStatP50,
  sqlP50,
} from "./lib/inprocess.js";
import { COUNTER, findLifecycle, finishWriters, PERCENT, prepareWriters } from "./lib/lifecycle.js";
import type { LoadResult } from "./lib/load-types.js";
import {
  type Child,
  cpuTimeMs,
  detectPinning,
  freePort,
  machineInfo,
  memoryOf,
  type Pinning,
  pinSelf,
  REPO_ROOT,
  startNode,
  waitHttpOk,
  waitTcp,
} from "./lib/proc.js";
import { formatTable, type Results, type RunRecord, runRecordToJson, writeResults } from "./lib/report.js";
import { type SeededDb, seedDatabase } from "./lib/seed.js";
import { LIST_REQUEST, STAT_BY_STATUS, STAT_WORKLOADS, type StatWorkload } from "./lib/workload.js";
import type { H1LoadSpec } from "./load-h1.js";
import type { H2LoadSpec } from "./load-h2.js";
import type { WriteLoadSpec } from "./load-writes.js";

// ---- options ---------------------------------------------------------------------------------

interface Options {
  quick: boolean;
  sizes: number[];
  durationS: number;
  warmupS: number;
  connections: number;
  h2Sessions: number;
  writers: number;
  rounds: number;
  out: string;
  dataDir: string | null;
  pin: boolean;
  latency: LatencyBudget;
  microMs: number;
}

const USAGE = `usage: npm run bench -- [options]
  --quick             small data sets and short runs (finishes in under two minutes)
  --jobs N            largest data set (default 1000000; quick: 20000)
  --sizes A,B,C       data sets of the scaling curve (default N/100,N/10,N; quick: N/10,N/2,N)
  --duration S        seconds of each load run (default 10; quick: 3)
  --warmup S          seconds of warm-up before each load run (default 3; quick: 1)
  --connections C     concurrent requests of the throughput runs (default 50)
  --writers W         concurrent lifecycle writers (default 16)
  --rounds R          rounds of the interleaved get runs; figures take the median (default 3; quick: 1)
  --out DIR           where latest.json and latest.md go (default bench/results)
  --data-dir DIR      keep the seeded databases there and reuse them next time
  --no-pin            do not pin processes to CPUs with taskset`;

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: false },
      jobs: { type: "string" },
      sizes: { type: "string" },
      duration: { type: "string" },
      warmup: { type: "string" },
      connections: { type: "string" },
      writers: { type: "string" },
      rounds: { type: "string" },
      out: { type: "string" },
      "data-dir": { type: "string" },
      "no-pin": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const num = (name: string, raw: string | undefined, fallback: number, min: number): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min} (got ${raw})`);
    return n;
  };
  const quick = values.quick ?? false;
  const jobs = Math.round(num("jobs", values.jobs, quick ? 20_000 : 1_000_000, 10));
  let sizes: number[];
  if (values.sizes !== undefined) {
    sizes = values.sizes.split(",").map((s) => Math.round(num("sizes", s.trim(), 0, 10)));
  } else {
    const fractions = quick ? [0.1, 0.5, 1] : [0.01, 0.1, 1];
    sizes = fractions.map((f) => Math.max(10, Math.round(jobs * f)));
  }
  sizes = [...new Set(sizes)].sort((a, b) => a - b);
  const durationS = num("duration", values.duration, quick ? 3 : 10, 0.2);
  const warmupS = num("warmup", values.warmup, Math.min(quick ? 1 : 3, durationS / 2), 0);
  const latencyMs = Math.min(quick ? 600 : 3000, durationS * 500);
  return {
    quick,
    sizes,
    durationS,
    warmupS,
    connections: Math.round(num("connections", values.connections, 50, 1)),
    h2Sessions: 4,
    writers: Math.round(num("writers", values.writers, 16, 1)),
    rounds: Math.round(num("rounds", values.rounds, quick ? 1 : 3, 1)),
    out: path.resolve(values.out ?? path.join(REPO_ROOT, "bench", "results")),
    dataDir: values["data-dir"] ? path.resolve(values["data-dir"]) : null,
    pin: !(values["no-pin"] ?? false),
    latency: {
      minIterations: quick ? 10 : 30,
      minMs: latencyMs,
      maxIterations: quick ? 400 : 3000,
      warmup: 3,
    },
    microMs: quick ? 80 : 400,
  };
}

// ---- plumbing --------------------------------------------------------------------------------

/** A reason the run cannot produce trustworthy figures: ends the run with exit code 1. */
class CannotMeasure extends Error {}

const log = (line: string) => process.stdout.write(`${line}\n`);
const children = new Set<Child>();

function track(child: Child): Child {
  children.add(child);
  child.proc.once("exit", () => children.delete(child));
  return child;
}

/** What `npm start` runs after `npm run build`. */
const SERVICE_ENTRY = "dist/src/main.js";

/** Compile the service as `npm start` does, so the benchmark measures the production build. */
function buildService(): void {
  try {
    execFileSync(
      process.execPath,
      [path.join(REPO_ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
      {
        cwd: REPO_ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
  } catch (error) {
    const out = error as { stdout?: Buffer; stderr?: Buffer };
    throw new CannotMeasure(
      `the service does not build: ${String(out.stdout ?? "")}${String(out.stderr ?? "")}`,
    );
  }
}

async function stopAll(): Promise<void> {
  await Promise.all([...children].map((c) => c.stop()));
}

const CONFIG_KEYS = [
  "JOB_REAPER_INTERVAL_SECONDS",
  "JOB_RETENTION_INTERVAL_SECONDS",
  "HOST",
  "PORT",
  "DATA_DIR",
  "DATABASE_FILE",
  "JWT_ALGORITHM",
  "JWT_SECRET_FILE",
  "JWT_PUBLIC_KEY_FILE",
  "JWT_JWKS_FILE",
  "JWT_PRIVATE_KEY_FILE",
  "LOG_LEVEL",
];

interface RealServer {
  child: Child;
  baseUrl: string;
  origin: string;
}

async function startRealServer(dataDir: string, dbFile: string, pinning: Pinning): Promise<RealServer> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of CONFIG_KEYS) delete env[key];
  Object.assign(env, {
    HOST: "127.0.0.1",
    PORT: String(port),
    DATA_DIR: dataDir,
    DATABASE_FILE: dbFile,
    JWT_ALGORITHM: "HS256",
    LOG_LEVEL: "warn",
    // Housekeeping off: the seeded jobs are dated before the real clock, so the reaper would rewrite
    // thousands of them (and retention purge them) in the middle of the measurements.
    JOB_REAPER_INTERVAL_SECONDS: "0",
    JOB_RETENTION_INTERVAL_SECONDS: "0",
  });
  // The service runs as `npm start` runs it: the compiled build (tsconfig.build.json), not tsx.
  const child = track(startNode(SERVICE_ENTRY, [], { cpu: pinning.serverCpu, env, name: "job service" }));
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitHttpOk(`${baseUrl}/healthz`, child, 60_000);
  } catch (error) {
    await child.stop();
    throw new CannotMeasure(`the service did not start: ${(error as Error).message}`);
  }
  return { child, baseUrl, origin: baseUrl };
}

interface LoadSetup {
  label: string;
  serverPid: number;
  pinning: Pinning;
}

function checkLoad(label: string, r: LoadResult): void {
  const line =
    `    ${label}: ${fmt(r.rps)} req/s, p50 ${fmt(r.p50Ms)} ms, p99 ${fmt(r.p99Ms)} ms, ${r.ok} ok, ${r.errors} errors` +
    `, load generator CPU ${fmt(r.generatorCpuPct)}%`;
  log(line);
  if (r.errorSamples.length > 0) log(`      errors: ${r.errorSamples.join("; ")}`);
  if (r.ok === 0)
    throw new CannotMeasure(`${label}: no correct response (${r.errorSamples.join("; ") || "none at all"})`);
  if (r.errors > 0.01 * (r.ok + r.errors)) {
    throw new CannotMeasure(
      `${label}: ${r.errors} errors in ${r.ok + r.errors} responses (${r.errorSamples.join("; ")})`,
    );
  }
}

async function runLoad(script: string, spec: unknown, setup: LoadSetup): Promise<RunRecord> {
  const cpu0 = cpuTimeMs(setup.serverPid);
  const wall0 = performance.now();
  const child = track(
    startNode(script, [JSON.stringify(spec)], { cpu: setup.pinning.clientCpu, name: script }),
  );
  let stdout: string;
  try {
    stdout = await child.result();
  } catch (error) {
    throw new CannotMeasure(`load generator ${script} failed: ${(error as Error).message}`);
  }
  const cpu1 = cpuTimeMs(setup.serverPid);
  const wallMs = performance.now() - wall0;
  const last = stdout.trim().split("\n").pop() ?? "";
  let result: LoadResult;
  try {
    result = JSON.parse(last) as LoadResult;
  } catch {
    throw new CannotMeasure(`load generator ${script} printed no result: ${stdout.slice(-500)}`);
  }
  checkLoad(setup.label, result);
  const cpuUs =
    cpu0 !== null && cpu1 !== null && result.totalRequests > 0
      ? ((cpu1 - cpu0) * 1000) / result.totalRequests
      : null;
  const serverCpuPct = cpu0 !== null && cpu1 !== null ? ((cpu1 - cpu0) / wallMs) * 100 : null;
  return { label: setup.label, result, serverCpuUsPerRequest: cpuUs, serverCpuPct };
}

// ---- the measurements ------------------------------------------------------------------------

interface Captured {
  json: { contentType: string; body: Buffer };
  proto: { contentType: string; body: Buffer };
  grpc: { contentType: string; body: Buffer };
}

const GET_PATH = `/${JOB_SERVICE}/get`;
const LIST_PATH = `/${JOB_SERVICE}/list`;
const STAT_PATH = `/${JOB_SERVICE}/stat`;

/** One `get` per protocol: checks the answers and keeps their bytes for the bare server. */
async function captureGet(server: RealServer, token: string, jobId: string): Promise<Captured> {
  const auth = { authorization: `Bearer ${token}` };
  const json = await h1Post(
    `${server.baseUrl}${GET_PATH}`,
    { ...auth, "content-type": "application/json" },
    JSON.stringify({ job_id: jobId }),
  );
  const jsonText = json.body.toString("utf8");
  if (json.status !== 200 || (JSON.parse(jsonText) as { job_id?: string }).job_id !== jobId) {
    throw new CannotMeasure(`get over Connect JSON answered HTTP ${json.status}: ${jsonText.slice(0, 300)}`);
  }
  const request = toBinary(JobRequestSchema, create(JobRequestSchema, { jobId }));
  const proto = await h2Post(
    server.origin,
    GET_PATH,
    { ...auth, "content-type": "application/proto" },
    request,
  );
  if (proto.status !== 200 || !proto.body.includes(Buffer.from(jobId))) {
    throw new CannotMeasure(
      `get over Connect binary h2c answered HTTP ${proto.status}: ${proto.body.toString("utf8").slice(0, 300)}`,
    );
  }
  const grpc = await h2Post(
    server.origin,
    GET_PATH,
    { ...auth, "content-type": "application/grpc", te: "trailers" },
    grpcFrame(request),
  );
  const gs = grpcStatusOf(grpc);
  if (grpc.status !== 200 || gs.status !== "0" || !grpc.body.includes(Buffer.from(jobId))) {
    throw new CannotMeasure(
      `get over gRPC answered HTTP ${grpc.status} grpc-status ${gs.status}: ${gs.message}`,
    );
  }
  return {
    json: { contentType: String(json.headers["content-type"] ?? "application/json"), body: json.body },
    proto: { contentType: String(proto.headers["content-type"] ?? "application/proto"), body: proto.body },
    grpc: { contentType: String(grpc.headers["content-type"] ?? "application/grpc"), body: grpc.body },
  };
}

type Protocol = "json" | "proto" | "grpc";

const PROTOCOL_LABEL: Record<Protocol, string> = {
  json: "Connect JSON, HTTP/1.1",
  proto: "Connect binary, h2c",
  grpc: "gRPC",
};

interface GetTarget {
  /** "service", "bare node:http", "@grpc/grpc-js + SQLite" */
  name: string;
  pid: number;
  h1Url: string;
  h2Origin: string;
}

/** One load run of `get` against one server over one protocol. */
async function loadGet(
  target: GetTarget,
  protocol: Protocol,
  round: number | null,
  token: string,
  jobId: string,
  o: Options,
  pinning: Pinning,
): Promise<RunRecord> {
  const auth = { authorization: `Bearer ${token}` };
  const label = `${target.name} / ${PROTOCOL_LABEL[protocol]}${round === null ? "" : ` (round ${round})`}`;
  const setup = { label, serverPid: target.pid, pinning };
  if (protocol === "json") {
    const h1: H1LoadSpec = {
      url: `${target.h1Url}${GET_PATH}`,
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ job_id: jobId }),
      connections: o.connections,
      durationS: o.durationS,
      warmupS: o.warmupS,
    };
    return runLoad("bench/load-h1.ts", h1, setup);
  }
  const grpc = protocol === "grpc";
  const request = toBinary(JobRequestSchema, create(JobRequestSchema, { jobId }));
  const h2: H2LoadSpec = {
    origin: target.h2Origin,
    path: GET_PATH,
    headers: grpc
      ? { ...auth, "content-type": "application/grpc", te: "trailers" }
      : { ...auth, "content-type": "application/proto" },
    bodyBase64: Buffer.from(grpc ? grpcFrame(request) : request).toString("base64"),
    grpc,
    sessions: o.h2Sessions,
    concurrency: o.connections,
    durationS: o.durationS,
    warmupS: o.warmupS,
  };
  return runLoad("bench/load-h2.ts", h2, setup);
}

/** The run with the median requests/s of several rounds. */
function medianRun(runs: readonly RunRecord[]): RunRecord | undefined {
  const sorted = [...runs].sort((a, b) => a.result.rps - b.result.rps);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/**
 * Sequential requests over one keep-alive connection: p50 in ms, after checking the first answer.
 * With `baseline`, each request is followed by one call of it (timed apart), so the server and its
 * baseline are sampled at the same moments of a noisy machine.
 */
async function serverLatency(
  baseUrl: string,
  urlPath: string,
  token: string,
  body: unknown,
  budget: LatencyBudget,
  baseline?: () => unknown,
): Promise<
  | { p50: number; baselineP50: number | null; first: unknown }
  | { status: number; error: { code?: string; message?: string } }
> {
  const agent = keepAliveAgent();
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const text = JSON.stringify(body);
  try {
    const first = await h1Post(`${baseUrl}${urlPath}`, headers, text, agent);
    const parsed = JSON.parse(first.body.toString("utf8") || "null") as unknown;
    if (first.status !== 200) {
      return { status: first.status, error: (parsed ?? {}) as { code?: string; message?: string } };
    }
    let bad: string | null = null;
    const request = async () => {
      const r = await h1Post(`${baseUrl}${urlPath}`, headers, text, agent);
      if (r.status !== 200) bad = `HTTP ${r.status}: ${r.body.toString("utf8").slice(0, 200)}`;
    };
    for (let i = 0; i < budget.warmup; i++) {
      await request();
      baseline?.();
    }
    const samples: number[] = [];
    const baseSamples: number[] = [];
    const start = performance.now();
    while (
      samples.length < budget.maxIterations &&
      (samples.length < budget.minIterations || performance.now() - start < budget.minMs)
    ) {
      let t0 = performance.now();
      await request();
      samples.push(performance.now() - t0);
      if (baseline) {
        t0 = performance.now();
        baseline();
        baseSamples.push(performance.now() - t0);
      }
    }
    if (bad !== null) throw new CannotMeasure(`${urlPath} failed under repetition: ${bad}`);
    return {
      p50: percentile(samples, 50),
      baselineP50: baseline ? percentile(baseSamples, 50) : null,
      first: parsed,
    };
  } finally {
    agent.destroy();
  }
}

function sumCounts(rows: unknown): number {
  if (!Array.isArray(rows)) return Number.NaN;
  return rows.reduce((sum: number, r) => sum + Number((r as { count?: unknown }).count ?? 0), 0);
}

interface StatOutcome {
  workload: StatWorkload;
  serverP50: number | null;
  /** Why it could not be measured. */
  unavailable: { status: Figure["status"]; reason: string } | null;
  /** Sum of `count` in the answer, to compare with the raw SQL. */
  answerTotal: number | null;
  /** p50 of the raw SQL sampled alongside (null when the service could not be measured). */
  rawP50: number | null;
}

async function measureStat(
  server: RealServer,
  token: string,
  w: StatWorkload,
  budget: LatencyBudget,
  raw?: () => unknown,
): Promise<StatOutcome> {
  const r = await serverLatency(server.baseUrl, STAT_PATH, token, w.request, budget, raw);
  if ("status" in r) {
    const code = r.error.code ?? `HTTP ${r.status}`;
    const status = code === "unimplemented" ? "not measurable yet" : "not measurable";
    return {
      workload: w,
      serverP50: null,
      unavailable: {
        status,
        reason: `the service answers ${code}: ${(r.error.message ?? "").slice(0, 200)}`,
      },
      answerTotal: null,
      rawP50: null,
    };
  }
  const results = (r.first as { results?: unknown } | null)?.results;
  return {
    workload: w,
    serverP50: r.p50,
    unavailable: null,
    answerTotal: sumCounts(results),
    rawP50: r.baselineP50,
  };
}

function pickJobId(file: string): string {
  const db = new Database(file, { readonly: true });
  try {
    const n = (
      db
        .prepare("SELECT count(*) AS n FROM jobs WHERE domain_id = ? AND status = 'SUCCESS'")
        .get(BENCH_DOMAIN) as { n: number }
    ).n;
    const row = db
      .prepare(
        "SELECT job_id FROM jobs WHERE domain_id = ? AND status = 'SUCCESS' ORDER BY seq LIMIT 1 OFFSET ?",
      )
      .get(BENCH_DOMAIN, Math.floor(n / 2)) as { job_id: string } | undefined;
    if (!row) throw new CannotMeasure(`no SUCCESS job in ${BENCH_DOMAIN} of ${file}`);
    return row.job_id;
  } finally {
    db.close();
  }
}

/** Raw durable writes: autocommit single-row UPDATEs with the service's own pragmas, on a scratch database. */
function rawWritesPerSecond(
  dir: string,
  ms: number,
): { perSecond: number; synchronous: string; journal: string } {
  const file = path.join(dir, "scratch-writes.db");
  for (const suffix of ["", "-wal", "-shm"]) fs.rmSync(`${file}${suffix}`, { force: true });
  const db = openDatabase({ file });
  try {
    insertJobs(db, generateJobs({ count: 1000, now: SEED_NOW }));
    const ids = (db.prepare("SELECT job_id FROM jobs LIMIT 100").all() as { job_id: string }[]).map(
      (r) => r.job_id,
    );
    const update = db.prepare("UPDATE jobs SET updated_at = ? WHERE job_id = ?");
    let n = 0;
    const start = performance.now();
    while (performance.now() - start < ms) {
      update.run(new Date().toISOString(), ids[n % ids.length]);
      n++;
    }
    const seconds = (performance.now() - start) / 1000;
    const sync = Number(db.pragma("synchronous", { simple: true }));
    const journal = String(db.pragma("journal_mode", { simple: true }));
    return {
      perSecond: n / seconds,
      synchronous: ["OFF", "NORMAL", "FULL", "EXTRA"][sync] ?? String(sync),
      journal,
    };
  } finally {
    db.close();
    for (const suffix of ["", "-wal", "-shm"]) fs.rmSync(`${file}${suffix}`, { force: true });
  }
}

// ---- main ------------------------------------------------------------------------------------

async function main(): Promise<number> {
  let o: Options;
  try {
    o = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const started = performance.now();
  const pinning = detectPinning(!o.pin);
  // Before pinning: the CPU count is the machine's, not this process's affinity.
  const machine = machineInfo(pinning);
  const selfPinned = pinning.enabled && pinSelf(pinning.clientCpu);
  log(
    `bench: ${o.quick ? "quick" : "full"} run, sizes ${o.sizes.map((s) => s.toLocaleString("en-US")).join(" / ")} jobs`,
  );
  log(`machine: ${machine.cpu_model}, ${machine.cores} cores, Node ${machine.node}`);
  log(
    `pinning: ${pinning.enabled ? "yes" : "no"} — ${pinning.note}${pinning.enabled && !selfPinned ? " (the orchestrator itself could not be pinned)" : ""}`,
  );

  const workDir = o.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "job-bench-"));
  fs.mkdirSync(workDir, { recursive: true });
  const notes: string[] = [];
  const figures: Figure[] = [];
  const runs: RunRecord[] = [];
  try {
    // Tokens: the same HS256 secret file the servers read.
    const config = loadConfig({ DATA_DIR: workDir, JWT_ALGORITHM: "HS256" });
    ensureLocalSecret(config);
    const token = await signToken(config, {
      domainId: BENCH_DOMAIN,
      role: "DOMAIN_ADMIN",
      ttlSeconds: 6 * 3600,
      subject: "bench",
    });
    const systemToken = await signToken(config, {
      domainId: BENCH_DOMAIN,
      role: "DOMAIN_ADMIN",
      ttlSeconds: 6 * 3600,
      tokenType: "SYSTEM_TOKEN",
      subject: "bench-worker",
    });

    log("building the service (npm run build):");
    buildService();
    log("seeding:");
    const dbs: SeededDb[] = o.sizes.map((n) => seedDatabase(workDir, n, (l) => log(l)));
    const largest = dbs[dbs.length - 1] as SeededDb;
    const smallest = dbs[0] as SeededDb;
    const jobId = pickJobId(largest.file);
    const n = largest.jobs.toLocaleString("en-US");
    log(
      `largest: ${n} jobs, ${largest.domainJobs.toLocaleString("en-US")} in ${BENCH_DOMAIN}; get on ${jobId}`,
    );

    // ---- A. get: the service, the bare ceiling and grpc-js, interleaved ------------------------
    log(
      `\n[1/4] get on ${n} jobs: the service, bare node:http and @grpc/grpc-js, ${o.rounds} round(s) interleaved`,
    );
    const server = await startRealServer(workDir, largest.file, pinning);
    const idleMemory = memoryOf(server.child.pid);
    const captured = await captureGet(server, token, jobId);

    const h1Port = await freePort();
    const h2Port = await freePort();
    const bareSpecFile = path.join(workDir, "bare-spec.json");
    const bytes = (c: { contentType: string; body: Buffer }) => ({
      contentType: c.contentType,
      bodyBase64: c.body.toString("base64"),
    });
    fs.writeFileSync(
      bareSpecFile,
      JSON.stringify({
        h1Port,
        h2Port,
        json: bytes(captured.json),
        proto: bytes(captured.proto),
        grpc: bytes(captured.grpc),
      }),
    );
    const bare = track(
      startNode("bench/server-bare.ts", [bareSpecFile], { cpu: pinning.serverCpu, name: "bare server" }),
    );
    try {
      await waitHttpOk(`http://127.0.0.1:${h1Port}/healthz`, bare, 30_000);
      await waitTcp(h2Port, bare, 30_000);
    } catch (error) {
      throw new CannotMeasure(`the bare server did not start: ${(error as Error).message}`);
    }

    const grpcPort = await freePort();
    const grpcjs = track(
      startNode(
        "bench/server-grpcjs.ts",
        [
          JSON.stringify({
            port: grpcPort,
            databaseFile: largest.file,
            secretFile: config.jwt.secretFile,
            repoRoot: REPO_ROOT,
          }),
        ],
        { cpu: pinning.serverCpu, name: "grpc-js server" },
      ),
    );
    try {
      await waitTcp(grpcPort, grpcjs, 60_000);
      const request = toBinary(JobRequestSchema, create(JobRequestSchema, { jobId }));
      const check = await h2Post(
        `http://127.0.0.1:${grpcPort}`,
        GET_PATH,
        { authorization: `Bearer ${token}`, "content-type": "application/grpc", te: "trailers" },
        grpcFrame(request),
      );
      const gs = grpcStatusOf(check);
      if (gs.status !== "0" || !check.body.includes(Buffer.from(jobId))) {
        throw new Error(`get answered grpc-status ${gs.status}: ${gs.message}`);
      }
    } catch (error) {
      throw new CannotMeasure(`the grpc-js server does not work: ${(error as Error).message}`);
    }

    const service: GetTarget = {
      name: "service",
      pid: server.child.pid,
      h1Url: server.baseUrl,
      h2Origin: server.origin,
    };
    const bareTarget: GetTarget = {
      name: "bare node:http",
      pid: bare.pid,
      h1Url: `http://127.0.0.1:${h1Port}`,
      h2Origin: `http://127.0.0.1:${h2Port}`,
    };
    const grpcjsTarget: GetTarget = {
      name: "@grpc/grpc-js + SQLite",
      pid: grpcjs.pid,
      h1Url: "",
      h2Origin: `http://127.0.0.1:${grpcPort}`,
    };
    // Each baseline right after the run it is compared with, so drift on a shared machine hits both.
    const plan: [GetTarget, Protocol][] = [
      [service, "json"],
      [bareTarget, "json"],
      [service, "proto"],
      [bareTarget, "proto"],
      [service, "grpc"],
      [grpcjsTarget, "grpc"],
      [bareTarget, "grpc"],
    ];
    const byKey = new Map<string, RunRecord[]>();
    for (let round = 1; round <= o.rounds; round++) {
      for (const [target, protocol] of plan) {
        const r = await loadGet(target, protocol, o.rounds > 1 ? round : null, token, jobId, o, pinning);
        runs.push(r);
        const key = `${target.name}|${protocol}`;
        byKey.set(key, [...(byKey.get(key) ?? []), r]);
      }
    }
    const pick = (target: GetTarget, protocol: Protocol) =>
      medianRun(byKey.get(`${target.name}|${protocol}`) ?? []);
    const real = { json: pick(service, "json"), proto: pick(service, "proto"), grpc: pick(service, "grpc") };
    const bareRuns = {
      json: pick(bareTarget, "json"),
      proto: pick(bareTarget, "proto"),
      grpc: pick(bareTarget, "grpc"),
    };
    const grpcjsRuns = { grpc: pick(grpcjsTarget, "grpc") };
    await bare.stop();
    const grpcjsMemory = memoryOf(grpcjs.pid);
    await grpcjs.stop();

    // ---- B. list, stat and lifecycle writes through the service --------------------------------
    log(`\n[2/4] list, stat and lifecycle writes through the service on ${n} jobs`);

    // The raw SQL runs in this process on its own read connection, alternating with the requests.
    const db = openDatabase({ file: largest.file, readonly: true });
    const statements = listStatements(db, LIST_REQUEST);
    const memory: Record<string, number | null> = { after_get_runs: memoryOf(server.child.pid).rssMb };
    const list = await serverLatency(
      server.baseUrl,
      LIST_PATH,
      token,
      LIST_REQUEST,
      o.latency,
      makeReplay(db, statements),
    );
    memory.after_list = memoryOf(server.child.pid).rssMb;
    if ("status" in list)
      throw new CannotMeasure(`list answered HTTP ${list.status}: ${JSON.stringify(list.error)}`);
    const listTotal = Number((list.first as { total_count?: unknown }).total_count ?? Number.NaN);
    const listRows = ((list.first as { results?: unknown[] }).results ?? []).length;
    log(
      `    list: p50 ${fmt(list.p50)} ms, raw SQL page + count alongside ${fmt(list.baselineP50)} ms (${listRows} rows of total_count ${listTotal})`,
    );

    const stats: StatOutcome[] = [];
    for (const w of STAT_WORKLOADS) {
      const rawStmt = db.prepare(w.sql);
      const s = await measureStat(server, token, w, o.latency, () => rawStmt.all(...(w.params as unknown[])));
      stats.push(s);
      memory[`after_${w.name}`] = memoryOf(server.child.pid).rssMb;
      log(
        `    ${w.name}: ${
          s.serverP50 === null
            ? s.unavailable?.reason
            : `p50 ${fmt(s.serverP50)} ms, raw SQL alongside ${fmt(s.rawP50)} ms`
        }`,
      );
    }

    // Lifecycle writes, when the lifecycle API exists.
    let writes: { run: RunRecord; tokenLabel: string } | { status: Figure["status"]; reason: string };
    const probe = await findLifecycle();
    if (!probe.found) {
      writes = { status: "not measurable yet", reason: probe.reason };
    } else {
      try {
        const setup = await prepareWriters(
          server.baseUrl,
          probe,
          [
            { label: "DOMAIN_ADMIN access token", token },
            { label: "system token", token: systemToken },
          ],
          o.writers,
          async () => {
            const db = new Database(largest.file, { readonly: true });
            try {
              return (
                db
                  .prepare("SELECT job_id FROM jobs WHERE domain_id = ? AND status = 'IN_PROGRESS' LIMIT ?")
                  .all(BENCH_DOMAIN, o.writers) as {
                  job_id: string;
                }[]
              ).map((r) => r.job_id);
            } finally {
              db.close();
            }
          },
        );
        const spec: WriteLoadSpec = {
          url: `${server.baseUrl}${setup.path}`,
          headers: setup.headers,
          bodies: setup.bodies,
          counterPlaceholder: String(COUNTER),
          percentPlaceholder: String(PERCENT),
          durationS: o.durationS,
          warmupS: o.warmupS,
        };
        writes = {
          tokenLabel: setup.tokenLabel,
          run: await runLoad("bench/load-writes.ts", spec, {
            label: `service / ${setup.path} (writes)`,
            serverPid: server.child.pid,
            pinning,
          }),
        };
        runs.push(writes.run);
        await finishWriters(server.baseUrl, probe, setup);
      } catch (error) {
        if (error instanceof CannotMeasure) throw error;
        writes = {
          status: "not measurable yet",
          reason: `lifecycle rpc found but not drivable: ${(error as Error).message.slice(0, 300)}`,
        };
      }
    }
    if ("reason" in writes) log(`    lifecycle writes: ${writes.reason}`);

    const serverMemory = memoryOf(server.child.pid);
    memory.after_writes = serverMemory.rssMb;
    log(
      `    peak RSS ${fmt(serverMemory.peakMb)} MB; RSS idle ${fmt(idleMemory.rssMb)}, ${Object.entries(
        memory,
      )
        .map(([k, v]) => `${k.replaceAll("_", " ")} ${fmt(v)}`)
        .join(", ")} MB`,
    );
    await server.child.stop();

    // ---- C. in-process baselines on the largest data set ---------------------------------------
    log(`\n[3/4] raw SQL and in-process costs on ${n} jobs (better-sqlite3 in this process)`);
    // Alongside the requests (above) for the server figure; alone, in a tight loop, for the in-process ones.
    const rawListAlone = await replayP50(db, statements, o.latency);
    const rawList = { p50: list.baselineP50 ?? rawListAlone.p50 };
    const rawPage = await replayP50(db, pageOnly(statements), o.latency);
    const rawTotal = statements
      .filter((s) => s.method === "get")
      .map(
        (s) =>
          Object.values(
            (db.prepare(s.sql).get(...(s.params as unknown[])) ?? {}) as Record<string, unknown>,
          )[0],
      )
      .find((v) => typeof v === "number") as number | undefined;
    const serviceList = await serviceListP50(db, LIST_REQUEST, o.latency);
    log(
      `    list, in a tight loop: raw page+count p50 ${fmt(rawListAlone.p50)} ms, page only ${fmt(rawPage.p50)} ms, service in-process ${fmt(serviceList)} ms`,
    );
    log(`    list SQL: ${statements.map((s) => s.sql).join("  ;  ")}`);
    const rawStats = new Map<string, { p50: number; total: number }>();
    const serviceStats = new Map<string, { p50: number } | { error: string }>();
    for (const w of STAT_WORKLOADS) {
      const alongside = stats.find((x) => x.workload === w)?.rawP50 ?? null;
      const raw = await sqlP50(
        db,
        w.sql,
        w.params,
        alongside === null
          ? o.latency
          : { ...o.latency, minIterations: 1, minMs: 0, maxIterations: 1, warmup: 0 },
      );
      rawStats.set(w.name, { p50: alongside ?? raw.p50, total: sumCounts(raw.rows) });
      serviceStats.set(w.name, await serviceStatP50(db, w.request, o.latency));
      log(`    ${w.name}: raw SQL p50 ${fmt(alongside ?? raw.p50)} ms (${raw.rows.length} groups)`);
    }
    const verifier = await createTokenVerifier(config);
    const breakdown = await getBreakdown(db, jobId, verifier, token, o.microMs);
    log(
      `    get pieces (µs/call): SQLite lookup ${fmt(breakdown.sqliteLookupUs)}, JobService.get ${fmt(breakdown.serviceGetUs)}, ` +
        `token check ${fmt(breakdown.authenticateUs)}, encode binary ${fmt(breakdown.encodeBinaryUs)}, JSON ${fmt(breakdown.encodeJsonUs)}`,
    );
    const encoding = await listEncoding(db, LIST_REQUEST, o.microMs);
    log(
      `    list page of ${encoding.rows} (µs): service ${fmt(encoding.serviceUs)}, protobuf-es JSON ${fmt(encoding.protobufJsonUs)}, ` +
        `protobuf binary ${fmt(encoding.protobufBinaryUs)}, JSON.stringify ${fmt(encoding.plainJsonUs)}`,
    );
    db.close();
    const rawWrites = rawWritesPerSecond(workDir, o.quick ? 300 : 1500);
    log(
      `    raw writes: ${fmt(rawWrites.perSecond)}/s (journal ${rawWrites.journal}, synchronous ${rawWrites.synchronous})`,
    );

    // ---- D. the scaling curve -------------------------------------------------------------------
    log("\n[4/4] scaling: list and stat latency per data set size");
    const scaling: { db: SeededDb; list: number; stat: number | null; rawList: number; rawPage: number }[] =
      [];
    for (const d of dbs) {
      if (d === largest) {
        const byStatus = stats.find((s) => s.workload === STAT_BY_STATUS);
        scaling.push({
          db: d,
          list: list.p50,
          stat: byStatus?.serverP50 ?? null,
          rawList: rawList.p50,
          rawPage: rawPage.p50,
        });
        continue;
      }
      const sdb = openDatabase({ file: d.file, readonly: true });
      const st2 = listStatements(sdb, LIST_REQUEST);
      const s = await startRealServer(workDir, d.file, pinning);
      const l = await serverLatency(
        s.baseUrl,
        LIST_PATH,
        token,
        LIST_REQUEST,
        o.latency,
        makeReplay(sdb, st2),
      );
      if ("status" in l) throw new CannotMeasure(`list on ${d.jobs} jobs answered HTTP ${l.status}`);
      const st = await measureStat(s, token, STAT_BY_STATUS, o.latency);
      await s.child.stop();
      const rp = await replayP50(sdb, pageOnly(st2), o.latency);
      sdb.close();
      scaling.push({
        db: d,
        list: l.p50,
        stat: st.serverP50,
        rawList: l.baselineP50 ?? Number.NaN,
        rawPage: rp.p50,
      });
    }
    for (const s of scaling) {
      log(
        `    ${s.db.jobs.toLocaleString("en-US").padStart(10)} jobs: list p50 ${fmt(s.list)} ms (raw page+count ${fmt(s.rawList)}, page only ${fmt(
          s.rawPage,
        )}), stat by status ${s.stat === null ? "n/a" : `${fmt(s.stat)} ms`}`,
      );
    }

    // ---- figures --------------------------------------------------------------------------------
    const rps = (r: RunRecord | undefined) => r?.result.rps ?? null;
    const p50 = (r: RunRecord | undefined) => r?.result.p50Ms ?? null;
    const p99 = (r: RunRecord | undefined) => r?.result.p99Ms ?? null;
    const sameBytes = "bare node:http, same bytes";
    const bareH2 = "bare node:http2, same bytes";
    const grpcjsName = "@grpc/grpc-js + SQLite";
    figures.push(
      figure({
        name: "get.connect_json_h1.rps",
        title: "get, Connect JSON over HTTP/1.1, requests/s",
        value: rps(real.json),
        unit: "req/s",
        baseline: rps(bareRuns.json),
        baselineName: sameBytes,
        target: { on: "ratio", op: ">=", threshold: 0.5 },
        note: `autocannon, ${o.connections} connections; the baseline may be limited by autocannon itself on one core`,
      }),
      figure({
        name: "get.connect_json_h1.p50_ms",
        title: "get, Connect JSON HTTP/1.1, p50",
        value: p50(real.json),
        unit: "ms",
        baseline: p50(bareRuns.json),
        baselineName: sameBytes,
        note: "autocannon latencies have 1 ms resolution",
      }),
      figure({
        name: "get.connect_json_h1.p99_ms",
        title: "get, Connect JSON HTTP/1.1, p99",
        value: p99(real.json),
        unit: "ms",
        baseline: p99(bareRuns.json),
        baselineName: sameBytes,
      }),
      figure({
        name: "get.connect_proto_h2c.rps",
        title: "get, Connect binary over h2c, requests/s",
        value: rps(real.proto),
        unit: "req/s",
        baseline: rps(bareRuns.proto),
        baselineName: bareH2,
      }),
      figure({
        name: "get.connect_proto_h2c.p50_ms",
        title: "get, Connect binary h2c, p50",
        value: p50(real.proto),
        unit: "ms",
        baseline: p50(bareRuns.proto),
        baselineName: bareH2,
      }),
      figure({
        name: "get.connect_proto_h2c.p99_ms",
        title: "get, Connect binary h2c, p99",
        value: p99(real.proto),
        unit: "ms",
        baseline: p99(bareRuns.proto),
        baselineName: bareH2,
      }),
      figure({
        name: "get.grpc.rps",
        title: "get, gRPC, requests/s",
        value: rps(real.grpc),
        unit: "req/s",
        baseline: rps(grpcjsRuns.grpc),
        baselineName: grpcjsName,
        target: { on: "ratio", op: ">=", threshold: 1.0 },
      }),
      figure({
        name: "get.grpc.p50_ms",
        title: "get, gRPC, p50",
        value: p50(real.grpc),
        unit: "ms",
        baseline: p50(grpcjsRuns.grpc),
        baselineName: grpcjsName,
      }),
      figure({
        name: "get.grpc.p99_ms",
        title: "get, gRPC, p99",
        value: p99(real.grpc),
        unit: "ms",
        baseline: p99(grpcjsRuns.grpc),
        baselineName: grpcjsName,
      }),
      figure({
        name: "get.grpc.rps_vs_bare",
        title: "get, gRPC, requests/s against the bare ceiling",
        value: rps(real.grpc),
        unit: "req/s",
        baseline: rps(bareRuns.grpc),
        baselineName: bareH2,
      }),
      figure({
        name: "get.grpcjs.rps_vs_bare",
        title: "get, @grpc/grpc-js + SQLite against the bare ceiling",
        value: rps(grpcjsRuns.grpc),
        unit: "req/s",
        baseline: rps(bareRuns.grpc),
        baselineName: bareH2,
      }),
    );
    const cpu = (r: RunRecord | undefined) => r?.serverCpuUsPerRequest ?? null;
    figures.push(
      figure({
        name: "get.connect_json_h1.server_cpu_us",
        title: "get, Connect JSON HTTP/1.1, server CPU per request",
        value: cpu(real.json),
        unit: "µs",
        baseline: cpu(bareRuns.json),
        baselineName: sameBytes,
      }),
      figure({
        name: "get.grpc.server_cpu_us",
        title: "get, gRPC, server CPU per request",
        value: cpu(real.grpc),
        unit: "µs",
        baseline: cpu(grpcjsRuns.grpc),
        baselineName: grpcjsName,
      }),
    );

    const listNote =
      `${listRows} rows, total_count ${listTotal}` +
      (rawTotal !== undefined && rawTotal !== listTotal ? `; RAW SQL COUNT DIFFERS: ${rawTotal}` : "") +
      `; SQL replayed: ${statements.length} statements captured from JobService.list`;
    figures.push(
      figure({
        name: "list.p50_ms",
        title: `list 100 of ${n} with filters, sort and total_count, p50 through the server`,
        value: list.p50,
        unit: "ms",
        baseline: rawList.p50,
        baselineName: "raw SQL page + count, alongside",
        target: { on: "ratio", op: "<=", threshold: 2 },
        note: listNote,
      }),
      figure({
        name: "list.service_p50_ms",
        title: "list, JobService.list in-process (no wire), p50",
        value: serviceList,
        unit: "ms",
        baseline: rawListAlone.p50,
        baselineName: "raw SQL page + count, tight loop",
      }),
      figure({
        name: "list.page_only_sql_p50_ms",
        title: "list, raw SQL of the page alone (no count), p50",
        value: rawPage.p50,
        unit: "ms",
        baseline: rawListAlone.p50,
        baselineName: "raw SQL page + count, tight loop",
      }),
    );

    for (const s of stats) {
      const raw = rawStats.get(s.workload.name);
      const svc = serviceStats.get(s.workload.name);
      let note = `raw SQL: ${s.workload.sql}`;
      if (s.answerTotal !== null && raw && s.answerTotal !== raw.total)
        note += `; ANSWER DIFFERS: counts sum to ${s.answerTotal}, raw SQL ${raw.total}`;
      if (svc && "p50" in svc) note += `; JobService.stat in-process p50 ${fmt(svc.p50)} ms`;
      if (s.unavailable) note = `${s.unavailable.reason}; raw SQL p50 ${fmt(raw?.p50 ?? null)} ms`;
      figures.push(
        figure({
          name: `${s.workload.name}.p50_ms`,
          title: `${s.workload.title} over ${n} jobs, p50`,
          value: s.serverP50,
          unit: "ms",
          baseline: raw?.p50 ?? null,
          baselineName: s.rawP50 !== null ? "raw SQL, alongside" : "raw SQL",
          target: { on: "ratio", op: "<=", threshold: 1.5 },
          status: s.unavailable?.status,
          note,
        }),
      );
    }

    const durability = `journal ${rawWrites.journal}, synchronous ${rawWrites.synchronous} (openDatabase)`;
    figures.push(
      "run" in writes
        ? figure({
            name: "lifecycle.progress_writes_per_s",
            title: "lifecycle progress reports acknowledged per second",
            value: writes.run.result.rps,
            unit: "writes/s",
            baseline: rawWrites.perSecond,
            baselineName: "raw autocommit UPDATE in-process",
            target: { on: "value", op: ">=", threshold: 5000 },
            note: `${o.writers} writers (one job each, ${writes.tokenLabel}), Connect JSON HTTP/1.1; ${durability}`,
          })
        : figure({
            name: "lifecycle.progress_writes_per_s",
            title: "lifecycle progress reports acknowledged per second",
            value: null,
            unit: "writes/s",
            baseline: rawWrites.perSecond,
            baselineName: "raw autocommit UPDATE in-process",
            target: { on: "value", op: ">=", threshold: 5000 },
            status: writes.status,
            note: `${writes.reason}; ${durability}`,
          }),
    );

    const first = scaling[0];
    const last = scaling[scaling.length - 1];
    const sizesText = `${smallest.jobs.toLocaleString("en-US")} -> ${largest.jobs.toLocaleString("en-US")} jobs`;
    if (first && last) {
      figures.push(
        figure({
          name: "scaling.list_p50.largest_vs_smallest",
          title: `list p50 through the server, ${sizesText} (the service always counts)`,
          value: last.list,
          unit: "ms",
          baseline: first.list,
          baselineName: `same list at ${smallest.jobs.toLocaleString("en-US")} jobs`,
          target: { on: "ratio", op: "<=", threshold: 1.5 },
          note: `raw SQL page only: ${fmt(first.rawPage)} -> ${fmt(last.rawPage)} ms; page + count: ${fmt(first.rawList)} -> ${fmt(last.rawList)} ms`,
        }),
        figure({
          name: "scaling.list_page_sql_p50.largest_vs_smallest",
          title: `raw SQL of the list page alone (no count), ${sizesText}`,
          value: last.rawPage,
          unit: "ms",
          baseline: first.rawPage,
          baselineName: `same SQL at ${smallest.jobs.toLocaleString("en-US")} jobs`,
        }),
        figure({
          name: "scaling.stat_p50.largest_vs_smallest",
          title: `stat group-by-status p50 through the server, ${sizesText}`,
          value: last.stat,
          unit: "ms",
          baseline: first.stat,
          baselineName: `same stat at ${smallest.jobs.toLocaleString("en-US")} jobs`,
          status: last.stat === null ? (stats[0]?.unavailable?.status ?? "not measurable") : undefined,
          note: last.stat === null ? stats[0]?.unavailable?.reason : undefined,
        }),
      );
    }
    for (const s of scaling) {
      const size = s.db.jobs;
      figures.push(
        figure({
          name: `scaling.list_p50.n${size}`,
          title: `list p50 at ${size.toLocaleString("en-US")} jobs`,
          value: s.list,
          unit: "ms",
          baseline: s.rawList,
          baselineName: "raw SQL page + count, alongside",
        }),
        figure({
          name: `scaling.stat_p50.n${size}`,
          title: `stat group-by-status p50 at ${size.toLocaleString("en-US")} jobs`,
          value: s.stat,
          unit: "ms",
          status: s.stat === null ? (stats[0]?.unavailable?.status ?? "not measurable") : undefined,
        }),
      );
    }

    figures.push(
      figure({
        name: "server.peak_rss_mb",
        title: `server peak RSS (VmHWM) after the load at ${n} jobs`,
        value: serverMemory.peakMb,
        unit: "MB",
        baseline: grpcjsMemory.peakMb,
        baselineName: `${grpcjsName} peak RSS`,
        target: { on: "value", op: "<=", threshold: 150 },
        note: "the server runs under tsx (npm start), which adds its loader to the process",
      }),
      figure({
        name: "server.idle_rss_mb",
        title: "server RSS right after start, before any request",
        value: idleMemory.rssMb,
        unit: "MB",
      }),
      figure({
        name: "breakdown.get.sqlite_lookup_us",
        title: "get piece: scoped SQLite point lookup (prepared)",
        value: breakdown.sqliteLookupUs,
        unit: "µs",
      }),
      figure({
        name: "breakdown.get.service_us",
        title: "get piece: JobService.get (compile + lookup + view)",
        value: breakdown.serviceGetUs,
        unit: "µs",
        baseline: breakdown.sqliteLookupUs,
        baselineName: "SQLite lookup",
      }),
      figure({
        name: "breakdown.get.authenticate_us",
        title: "get piece: token verification (authenticate)",
        value: breakdown.authenticateUs,
        unit: "µs",
      }),
      figure({
        name: "breakdown.get.encode_binary_us",
        title: "get piece: view -> JobInfo -> protobuf binary",
        value: breakdown.encodeBinaryUs,
        unit: "µs",
      }),
      figure({
        name: "breakdown.get.encode_json_us",
        title: "get piece: view -> JobInfo -> JSON",
        value: breakdown.encodeJsonUs,
        unit: "µs",
      }),
    );
    figures.push(
      figure({
        name: "breakdown.list.encode_protobuf_json_us",
        title: `list piece: ${encoding.rows} views -> JobsInfo -> JSON with protobuf-es (as the handler does)`,
        value: encoding.protobufJsonUs,
        unit: "µs",
        baseline: encoding.plainJsonUs,
        baselineName: "JSON.stringify of the same views",
      }),
      figure({
        name: "breakdown.list.encode_protobuf_binary_us",
        title: `list piece: ${encoding.rows} views -> JobsInfo -> protobuf binary`,
        value: encoding.protobufBinaryUs,
        unit: "µs",
        baseline: encoding.plainJsonUs,
        baselineName: "JSON.stringify of the same views",
      }),
      figure({
        name: "breakdown.list.service_us",
        title: "list piece: JobService.list (parse, compile, SQL, views)",
        value: encoding.serviceUs,
        unit: "µs",
        baseline: rawListAlone.p50 * 1000,
        baselineName: "raw SQL page + count, tight loop",
      }),
    );
    if (real.json && bareRuns.json) {
      const perCall = 1e6 / real.json.result.rps - 1e6 / bareRuns.json.result.rps;
      figures.push(
        figure({
          name: "breakdown.get.connect_json_h1_extra_us",
          title: "get, Connect JSON HTTP/1.1: time per call above the bare server (1/rps difference)",
          value: perCall,
          unit: "µs",
          note: "compare with the in-process pieces: what they do not explain is the protocol layer",
        }),
      );
    }

    notes.push(
      `seeded with generateJobs(seed ${1}, now ${SEED_NOW.toISOString()}); requests as ${BENCH_PRINCIPAL.role} of ${BENCH_DOMAIN} (${largest.domainJobs.toLocaleString("en-US")} of ${n} jobs)`,
      `list request: ${JSON.stringify(LIST_REQUEST)}`,
      `latency figures of list/stat: sequential requests over one keep-alive connection, p50 of at least ${o.latency.minIterations} samples / ${o.latency.minMs} ms`,
      "the service runs with its housekeeping off (JOB_REAPER_INTERVAL_SECONDS=0, JOB_RETENTION_INTERVAL_SECONDS=0): the seeded jobs predate the real clock",
      `server RSS (MB) by phase: idle ${fmt(idleMemory.rssMb)}, ${Object.entries(memory)
        .map(([k, v]) => `${k.replaceAll("_", " ")} ${fmt(v)}`)
        .join(", ")}; peak ${fmt(serverMemory.peakMb)}`,
      `wall time ${((performance.now() - started) / 1000).toFixed(0)} s`,
    );
  } finally {
    await stopAll();
    if (o.dataDir === null) fs.rmSync(workDir, { recursive: true, force: true });
  }

  const results: Results = {
    version: 1,
    generated_at: new Date().toISOString(),
    mode: o.quick ? "quick" : "full",
    machine,
    settings: {
      sizes: o.sizes,
      duration_s: o.durationS,
      warmup_s: o.warmupS,
      connections: o.connections,
      h2_sessions: o.h2Sessions,
      writers: o.writers,
      rounds: o.rounds,
      latency_min_samples: o.latency.minIterations,
      latency_min_ms: o.latency.minMs,
    },
    figures: figures.map((f) => ({
      ...f,
      value: round(f.value, 3),
      baseline: round(f.baseline, 3),
      ratio: round(f.ratio, 3),
    })),
    runs: runs.map(runRecordToJson),
    notes,
  };
  log(`\n${formatTable(results.figures)}\n`);
  const written = writeResults(o.out, results);
  log(`wrote ${written.json} and ${written.md}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    await stopAll();
    const message =
      error instanceof Error ? (error instanceof CannotMeasure ? error.message : error.stack) : String(error);
    process.stderr.write(`\nbench: cannot measure: ${message}\n`);
    process.exit(1);
  },
);
