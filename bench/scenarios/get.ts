/**
 * `get` throughput over Connect JSON (HTTP/1.1), Connect binary (h2c) and gRPC, against the bare
 * `node:http`/`node:http2` ceiling answering the same bytes, the floor (`node:http` with the token in a
 * Map, the service's SQLite lookup and `JSON.stringify`: bench/servers/floor-get.ts) and
 * `@grpc/grpc-js` + SQLite, interleaved (each baseline right after the run it is compared with, so drift
 * on a shared machine hits both), the median of `--rounds`. The floor and grpc-js are fresh processes
 * every round, so the median is also over their processes (one process's cost can sit ~20 % off
 * another's for its whole life); the service is the run's shared process.
 */
import fs from "node:fs";
import path from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { JobRequestSchema } from "../../gen/spaceone/api/identity/v2/job_pb.js";
import { grpcFrame, grpcStatusOf, h1Post, http2Request } from "../../test/support/http-client.js";
import type { BenchContext } from "../core/context.js";
import { CannotMeasure } from "../core/errors.js";
import { type Figure, figure } from "../core/figure.js";
import { LOAD_H1, LOAD_H2, medianRun } from "../core/load.js";
import { median } from "../core/measure.js";
import { freePort, memoryOf, REPO_ROOT, startNode, waitHttpOk, waitTcp } from "../core/proc.js";
import type { RunRecord } from "../core/report.js";
import type { Scenario } from "../core/scenario.js";
import { BENCH_DOMAIN, GET_PATH } from "../core/workload.js";
import type { H1LoadSpec } from "../load/h1.js";
import type { H2LoadSpec } from "../load/h2.js";
import type { BareSpec } from "../servers/bare.js";
import type { FloorGetSpec } from "../servers/floor-get.js";

type Protocol = "json" | "proto" | "grpc";

const PROTOCOL_LABEL: Record<Protocol, string> = {
  json: "Connect JSON, HTTP/1.1",
  proto: "Connect binary, h2c",
  grpc: "gRPC",
};

export interface GetTarget {
  /** "service", "bare node:http", "floor node:http + SQLite", "@grpc/grpc-js + SQLite" */
  readonly name: string;
  readonly pid: number;
  readonly h1Url: string;
  readonly h2Origin: string;
  /** Stops a baseline server (the shared service is not stopped here). */
  readonly stop?: () => Promise<void>;
}

type Captured = Record<Protocol, { contentType: string; body: Buffer }>;

/** The binary `get` request (Connect proto body; gRPC's message in an envelope, `grpcFrame`). */
export function getRequest(jobId: string): Uint8Array {
  return toBinary(JobRequestSchema, create(JobRequestSchema, { jobId }));
}

/** One `get` per protocol: checks the answers and keeps their bytes for the bare server. */
async function captureGet(baseUrl: string, token: string, jobId: string): Promise<Captured> {
  const auth = { authorization: `Bearer ${token}` };
  const json = await h1Post(
    `${baseUrl}${GET_PATH}`,
    { ...auth, "content-type": "application/json" },
    JSON.stringify({ job_id: jobId }),
  );
  const jsonText = json.body.toString("utf8");
  if (json.status !== 200 || (JSON.parse(jsonText) as { job_id?: string }).job_id !== jobId) {
    throw new CannotMeasure(`get over Connect JSON answered HTTP ${json.status}: ${jsonText.slice(0, 300)}`);
  }
  const request = getRequest(jobId);
  const proto = await http2Request(baseUrl, {
    path: GET_PATH,
    headers: { ...auth, "content-type": "application/proto" },
    body: request,
  });
  if (proto.status !== 200 || !proto.body.includes(Buffer.from(jobId))) {
    throw new CannotMeasure(
      `get over Connect binary h2c answered HTTP ${proto.status}: ${proto.body.toString("utf8").slice(0, 300)}`,
    );
  }
  const grpc = await http2Request(baseUrl, {
    path: GET_PATH,
    headers: { ...auth, "content-type": "application/grpc", te: "trailers" },
    body: grpcFrame(request),
  });
  const gs = grpcStatusOf(grpc);
  if (grpc.status !== 200 || gs.status !== "0" || !grpc.body.includes(Buffer.from(jobId))) {
    throw new CannotMeasure(
      `get over gRPC answered HTTP ${grpc.status} grpc-status ${gs.status}: ${gs.message}`,
    );
  }
  return {
    json: { contentType: String(json.headers["content-type"] ?? "application/json"), body: json.body },
    proto: { contentType: proto.headers["content-type"] ?? "application/proto", body: proto.body },
    grpc: { contentType: grpc.headers["content-type"] ?? "application/grpc", body: grpc.body },
  };
}

