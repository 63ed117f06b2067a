/**
 * How `list` (with its count) and `stat` grow with the data: the same requests on every seeded size,
 * each through a service on that database (the shared one for the largest), the raw SQL alongside.
 *
 * Every size's service stays up for the whole scenario and the list is measured in `--rounds` rounds,
 * every size once per round, the order reversed each round, so the largest-over-smallest ratio is taken
 * from moments next to each other (the median of the rounds' ratios), not from two ends of the scenario
 * on a machine whose speed drifts.
 */
import { type Db, openDatabase } from "../../src/storage/database.js";
import { CannotMeasure } from "../core/errors.js";
import { type Figure, figure, fmt } from "../core/figure.js";
import { listStatements, makeReplay, pageOnly, replayP50 } from "../core/inprocess.js";
import { serverLatency } from "../core/latency.js";
import { median } from "../core/measure.js";
import type { Scenario } from "../core/scenario.js";
import type { SeededDb } from "../core/seed.js";
import { startRealServer } from "../core/service.js";
import { LIST_PATH, LIST_REQUEST, STAT_BY_STATUS } from "../core/workload.js";
import { measureStat, type StatOutcome } from "./stat.js";

interface Subject {
  readonly db: SeededDb;
  readonly baseUrl: string;
  readonly sql: Db;
  readonly replay: () => unknown;
  /** One p50 per round, the service's and the raw SQL's alongside. */
  readonly list: number[];
  readonly rawList: number[];
}

interface Point {
  readonly db: SeededDb;
  readonly list: number | null;
  readonly rawList: number | null;
  readonly rawPage: number;
  readonly stat: StatOutcome;
}

/** Largest over smallest, per round: the service's list and the raw SQL's. */
interface Rounds {
  readonly list: number[];
  readonly raw: number[];
}

export const scalingScenario: Scenario = {
  name: "scaling",
  title: "list and stat latency per data set size",
  async run(ctx) {
    const subjects: Subject[] = [];
    const stops: (() => Promise<void>)[] = [];
    try {
      for (const d of ctx.dbs) {
        const shared = d === ctx.largest;
        const server = shared
          ? await ctx.service()
          : await startRealServer({ dataDir: ctx.workDir, dbFile: d.file, pinning: ctx.pinning });
        if (!shared) {
          ctx.track(server.child);
          stops.push(() => server.child.stop());
        }
        const sql = openDatabase({ file: d.file, readonly: true });
        stops.push(async () => {
          sql.close();
        });
        const replay = makeReplay(sql, listStatements(sql, LIST_REQUEST));
        subjects.push({ db: d, baseUrl: server.baseUrl, sql, replay, list: [], rawList: [] });
      }
      const rounds: Rounds = { list: [], raw: [] };
      for (let r = 0; r < ctx.o.rounds; r++) {
        const order = r % 2 === 0 ? subjects : [...subjects].reverse();
        for (const s of order) {
          const l = await serverLatency(
            `${s.baseUrl}${LIST_PATH}`,
            ctx.token,
            LIST_REQUEST,
            ctx.o.latency,
            s.replay,
          );
          if (!l.ok) throw new CannotMeasure(`list on ${s.db.jobs} jobs answered HTTP ${l.status}`);
          s.list.push(l.p50);
          s.rawList.push(l.baselineP50 ?? Number.NaN);
        }
        const small = subjects[0];
        const large = subjects[subjects.length - 1];
        if (small && large) {
          rounds.list.push((large.list[r] as number) / (small.list[r] as number));
          rounds.raw.push((large.rawList[r] as number) / (small.rawList[r] as number));
        }
        ctx.log(
          `    round ${r + 1}: list p50 ${subjects.map((s) => `${s.db.jobs.toLocaleString("en-US")} ${fmt(s.list[r] ?? null)} ms`).join(", ")}`,
        );
      }
      const points: Point[] = [];
      for (const s of subjects) {
        const stat = await measureStat(ctx, s.baseUrl, STAT_BY_STATUS);
        const rawPage = await replayP50(s.sql, pageOnly(listStatements(s.sql, LIST_REQUEST)), ctx.o.latency);
        const point = {
          db: s.db,
          list: median(s.list),
          rawList: median(s.rawList),
          rawPage: rawPage.p50,
          stat,
        };
        points.push(point);
        ctx.log(
          `    ${s.db.jobs.toLocaleString("en-US").padStart(10)} jobs: list p50 ${fmt(point.list)} ms (raw page+count ` +
            `${fmt(point.rawList)}, page only ${fmt(rawPage.p50)}), stat by status ${fmt(stat.serverP50)} ms`,
        );
      }
      return scalingFigures(points, rounds);
    } finally {
      for (const stop of stops.reverse()) await stop();
    }
  },
};

function scalingFigures(points: readonly Point[], rounds: Rounds): Figure[] {
  const first = points[0];
  const last = points[points.length - 1];
  if (!first || !last) return [];
  const at = (p: Point) => p.db.jobs.toLocaleString("en-US");
  const sizesText = `${at(first)} -> ${at(last)} jobs`;
  const statMissing = (p: Point) =>
    p.stat.serverP50 === null ? { status: p.stat.unavailable?.status, note: p.stat.unavailable?.reason } : {};
  const ratios = (xs: readonly number[]) => xs.map((x) => x.toFixed(3)).join(", ");
  const figures = [
    figure({
      name: "scaling.list_p50.largest_vs_smallest",
      title: `list p50 through the server, ${sizesText} (the service always counts)`,
      value: last.list,
      unit: "ms",
      baseline: first.list,
      baselineName: `same list at ${at(first)} jobs`,
      pairedRatio: median(rounds.list),
      target: { on: "ratio", op: "<=", threshold: 1.3 },
      note:
        `${rounds.list.length} rounds, every size once per round, the order reversed each round; ratio: the ` +
        `median of the rounds' ratios (${ratios(rounds.list)}); raw SQL page only: ${fmt(first.rawPage)} -> ` +
        `${fmt(last.rawPage)} ms; page + count: ${fmt(first.rawList)} -> ${fmt(last.rawList)} ms`,
    }),
    figure({
      name: "scaling.list_raw_sql_p50.largest_vs_smallest",
      title: `raw SQL of the list, page and count (what the service runs), ${sizesText}`,
      value: last.rawList,
      unit: "ms",
      baseline: first.rawList,
      baselineName: `same SQL at ${at(first)} jobs`,
      pairedRatio: median(rounds.raw),
      note: `alongside the service's list in each round; the rounds' ratios: ${ratios(rounds.raw)}`,
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
