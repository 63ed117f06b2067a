/**
 * The unary path (src/wire/unary/, the default) against connect's own router (WIRE_UNARY=connect): `get` over
 * Connect JSON HTTP/1.1 and over gRPC, one service of each on the largest set, interleaved in the same
 * rounds, each pinned to the server CPU in turn. Ratios are lean / connect-node.
 */
import { figure } from "../core/figure.js";
import { medianRun } from "../core/load.js";
import type { RunRecord } from "../core/report.js";
import type { Scenario } from "../core/scenario.js";
import { startRealServer } from "../core/service.js";
import { type GetTarget, loadGet } from "./get.js";

export const wireLeanScenario: Scenario = {
  name: "wire_lean",
  title: "get through the unary path (the default) against connect's router (WIRE_UNARY=connect)",
  async run(ctx) {
    // The shared service (the default path) stays up for later scenarios; the reference is ours to stop.
    const lean = await ctx.service();
    const reference = await startRealServer({
      dataDir: ctx.workDir,
      dbFile: ctx.largest.file,
      pinning: ctx.pinning,
      env: { WIRE_UNARY: "connect" },
    });
    ctx.track(reference.child);
    try {
      const connectTarget: GetTarget = {
        name: "service (connect-node)",
        pid: reference.child.pid,
        h1Url: reference.baseUrl,
        h2Origin: reference.baseUrl,
      };
      const leanTarget: GetTarget = {
        name: "service (lean unary)",
        pid: lean.child.pid,
        h1Url: lean.baseUrl,
        h2Origin: lean.baseUrl,
      };
      const runs = new Map<string, RunRecord[]>();
      for (let round = 1; round <= ctx.o.rounds; round++) {
        for (const protocol of ["json", "grpc"] as const) {
          for (const target of [connectTarget, leanTarget]) {
            const r = await loadGet(ctx, target, protocol, ctx.o.rounds > 1 ? round : null);
            const key = `${target.name}|${protocol}`;
            runs.set(key, [...(runs.get(key) ?? []), r]);
          }
        }
      }
      const pick = (t: GetTarget, p: string) => medianRun(runs.get(`${t.name}|${p}`) ?? []);
      const rps = (r: RunRecord | undefined) => r?.result.rps ?? null;
      const cpu = (r: RunRecord | undefined) => r?.serverCpuUsPerRequest ?? null;
      const base = "connect-node path, same run";
      return [
        figure({
          name: "wire_lean.get.connect_json_h1.rps",
          title: "get, Connect JSON HTTP/1.1, lean unary path, requests/s",
          value: rps(pick(leanTarget, "json")),
          unit: "req/s",
          baseline: rps(pick(connectTarget, "json")),
          baselineName: base,
        }),
        figure({
          name: "wire_lean.get.connect_json_h1.server_cpu_us",
          title: "get, Connect JSON HTTP/1.1, lean unary path, server CPU per request",
          value: cpu(pick(leanTarget, "json")),
          unit: "µs",
          baseline: cpu(pick(connectTarget, "json")),
          baselineName: base,
          target: { on: "value", op: "<=", threshold: 100 },
        }),
        figure({
          name: "wire_lean.get.grpc.rps",
          title: "get, gRPC, lean unary path, requests/s",
          value: rps(pick(leanTarget, "grpc")),
          unit: "req/s",
          baseline: rps(pick(connectTarget, "grpc")),
          baselineName: base,
        }),
        figure({
          name: "wire_lean.get.grpc.server_cpu_us",
          title: "get, gRPC, lean unary path, server CPU per request",
          value: cpu(pick(leanTarget, "grpc")),
          unit: "µs",
          baseline: cpu(pick(connectTarget, "grpc")),
          baselineName: base,
        }),
      ];
    } finally {
      await reference.child.stop();
    }
  },
};
