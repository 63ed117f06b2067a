/**
 * How `list` (with its count) and `stat` grow with the data: the same requests on every seeded size,
 * each through a service on that database (the shared one for the largest), the raw SQL alongside.
 */
import { openDatabase } from "../../src/storage/database.js";
import { CannotMeasure } from "../core/errors.js";
import { type Figure, figure, fmt } from "../core/figure.js";
import { listStatements, makeReplay, pageOnly, replayP50 } from "../core/inprocess.js";
import { serverLatency } from "../core/latency.js";
import type { Scenario } from "../core/scenario.js";
import type { SeededDb } from "../core/seed.js";
import { startRealServer } from "../core/service.js";
import { LIST_PATH, LIST_REQUEST, STAT_BY_STATUS } from "../core/workload.js";
import { measureStat, type StatOutcome } from "./stat.js";

interface Point {
  readonly db: SeededDb;
  readonly list: number;
  readonly rawList: number | null;
  readonly rawPage: number;
  readonly stat: StatOutcome;
}

export const scalingScenario: Scenario = {
  name: "scaling",
  title: "list and stat latency per data set size",
  async run(ctx) {
    const points: Point[] = [];
    for (const d of ctx.dbs) {
      const shared = d === ctx.largest;
      const server = shared
        ? await ctx.service()
        : await startRealServer({ dataDir: ctx.workDir, dbFile: d.file, pinning: ctx.pinning });
      if (!shared) ctx.track(server.child);
      const db = openDatabase({ file: d.file, readonly: true });
      try {
        const statements = listStatements(db, LIST_REQUEST);
        const l = await serverLatency(
          `${server.baseUrl}${LIST_PATH}`,
          ctx.token,
          LIST_REQUEST,
          ctx.o.latency,
          makeReplay(db, statements),
        );
        if (!l.ok) throw new CannotMeasure(`list on ${d.jobs} jobs answered HTTP ${l.status}`);
        const stat = await measureStat(ctx, server.baseUrl, STAT_BY_STATUS);
        const rawPage = await replayP50(db, pageOnly(statements), ctx.o.latency);
        points.push({ db: d, list: l.p50, rawList: l.baselineP50, rawPage: rawPage.p50, stat });
        ctx.log(
          `    ${d.jobs.toLocaleString("en-US").padStart(10)} jobs: list p50 ${fmt(l.p50)} ms (raw page+count ` +
            `${fmt(l.baselineP50)}, page only ${fmt(rawPage.p50)}), stat by status ${fmt(stat.serverP50)} ms`,
        );
      } finally {
        db.close();
        if (!shared) await server.child.stop();
      }
    }
    return scalingFigures(points);
  },
};

function scalingFigures(points: readonly Point[]): Figure[] {
  const first = points[0];
  const last = points[points.length - 1];
  if (!first || !last) return [];
  const at = (p: Point) => p.db.jobs.toLocaleString("en-US");
  const sizesText = `${at(first)} -> ${at(last)} jobs`;
  const statMissing = (p: Point) =>
    p.stat.serverP50 === null ? { status: p.stat.unavailable?.status, note: p.stat.unavailable?.reason } : {};
  const figures = [
    figure({
      name: "scaling.list_p50.largest_vs_smallest",
      title: `list p50 through the server, ${sizesText} (the service always counts)`,
      value: last.list,
      unit: "ms",
      baseline: first.list,
      baselineName: `same list at ${at(first)} jobs`,
      target: { on: "ratio", op: "<=", threshold: 1.3 },
      note: `raw SQL page only: ${fmt(first.rawPage)} -> ${fmt(last.rawPage)} ms; page + count: ${fmt(first.rawList)} -> ${fmt(last.rawList)} ms`,
    }),
    figure({
      name: "scaling.list_page_sql_p50.largest_vs_smallest",
      title: `raw SQL of the list page alone (no count), ${sizesText}`,
      value: last.rawPage,
      unit: "ms",
      baseline: first.rawPage,
      baselineName: `same SQL at ${at(first)} jobs`,
    }),
    figure({
      name: "scaling.stat_p50.largest_vs_smallest",
      title: `stat group-by-status p50 through the server, ${sizesText}`,
      value: last.stat.serverP50,
      unit: "ms",
      baseline: first.stat.serverP50,
      baselineName: `same stat at ${at(first)} jobs`,
      ...statMissing(last),
    }),
  ];
  for (const p of points) {
    figures.push(
      figure({
        name: `scaling.list_p50.n${p.db.jobs}`,
        title: `list p50 at ${at(p)} jobs`,
        value: p.list,
        unit: "ms",
        baseline: p.rawList,
        baselineName: "raw SQL page + count, alongside",
      }),
      figure({
        name: `scaling.stat_p50.n${p.db.jobs}`,
        title: `stat group-by-status p50 at ${at(p)} jobs`,
        value: p.stat.serverP50,
        unit: "ms",
        ...statMissing(p),
      }),
    );
  }
  return figures;
}