/** One load run of `get` against one server over one protocol. */
export function loadGet(
  ctx: BenchContext,
  target: GetTarget,
  protocol: Protocol,
  round: number | null,
): Promise<RunRecord> {
  const { o } = ctx;
  const auth = { authorization: `Bearer ${ctx.token}` };
  const label = `${target.name} / ${PROTOCOL_LABEL[protocol]}${round === null ? "" : ` (round ${round})`}`;
  if (protocol === "json") {
    const h1: H1LoadSpec = {
      url: `${target.h1Url}${GET_PATH}`,
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ job_id: ctx.jobId }),
      connections: o.connections,
      durationS: o.durationS,
      warmupS: o.warmupS,
    };
    return ctx.load(LOAD_H1, h1, label, target.pid);
  }
  const grpc = protocol === "grpc";
  const request = getRequest(ctx.jobId);
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
  return ctx.load(LOAD_H2, h2, label, target.pid);
}

async function startBare(ctx: BenchContext, captured: Captured): Promise<GetTarget> {
  const h1Port = await freePort();
  const h2Port = await freePort();
  const specFile = path.join(ctx.workDir, "bare-spec.json");
  const bytes = (c: { contentType: string; body: Buffer }) => ({
    contentType: c.contentType,
    bodyBase64: c.body.toString("base64"),
  });
  const spec: BareSpec = {
    h1Port,
    h2Port,
    json: bytes(captured.json),
    proto: bytes(captured.proto),
    grpc: bytes(captured.grpc),
  };
  fs.writeFileSync(specFile, JSON.stringify(spec));
  const bare = ctx.track(
    startNode("bench/servers/bare.ts", [specFile], { cpu: ctx.pinning.serverCpu, name: "bare server" }),
  );
  try {
    await waitHttpOk(`http://127.0.0.1:${h1Port}/healthz`, bare, 30_000);
    await waitTcp(h2Port, bare, 30_000);
  } catch (error) {
    throw new CannotMeasure(`the bare server did not start: ${(error as Error).message}`);
  }
  return {
    name: "bare node:http",
    pid: bare.pid,
    h1Url: `http://127.0.0.1:${h1Port}`,
    h2Origin: `http://127.0.0.1:${h2Port}`,
    stop: () => bare.stop(),
  };
}

