/**
 * The cost model (src/query/cost.ts) as a pure unit: every configurable bound, set low through the
 * configuration, refuses a request one past it with invalid_argument naming the request path and the
 * setting, and accepts the request at it.
 */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { QUERY_LIMIT_SETTINGS, type QueryLimits } from "../src/query/cost.js";
import { parseListQuery } from "../src/query/parse-query.js";
import { parseStatQuery } from "../src/query/parse-stat.js";

const now = new Date("2026-01-01T00:00:00Z");
const N = 3;
const values = (n: number) => Array.from({ length: n }, (_, i) => `v${i}`);
const group = (fields: unknown[], keys: unknown[] = [{ k: "status", n: "s" }]) => ({
  group: { keys, fields },
});

/** For each limit: a query of size n, whether it is a stat, and the path the refusal names. */
const SHAPES: Record<keyof QueryLimits, [(n: number) => unknown, "list" | "stat", string]> = {
  maxConditions: [
    (n) => ({ filter: Array.from({ length: n }, () => ({ k: "job_id", v: "x", o: "eq" })) }),
    "list",
    "query.filter",
  ],
  maxListValues: [
    (n) => ({ filter: [{ k: "job_id", v: values(n), o: "in" }] }),
    "list",
    "query.filter[0].value",
  ],
  maxTotalValues: [
    (n) => ({ filter: values(n).map((v) => ({ k: "job_id", v: [v], o: "in" })) }),
    "list",
    `query.filter[${N}].value`,
  ],
  maxPathValues: [
    (n) => ({ filter: [{ k: "options.a", v: values(n), o: "in" }] }),
    "list",
    "query.filter[0].value",
  ],
  maxRegexPatterns: [
    (n) => ({ filter: [{ k: "job_id", v: values(n), o: "regex_in" }] }),
    "list",
    `query.filter[0].value[${N}]`,
  ],
  maxRegexTotalLength: [
    (n) => ({ filter: [{ k: "job_id", v: "a".repeat(n), o: "regex" }] }),
    "list",
    "query.filter[0].value",
  ],
  maxFields: [(n) => ({ only: Array.from({ length: n }, (_, i) => `options.f${i}`) }), "list", "query.only"],
  maxStages: [
    (n) => ({ aggregate: Array.from({ length: n }, () => ({ skip: 0 })) }),
    "stat",
    "query.aggregate",
  ],
  maxGroupKeys: [
    (n) => ({
      aggregate: [
        group(
          [],
          Array.from({ length: n }, (_, i) => ({ k: "status", n: `k${i}` })),
        ),
      ],
    }),
    "stat",
    "query.aggregate[0].group.keys",
  ],
  maxGroupFields: [
    (n) => ({ aggregate: [group(Array.from({ length: n }, (_, i) => ({ o: "count", n: `c${i}` })))] }),
    "stat",
    "query.aggregate[0].group.fields",
  ],
  maxCollectFields: [
    (n) => ({
      aggregate: [group(Array.from({ length: n }, (_, i) => ({ o: "push", k: "job_id", n: `p${i}` })))],
    }),
    "stat",
    `query.aggregate[0].group.fields[${N}].operator`,
  ],
  maxPushSubFields: [
    (n) => ({
      aggregate: [
        group([
          { o: "push", n: "p", fields: Array.from({ length: n }, (_, i) => ({ k: "job_id", n: `f${i}` })) },
        ]),
      ],
    }),
    "stat",
    "query.aggregate[0].group.fields[0].fields",
  ],
  maxUnwinds: [
    (n) => ({ aggregate: Array.from({ length: n }, () => ({ unwind: { path: "options.regions" } })) }),
    "stat",
    `query.aggregate[${N}].unwind`,
  ],
};

function parse(kind: "list" | "stat", query: unknown, limits: QueryLimits): unknown {
  const ctx = { now, maxPageSize: 1000, limits };
  return kind === "list" ? parseListQuery(query, ctx, ["job_id"]) : parseStatQuery(query, ctx);
}

describe("every bound is configurable and names its setting", () => {
  it.each(Object.entries(SHAPES) as [keyof QueryLimits, (typeof SHAPES)[keyof QueryLimits]][])(
    "%s",
    (limit, [make, kind, at]) => {
      const setting = QUERY_LIMIT_SETTINGS[limit];
      // Through the environment, as an operator sets it.
      const config = loadConfig({ [setting]: String(N) });
      expect(config.limits.query[limit]).toBe(N);
      expect(() => parse(kind, make(N), config.limits.query)).not.toThrow();
      expect(() => parse(kind, make(N + 1), config.limits.query)).toThrow(
        `Parameter is invalid. (key = ${at}, reason = `,
      );
      expect(() => parse(kind, make(N + 1), config.limits.query)).toThrow(`(limit ${setting})`);
    },
  );

  it("a setting over its tested maximum stops the start with a message naming it", () => {
    expect(() => loadConfig({ QUERY_MAX_LIST_VALUES: "100000" })).toThrow(/QUERY_MAX_LIST_VALUES/);
    expect(() => loadConfig({ STAT_MAX_UNWINDS: "0" })).toThrow(/STAT_MAX_UNWINDS/);
  });
});
