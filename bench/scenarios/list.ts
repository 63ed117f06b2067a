/**
 * `list` of 100 with filters, sort and `total_count` over the largest set: through the server (the raw SQL
 * alongside), and in-process (the service without the wire, the raw SQL in a tight loop, the page alone).
 * The raw SQL is the exact statements the service runs, captured from `JobService.list`. Beside it, the
 * floor any server of this runtime has: a bare `node:http` server running the same SQL in a worker and
 * answering the service's bytes (bench/servers/bare-list.ts), against the same raw SQL alongside.
 */
import { openDatabase } from "../../src/storage/database.js";
import { h1Post } from "../../test/support/http-client.js";
import { startBareList } from "../core/bare-list.js";
import { CannotMeasure } from "../core/errors.js";
import { figure, fmt } from "../core/figure.js";
import { listStatements, makeReplay, pageOnly, replayP50, serviceListP50 } from "../core/inprocess.js";
import { serverLatency } from "../core/latency.js";
import type { Scenario } from "../core/scenario.js";
import { LIST_PATH, LIST_REQUEST } from "../core/workload.js";

function headersOf(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}`, "content-type": "application/json" };
}

export const listScenario: Scenario = {
  name: "list",
  title: "list 100 with total_count: through the server and in-process, against the raw SQL",
  async run(ctx) {
    const server = await ctx.service();
    const db = openDatabase({ file: ctx.largest.file, readonly: true });
    try {
      const statements = listStatements(db, LIST_REQUEST);
      const list = await serverLatency(
        `${server.baseUrl}${LIST_PATH}`,
        ctx.token,
        LIST_REQUEST,
        ctx.o.latency,
        makeReplay(db, statements),
      );
      if (!list.ok)
        throw new CannotMeasure(`list answered HTTP ${list.status}: ${JSON.stringify(list.error)}`);
      const answer = list.first as { total_count?: unknown; results?: unknown[] };
      const listTotal = Number(answer.total_count ?? Number.NaN);
      const listRows = (answer.results ?? []).length;
      const served = await h1Post(
        `${server.baseUrl}${LIST_PATH}`,
        headersOf(ctx.token),
        JSON.stringify(LIST_REQUEST),
      );
      const bare = await startBareList({
        dbFile: ctx.largest.file,
        statements,
        sql: "worker",
        answer: {
          body: served.body,
          contentType: String(served.headers["content-type"] ?? "application/json"),
        },
        pinning: ctx.pinning,
        track: ctx.track,
      });
      const floor = await serverLatency(
        `${bare.baseUrl}${LIST_PATH}`,
        ctx.token,
        LIST_REQUEST,
        // A fresh process: warmed well past its JIT, as a floor should be (the service served before it).
        { ...ctx.o.latency, warmup: 50 },
        makeReplay(db, statements),
      ).finally(() => bare.child.stop());
      if (!floor.ok) throw new CannotMeasure(`the bare list server answered HTTP ${floor.status}`);
      const rawAlone = await replayP50(db, statements, ctx.o.latency);
      const rawPage = await replayP50(db, pageOnly(statements), ctx.o.latency);
      const serviceList = await serviceListP50(db, LIST_REQUEST, ctx.o.latency);
      const rawTotal = statements
        .filter((s) => s.method === "get")
        .map(
          (s) =>
            Object.values(
              (db.prepare(s.sql).get(...(s.params as unknown[])) ?? {}) as Record<string, unknown>,
            )[0],
        )
        .find((v) => typeof v === "number") as number | undefined;
      ctx.log(
        `    list: p50 ${fmt(list.p50)} ms, raw SQL page + count alongside ${fmt(list.baselineP50)} ms ` +
          `(${listRows} rows of total_count ${listTotal}); in a tight loop: raw ${fmt(rawAlone.p50)} ms, ` +
          `page only ${fmt(rawPage.p50)} ms, service in-process ${fmt(serviceList)} ms; floor (bare server, SQL in a ` +
          `worker) ${fmt(floor.p50)} ms vs raw ${fmt(floor.baselineP50)} ms`,
      );
      ctx.note(
        `list request: ${JSON.stringify(LIST_REQUEST)}; SQL: ${statements.map((s) => s.sql).join("  ;  ")}`,
      );
      const note =
        `${listRows} rows, total_count ${listTotal}` +
        (rawTotal !== undefined && rawTotal !== listTotal ? `; RAW SQL COUNT DIFFERS: ${rawTotal}` : "") +
        `; SQL replayed: ${statements.length} statements captured from JobService.list`;
      return [
        figure({
          name: "list.p50_ms",
          title: `list 100 of ${ctx.sizeText} with filters, sort and total_count, p50 through the server`,
          value: list.p50,
          unit: "ms",
          baseline: list.baselineP50,
          baselineName: "raw SQL page + count, alongside",
          target: { on: "ratio", op: "<=", threshold: 1.3 },
          note,
        }),
        figure({
          name: "list.floor_p50_ms",
          title: "list, the floor: bare node:http, the same SQL in a worker, the service's answer bytes, p50",
          value: floor.p50,
          unit: "ms",
          baseline: floor.baselineP50,
          baselineName: "raw SQL page + count, alongside",
          note: "what the list.p50_ms target is up against: the HTTP round trip of the answer and the worker hop",
        }),
        figure({
          name: "list.service_p50_ms",
          title: "list, JobService.list in-process (no wire), p50",
          value: serviceList,
          unit: "ms",
          baseline: rawAlone.p50,
          baselineName: "raw SQL page + count, tight loop",
        }),
        figure({
          name: "list.page_only_sql_p50_ms",
          title: "list, raw SQL of the page alone (no count), p50",
          value: rawPage.p50,
          unit: "ms",
          baseline: rawAlone.p50,
          baselineName: "raw SQL page + count, tight loop",
        }),
      ];
    } finally {
      db.close();
    }
  },
};