/** The floor server (bench/servers/floor-get.ts) on the service's database, checked once. */
export async function startFloor(ctx: BenchContext): Promise<GetTarget> {
  const port = await freePort();
  const authorization = `Bearer ${ctx.token}`;
  const spec: FloorGetSpec = { port, dbFile: ctx.largest.file, authorization, domainId: BENCH_DOMAIN };
  const child = ctx.track(
    startNode("bench/servers/floor-get.ts", [JSON.stringify(spec)], {
      cpu: ctx.pinning.serverCpu,
      name: "floor server",
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitHttpOk(`${url}/healthz`, child, 30_000);
    const check = await h1Post(
      `${url}${GET_PATH}`,
      { authorization, "content-type": "application/json" },
      JSON.stringify({ job_id: ctx.jobId }),
    );
    const text = check.body.toString("utf8");
    if (check.status !== 200 || (JSON.parse(text) as { job_id?: string }).job_id !== ctx.jobId) {
      throw new Error(`get answered HTTP ${check.status}: ${text.slice(0, 300)}`);
    }
  } catch (error) {
    throw new CannotMeasure(`the floor server does not work: ${(error as Error).message}`);
  }
  return {
    name: "floor node:http + SQLite",
    pid: child.pid,
    h1Url: url,
    h2Origin: "",
    stop: () => child.stop(),
  };
}

export async function startGrpcJs(ctx: BenchContext): Promise<GetTarget> {
  const port = await freePort();
  const child = ctx.track(
    startNode(
      "bench/servers/grpcjs.ts",
      [
        JSON.stringify({
          port,
          databaseFile: ctx.largest.file,
          secretFile: ctx.config.jwt.secretFile,
          repoRoot: REPO_ROOT,
        }),
      ],
      { cpu: ctx.pinning.serverCpu, name: "grpc-js server" },
    ),
  );
  try {
    await waitTcp(port, child, 60_000);
    const check = await http2Request(`http://127.0.0.1:${port}`, {
      path: GET_PATH,
      headers: { authorization: `Bearer ${ctx.token}`, "content-type": "application/grpc", te: "trailers" },
      body: grpcFrame(getRequest(ctx.jobId)),
    });
    const gs = grpcStatusOf(check);
    if (gs.status !== "0" || !check.body.includes(Buffer.from(ctx.jobId))) {
      throw new Error(`get answered grpc-status ${gs.status}: ${gs.message}`);
    }
  } catch (error) {
    throw new CannotMeasure(`the grpc-js server does not work: ${(error as Error).message}`);
  }
  return {
    name: "@grpc/grpc-js + SQLite",
    pid: child.pid,
    h1Url: "",
    h2Origin: `http://127.0.0.1:${port}`,
    stop: () => child.stop(),
  };
}

/** A paired figure's measurements: the service's and the baseline's run of each round, and their ratio. */
interface Paired {
  readonly service: number[];
  readonly baseline: number[];
  readonly ratios: number[];
}

/**
 * Each round's pair: `measure` of the service's run and of its baseline's, which the plan puts back to
 * back (who goes first alternating round by round); a pair's ratio is service / baseline.
 */
function paired(
  service: readonly RunRecord[],
  baseline: readonly RunRecord[],
  measure: (r: RunRecord) => number | null,
): Paired {
  const out: Paired = { service: [], baseline: [], ratios: [] };
  for (let i = 0; i < Math.min(service.length, baseline.length); i++) {
    const s = measure(service[i] as RunRecord);
    const b = measure(baseline[i] as RunRecord);
    if (s === null || b === null || b === 0) continue;
    out.service.push(s);
    out.baseline.push(b);
    out.ratios.push(s / b);
  }
  return out;
}

export const getScenario: Scenario = {
  name: "get",
  title: "the service, bare node:http, the floor and @grpc/grpc-js, interleaved",
  async run(ctx) {
    const server = await ctx.service();
    const captured = await captureGet(server.baseUrl, ctx.token, ctx.jobId);
    const bare = await startBare(ctx, captured);
    const service: GetTarget = {
      name: "service",
      pid: server.child.pid,
      h1Url: server.baseUrl,
      h2Origin: server.baseUrl,
    };
    // The two ratio targets' pairs back to back (the service and the floor over JSON, the service and
    // grpc-js over gRPC), who goes first alternating round by round (ABBA): this machine's speed moves
    // by a third within minutes, and runs a minute apart compare that as much as the servers.
    const plan = (round: number, floor: GetTarget, grpcjs: GetTarget): [GetTarget, Protocol][] => {
      const pair = (a: GetTarget, b: GetTarget) => (round % 2 === 1 ? [a, b] : [b, a]);
      const [json1, json2] = pair(service, floor) as [GetTarget, GetTarget];
      const [grpc1, grpc2] = pair(service, grpcjs) as [GetTarget, GetTarget];
      return [
        [json1, "json"],
        [json2, "json"],
        [bare, "json"],
        [service, "proto"],
        [bare, "proto"],
        [grpc1, "grpc"],
        [grpc2, "grpc"],
        [bare, "grpc"],
      ];
    };
    const byKey = new Map<string, RunRecord[]>();
    let grpcjsPeakMb: number | null = null;
    let baselines: { floor: GetTarget; grpcjs: GetTarget } | undefined;
    for (let round = 1; round <= ctx.o.rounds; round++) {
      // Fresh baseline processes every round: one process of the same code on the same machine can cost
      // ~20 % more per call than another for its whole life (four floor processes measured in turn: 45-56
      // µs, docs/benchmarks.md stop 26), so one process per run compared its luck as much as the servers.
      // The service stays the run's one shared process (the memory figure reads its peak over every load).
      const floor = await startFloor(ctx);
      const grpcjs = await startGrpcJs(ctx);
      baselines = { floor, grpcjs };
      try {
        for (const [target, protocol] of plan(round, floor, grpcjs)) {
          const r = await loadGet(ctx, target, protocol, ctx.o.rounds > 1 ? round : null);
          const key = `${target.name}|${protocol}`;
          byKey.set(key, [...(byKey.get(key) ?? []), r]);
        }
        const peak = memoryOf(grpcjs.pid).peakMb;
        if (peak !== null) grpcjsPeakMb = Math.max(grpcjsPeakMb ?? 0, peak);
      } finally {
        await Promise.all([floor.stop?.(), grpcjs.stop?.()]);
      }
    }
    await bare.stop?.();
    if (baselines === undefined) throw new CannotMeasure("the get scenario ran no round");
    const { floor, grpcjs } = baselines;
    const pick = (target: GetTarget, protocol: Protocol) =>
      medianRun(byKey.get(`${target.name}|${protocol}`) ?? []);
    const real = { json: pick(service, "json"), proto: pick(service, "proto"), grpc: pick(service, "grpc") };
    const bareRuns = { json: pick(bare, "json"), proto: pick(bare, "proto"), grpc: pick(bare, "grpc") };
    const floorRun = pick(floor, "json");
    const grpcjsRun = pick(grpcjs, "grpc");
    const runs = (target: GetTarget, protocol: Protocol) => byKey.get(`${target.name}|${protocol}`) ?? [];
    const pairedCpu = paired(runs(service, "json"), runs(floor, "json"), (r) => r.serverCpuUsPerRequest);
    const pairedGrpc = paired(runs(service, "grpc"), runs(grpcjs, "grpc"), (r) => r.result.rps);
    return [
      ...getFigures(ctx, real, bareRuns, floorRun, grpcjsRun, grpcjsPeakMb),
      ...pairedFigures(ctx, pairedCpu, pairedGrpc),
    ];
  },
};

/** The get scenario's two ratio targets, from each round's pair. */
function pairedFigures(ctx: BenchContext, cpu: Paired, grpc: Paired): Figure[] {
  const how = (p: Paired) =>
    `${p.ratios.length} rounds' pairs of runs back to back, who goes first alternating; ratio: the ` +
    `median of the pairs' ratios (${p.ratios.map((r) => r.toFixed(3)).join(", ")}); value and baseline: ` +
    `the medians of each side`;
  return [
    figure({
      name: "get.connect_json_h1.server_cpu_us_vs_floor.paired",
      title: "get, Connect JSON HTTP/1.1, server CPU per request against the floor, round by round",
      value: median(cpu.service),
      unit: "µs",
      baseline: median(cpu.baseline),
      baselineName: "floor: node:http, token Map, SQLite, JSON",
      pairedRatio: median(cpu.ratios),
      target: { on: "ratio", op: "<=", threshold: 1.4 },
      note: how(cpu),
    }),
    figure({
      name: "get.grpc.rps.paired",
      title: `get, gRPC, requests/s against @grpc/grpc-js + SQLite, round by round (${ctx.o.connections} streams)`,
      value: median(grpc.service),
      unit: "req/s",
      baseline: median(grpc.baseline),
      baselineName: "@grpc/grpc-js + SQLite",
      pairedRatio: median(grpc.ratios),
      target: { on: "ratio", op: ">=", threshold: 1.5 },
      note: how(grpc),
    }),
  ];
}

function getFigures(
  ctx: BenchContext,
  real: Record<Protocol, RunRecord | undefined>,
  bare: Record<Protocol, RunRecord | undefined>,
  floor: RunRecord | undefined,
  grpcjs: RunRecord | undefined,
  grpcjsPeakMb: number | null,
): Figure[] {
  const rps = (r: RunRecord | undefined) => r?.result.rps ?? null;
  const p50 = (r: RunRecord | undefined) => r?.result.p50Ms ?? null;
  const p99 = (r: RunRecord | undefined) => r?.result.p99Ms ?? null;
  const cpu = (r: RunRecord | undefined) => r?.serverCpuUsPerRequest ?? null;
  const sameBytes = "bare node:http, same bytes";
  const bareH2 = "bare node:http2, same bytes";
  const grpcjsName = "@grpc/grpc-js + SQLite";
  const floorName = "floor: node:http, token Map, SQLite, JSON";
  const latency = (
    name: string,
    title: string,
    r: RunRecord | undefined,
    b: RunRecord | undefined,
    bn: string,
  ) => [
    figure({
      name: `${name}.p50_ms`,
      title: `${title}, p50`,
      value: p50(r),
      unit: "ms",
      baseline: p50(b),
      baselineName: bn,
    }),
    figure({
      name: `${name}.p99_ms`,
      title: `${title}, p99`,
      value: p99(r),
      unit: "ms",
      baseline: p99(b),
      baselineName: bn,
    }),
  ];
  const figures = [
    figure({
      name: "get.connect_json_h1.rps",
      title: "get, Connect JSON over HTTP/1.1, requests/s",
      value: rps(real.json),
      unit: "req/s",
      baseline: rps(bare.json),
      baselineName: sameBytes,
      target: { on: "ratio", op: ">=", threshold: 0.25 },
      note: `autocannon, ${ctx.o.connections} connections; the baseline may be limited by autocannon itself on one core`,
    }),
    ...latency("get.connect_json_h1", "get, Connect JSON HTTP/1.1", real.json, bare.json, sameBytes),
    figure({
      name: "get.connect_json_h1.server_cpu_us",
      title: "get, Connect JSON HTTP/1.1, server CPU per request",
      value: cpu(real.json),
      unit: "µs",
      baseline: cpu(bare.json),
      baselineName: sameBytes,
      target: { on: "value", op: "<=", threshold: 100 },
    }),
    figure({
      name: "get.floor.rps",
      title: "get floor (node:http, token Map, the service's SQLite lookup, JSON), requests/s",
      value: rps(floor),
      unit: "req/s",
      baseline: rps(bare.json),
      baselineName: sameBytes,
      note: "bench/servers/floor-get.ts: what no code of ours costs; the ratio is the floor's share of bare",
    }),
    figure({
      name: "get.floor.server_cpu_us",
      title: "get floor, server CPU per request",
      value: cpu(floor),
      unit: "µs",
      baseline: cpu(bare.json),
      baselineName: sameBytes,
    }),
    figure({
      name: "get.connect_json_h1.rps_vs_floor",
      title: "get, Connect JSON over HTTP/1.1, requests/s against the floor",
      value: rps(real.json),
      unit: "req/s",
      baseline: rps(floor),
      baselineName: floorName,
    }),
    figure({
      name: "get.connect_json_h1.server_cpu_us_vs_floor",
      title: "get, Connect JSON HTTP/1.1, server CPU per request against the floor",
      value: cpu(real.json),
      unit: "µs",
      baseline: cpu(floor),
      baselineName: floorName,
      note: "the median rounds; the target is held by the paired figure (…server_cpu_us_vs_floor.paired)",
    }),
    figure({
      name: "get.connect_proto_h2c.rps",
      title: "get, Connect binary over h2c, requests/s",
      value: rps(real.proto),
      unit: "req/s",
      baseline: rps(bare.proto),
      baselineName: bareH2,
    }),
    ...latency("get.connect_proto_h2c", "get, Connect binary h2c", real.proto, bare.proto, bareH2),
    figure({
      name: "get.grpc.rps",
      title: "get, gRPC, requests/s",
      value: rps(real.grpc),
      unit: "req/s",
      baseline: rps(grpcjs),
      baselineName: grpcjsName,
      note: "the median rounds; the target is held by the paired figure (get.grpc.rps.paired)",
    }),
    ...latency("get.grpc", "get, gRPC", real.grpc, grpcjs, grpcjsName),
    figure({
      name: "get.grpc.server_cpu_us",
      title: "get, gRPC, server CPU per request",
      value: cpu(real.grpc),
      unit: "µs",
      baseline: cpu(grpcjs),
      baselineName: grpcjsName,
    }),
    figure({
      name: "get.grpc.rps_vs_bare",
      title: "get, gRPC, requests/s against the bare ceiling",
      value: rps(real.grpc),
      unit: "req/s",
      baseline: rps(bare.grpc),
      baselineName: bareH2,
    }),
    figure({
      name: "get.grpcjs.rps_vs_bare",
      title: "get, @grpc/grpc-js + SQLite against the bare ceiling",
      value: rps(grpcjs),
      unit: "req/s",
      baseline: rps(bare.grpc),
      baselineName: bareH2,
    }),
    figure({
      name: "get.grpcjs.peak_rss_mb",
      title:
        "peak RSS (VmHWM) of the @grpc/grpc-js + SQLite baseline after its load (the highest of the rounds' processes)",
      value: grpcjsPeakMb,
      unit: "MB",
    }),
  ];
  if (real.json && bare.json) {
    figures.push(
      figure({
        name: "breakdown.get.connect_json_h1_extra_us",
        title: "get, Connect JSON HTTP/1.1: time per call above the bare server (1/rps difference)",
        value: 1e6 / real.json.result.rps - 1e6 / bare.json.result.rps,
        unit: "µs",
        note: "compare with the in-process pieces: what they do not explain is the protocol layer",
      }),
    );
  }
  return figures;
}
