/**
 * The shared service's memory over the whole run (registered last, so every scenario before it has loaded
 * it): peak RSS (VmHWM) against the grpc-js baseline's, RSS right after start, and RSS after each scenario.
 */
import { figure, fmt } from "../core/figure.js";
import { memoryOf } from "../core/proc.js";
import type { Scenario } from "../core/scenario.js";

export const memoryScenario: Scenario = {
  name: "memory",
  title: "the service's RSS over the whole run",
  async run(ctx) {
    const server = await ctx.service();
    const now = memoryOf(server.child.pid);
    const phases = [...server.rssAfter]
      .map(([k, v]) => `after ${k} ${fmt(v.rssMb)} (peak ${fmt(v.peakMb)})`)
      .join(", ");
    ctx.log(`    peak RSS ${fmt(now.peakMb)} MB; RSS idle ${fmt(server.idleRssMb)}, ${phases} MB`);
    ctx.note(`server RSS (MB): idle ${fmt(server.idleRssMb)}, ${phases}; peak ${fmt(now.peakMb)}`);
    const grpcjs = ctx.figure("get.grpcjs.peak_rss_mb")?.value ?? null;
    return [
      figure({
        name: "server.peak_rss_mb",
        title: `server peak RSS (VmHWM) over the whole run at ${ctx.sizeText} jobs`,
        value: now.peakMb,
        unit: "MB",
        baseline: grpcjs,
        baselineName: "@grpc/grpc-js + SQLite peak RSS (get scenario)",
        target: { on: "value", op: "<=", threshold: 120 },
        note: "the service runs from its compiled build, as npm start runs it",
      }),
      figure({
        name: "server.idle_rss_mb",
        title: "server RSS right after start, before any request",
        value: server.idleRssMb,
        unit: "MB",
      }),
    ];
  },
};
