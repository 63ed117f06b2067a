/**
 * In-process cost of the pieces of a call (no wire), on the largest set: the SQLite lookup, `JobService.get`,
 * token verification, encoding a `JobInfo`; and encoding a page of 100 with protobuf-es against
 * `JSON.stringify` of the same views.
 */
import { createTokenVerifier } from "../../src/auth/token.js";
import { openDatabase } from "../../src/storage/database.js";
import { figure, fmt } from "../core/figure.js";
import { getBreakdown, listEncoding } from "../core/inprocess.js";
import type { Scenario } from "../core/scenario.js";
import { LIST_REQUEST } from "../core/workload.js";

export const breakdownScenario: Scenario = {
  name: "breakdown",
  title: "in-process cost of the pieces of get and list",
  async run(ctx) {
    const db = openDatabase({ file: ctx.largest.file, readonly: true });
    try {
      const verifier = await createTokenVerifier(ctx.config);
      const b = await getBreakdown(db, ctx.jobId, verifier, ctx.token, ctx.o.microMs);
      ctx.log(
        `    get pieces (µs/call): SQLite lookup ${fmt(b.sqliteLookupUs)}, JobService.get ${fmt(b.serviceGetUs)}, ` +
          `token check ${fmt(b.authenticateUs)}, encode binary ${fmt(b.encodeBinaryUs)}, JSON ${fmt(b.encodeJsonUs)}`,
      );
      const e = await listEncoding(db, LIST_REQUEST, ctx.o.microMs);
      ctx.log(
        `    list page of ${e.rows} (µs): service ${fmt(e.serviceUs)}, protobuf-es JSON ${fmt(e.protobufJsonUs)}, ` +
          `protobuf binary ${fmt(e.protobufBinaryUs)}, JSON.stringify ${fmt(e.plainJsonUs)}`,
      );
      const stringify = "JSON.stringify of the same views";
      const rawListMs = ctx.figure("list.service_p50_ms")?.baseline;
      return [
        figure({
          name: "breakdown.get.sqlite_lookup_us",
          title: "get piece: scoped SQLite point lookup (prepared)",
          value: b.sqliteLookupUs,
          unit: "µs",
        }),
        figure({
          name: "breakdown.get.service_us",
          title: "get piece: JobService.get (compile + lookup + view)",
          value: b.serviceGetUs,
          unit: "µs",
          baseline: b.sqliteLookupUs,
          baselineName: "SQLite lookup",
        }),
        figure({
          name: "breakdown.get.authenticate_us",
          title: "get piece: token verification (authenticate)",
          value: b.authenticateUs,
          unit: "µs",
        }),
        figure({
          name: "breakdown.get.encode_binary_us",
          title: "get piece: view -> JobInfo -> protobuf binary",
          value: b.encodeBinaryUs,
          unit: "µs",
        }),
        figure({
          name: "breakdown.get.encode_json_us",
          title: "get piece: view -> JobInfo -> JSON",
          value: b.encodeJsonUs,
          unit: "µs",
        }),
        figure({
          name: "breakdown.list.encode_protobuf_json_us",
          title: `list piece: ${e.rows} views -> JobsInfo -> JSON with protobuf-es (as the handler does)`,
          value: e.protobufJsonUs,
          unit: "µs",
          baseline: e.plainJsonUs,
          baselineName: stringify,
        }),
        figure({
          name: "breakdown.list.encode_protobuf_binary_us",
          title: `list piece: ${e.rows} views -> JobsInfo -> protobuf binary`,
          value: e.protobufBinaryUs,
          unit: "µs",
          baseline: e.plainJsonUs,
          baselineName: stringify,
        }),
        figure({
          name: "breakdown.list.service_us",
          title: "list piece: JobService.list (parse, compile, SQL, views)",
          value: e.serviceUs,
          unit: "µs",
          baseline: rawListMs === undefined || rawListMs === null ? null : rawListMs * 1000,
          baselineName: "raw SQL page + count, tight loop (list scenario)",
        }),
      ];
    } finally {
      db.close();
    }
  },
};
