/**
 * `stat` workloads (bench/core/workload.ts) through the server, each with its hand-written SQL run
 * alongside, and the service's `stat` in-process. An answer whose counts differ from the raw SQL's is
 * flagged in the figure's note.
 */
import { openDatabase } from "../../src/storage/database.js";
import type { BenchContext } from "../core/context.js";
import { type Figure, figure, fmt } from "../core/figure.js";
import { serviceStatP50, sqlP50 } from "../core/inprocess.js";
import { serverLatency } from "../core/latency.js";
import type { Scenario } from "../core/scenario.js";
import { STAT_PATH, STAT_WORKLOADS, type StatWorkload } from "../core/workload.js";

export function sumCounts(rows: unknown): number {
  if (!Array.isArray(rows)) return Number.NaN;
  return rows.reduce((sum: number, r) => sum + Number((r as { count?: unknown }).count ?? 0), 0);
}

export interface StatOutcome {
  readonly serverP50: number | null;
  /** Why it could not be measured. */
  readonly unavailable: { status: Figure["status"]; reason: string } | null;
  /** Sum of `count` in the answer, to compare with the raw SQL. */
  readonly answerTotal: number | null;
  /** p50 of the raw SQL sampled alongside (null when the service could not be measured). */
  readonly rawP50: number | null;
}

/** A stat through the server at `baseUrl`, with `raw` (if given) alongside. */
export async function measureStat(
  ctx: BenchContext,
  baseUrl: string,
  w: StatWorkload,
  raw?: () => unknown,
): Promise<StatOutcome> {
  const r = await serverLatency(`${baseUrl}${STAT_PATH}`, ctx.token, w.request, ctx.o.latency, raw);
  if (!r.ok) {
    const code = r.error.code ?? `HTTP ${r.status}`;
    return {
      serverP50: null,
      unavailable: {
        status: code === "unimplemented" ? "not measurable yet" : "not measurable",
        reason: `the service answers ${code}: ${(r.error.message ?? "").slice(0, 200)}`,
      },
      answerTotal: null,
      rawP50: null,
    };
  }
  return {
    serverP50: r.p50,
    unavailable: null,
    answerTotal: sumCounts((r.first as { results?: unknown } | null)?.results),
    rawP50: r.baselineP50,
  };
}

export const statScenario: Scenario = {
  name: "stat",
  title: "stat workloads through the server, against the hand-written SQL",
  async run(ctx) {
    const server = await ctx.service();
    const db = openDatabase({ file: ctx.largest.file, readonly: true });
    const figures: Figure[] = [];
    try {
      for (const w of STAT_WORKLOADS) {
        const rawStmt = db.prepare(w.sql);
        const s = await measureStat(ctx, server.baseUrl, w, () => rawStmt.all(...(w.params as unknown[])));
        const single = { ...ctx.o.latency, minIterations: 1, minMs: 0, maxIterations: 1, warmup: 0 };
        const raw = await sqlP50(db, w.sql, w.params, s.rawP50 === null ? ctx.o.latency : single);
        const rawP50 = s.rawP50 ?? raw.p50;
        const rawTotal = sumCounts(raw.rows);
        const svc = await serviceStatP50(db, w.request, ctx.o.latency);
        ctx.log(
          `    ${w.name}: ${
            s.serverP50 === null ? s.unavailable?.reason : `p50 ${fmt(s.serverP50)} ms`
          }, raw SQL ${fmt(rawP50)} ms (${raw.rows.length} groups)`,
        );
        let note = `raw SQL: ${w.sql}`;
        if (s.answerTotal !== null && s.answerTotal !== rawTotal)
          note += `; ANSWER DIFFERS: counts sum to ${s.answerTotal}, raw SQL ${rawTotal}`;
        if ("p50" in svc) note += `; JobService.stat in-process p50 ${fmt(svc.p50)} ms`;
        if (s.unavailable) note = `${s.unavailable.reason}; raw SQL p50 ${fmt(rawP50)} ms`;
        figures.push(
          figure({
            name: `${w.name}.p50_ms`,
            title: `${w.title} over ${ctx.sizeText} jobs, p50`,
            value: s.serverP50,
            unit: "ms",
            baseline: rawP50,
            baselineName: s.rawP50 !== null ? "raw SQL, alongside" : "raw SQL",
            target: { on: "ratio", op: "<=", threshold: 1.1 },
            status: s.unavailable?.status,
            note,
          }),
        );
      }
    } finally {
      db.close();
    }
    return figures;
  },
};
