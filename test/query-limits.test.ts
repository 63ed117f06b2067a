/**
 * Every documented query limit works at its bound and is `invalid_argument` naming the setting one
 * past it, on both backends (issue 9.6: before, ~1,000 conditions or values answered 500 ERROR_UNKNOWN
 * from SQLite's expression depth and bound-parameter limits); and with every query limit set to the
 * largest value its setting accepts, a request at each answers. docs/limits.md lists the bounds.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { limitsSchema } from "../src/config-limits.js";
import { DEFAULT_QUERY_LIMITS as L, QUERY_LIMIT_SETTINGS, type QueryLimits } from "../src/query/cost.js";
import { BACKENDS } from "./support/backends.js";
import { startTestServer, type TestServer } from "./support/server.js";

let server: TestServer;
let token: string;

async function call(
  method: "list" | "stat",
  query: unknown,
  url = server.url,
  bearer = token,
): Promise<{ status: number; body: string }> {
  const res = await fetch(`${url}/spaceone.api.identity.v2.Job/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json", token: bearer },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, body: await res.text() };
}

const values = (n: number, prefix = "v") => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const conditions = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ k: "job_id", v: `job-${i}`, o: "not" }));
/** `items` as conditions of at most `QUERY_MAX_LIST_VALUES` values each (a maximum may exceed it). */
const chunked = <T>(items: T[], limits: QueryLimits, condition: (part: T[], i: number) => unknown) =>
  Array.from({ length: Math.ceil(items.length / limits.maxListValues) }, (_, i) =>
    condition(items.slice(i * limits.maxListValues, (i + 1) * limits.maxListValues), i),
  );
/** `n` patterns of `total` characters in all, 128 characters each but the last. */
const longPatterns = (total: number) =>
  Array.from(
    { length: Math.floor(total / 128) },
    (_, i) => `${String(i).padStart(3, "0")}${"x".repeat(125)}`,
  ).concat(total % 128 ? ["y".repeat(total % 128)] : []);

/** [name, the query with `n` of the limit under the limits in force, the limit]. */
type Case = [string, (n: number, limits: QueryLimits) => unknown, keyof QueryLimits];

const CASES: Case[] = [
  ["AND conditions", (n) => ({ filter: conditions(n) }), "maxConditions"],
  ["OR conditions", (n) => ({ filter_or: conditions(n) }), "maxConditions"],
  ["in on a column", (n) => ({ filter: [{ k: "job_id", v: values(n), o: "in" }] }), "maxListValues"],
  [
    "in on an options path",
    (n, l) => ({ filter_or: chunked(values(n), l, (v) => ({ k: "options.a.b", v, o: "in" })) }),
    "maxPathValues",
  ],
  [
    "not_in on an options path",
    (n, l) => ({ filter: chunked(values(n), l, (v) => ({ k: "options.a", v, o: "not_in" })) }),
    "maxPathValues",
  ],
  [
    "contain_in",
    (n) => ({ filter: [{ k: "error_message", v: values(n), o: "contain_in" }] }),
    "maxListValues",
  ],
  [
    "not_contain_in on an options path",
    (n, l) => ({ filter: chunked(values(n), l, (v) => ({ k: "options.a", v, o: "not_contain_in" })) }),
    "maxPathValues",
  ],
  [
    "list values over many conditions (bound parameters)",
    (n, l) => ({
      filter: chunked(values(n), l, (v, i) => ({
        k: ["job_id", "plugin_id", "trusted_account_id", "error_message"][i % 4],
        v,
        o: "not_in",
      })),
    }),
    "maxTotalValues",
  ],
  [
    "regex_in patterns",
    (n, l) => ({ filter_or: chunked(values(n, "^p"), l, (v) => ({ k: "error_message", v, o: "regex_in" })) }),
    "maxRegexPatterns",
  ],
  [
    "total regex length",
    (n, l) => ({ filter_or: chunked(longPatterns(n), l, (v) => ({ k: "error_message", v, o: "regex_in" })) }),
    "maxRegexTotalLength",
  ],
  ["only fields", (n) => ({ only: Array.from({ length: n }, (_, i) => `options.f${i}`) }), "maxFields"],
];

const group = (fields: unknown[]) => ({ group: { keys: [{ k: "status", n: "status" }], fields } });

const STAT_CASES: Case[] = [
  [
    "stages",
    (n) => ({
      aggregate: [group([{ o: "count", n: "c" }]), ...Array.from({ length: n - 1 }, () => ({ skip: 0 }))],
    }),
    "maxStages",
  ],
  [
    "push fields",
    (n) => ({
      aggregate: [group(Array.from({ length: n }, (_, i) => ({ o: "push", k: "options", n: `p${i}` })))],
    }),
    "maxCollectFields",
  ],
  [
    "group fields",
    (n) => ({ aggregate: [group(Array.from({ length: n }, (_, i) => ({ o: "count", n: `c${i}` })))] }),
    "maxGroupFields",
  ],
  [
    "unwinds",
    (n) => ({
      aggregate: [
        ...Array.from({ length: n }, () => ({ unwind: { path: "options.regions" } })),
        { count: { name: "n" } },
      ],
    }),
    "maxUnwinds",
  ],
];

/** Every query limit at the largest value its setting accepts (docs/limits.md: "setting (max)"). */
const MAXIMA = Object.fromEntries(
  Object.entries(QUERY_LIMIT_SETTINGS).map(([key, setting]) => {
    const schema = limitsSchema[setting as keyof typeof limitsSchema];
    return [key, schema.max as number];
  }),
) as unknown as QueryLimits;
const MAXIMA_ENV = Object.fromEntries(
  Object.entries(QUERY_LIMIT_SETTINGS).map(([key, setting]) => [
    setting,
    String(MAXIMA[key as keyof QueryLimits]),
  ]),
);

describe.each(BACKENDS)("on $name", (backend) => {
  beforeAll(async () => {
    if (backend.skip) return;
    server = await startTestServer({ backend });
    token = await server.token("DOMAIN_ADMIN");
  });
  afterAll(() => server?.close());
  if (backend.skip) {
    it.skip(`skipped: ${backend.skip}`, () => {});
    return;
  }

  describe("list: at each limit it answers, one past it is invalid_argument naming the setting", () => {
    it.each(CASES)("%s", async (_name, make, key) => {
      const at = await call("list", { ...(make(L[key], L) as object), page: { limit: 5 } });
      expect(at.status, at.body.slice(0, 300)).toBe(200);
      const over = await call("list", { ...(make(L[key] + 1, L) as object), page: { limit: 5 } });
      expect(over.status, over.body.slice(0, 300)).toBe(400);
      expect(JSON.parse(over.body).code).toBe("invalid_argument");
      expect(over.body).toContain(QUERY_LIMIT_SETTINGS[key]);
    });
  });

  describe("stat: at each limit it answers, one past it is invalid_argument naming the setting", () => {
    it.each(STAT_CASES)("%s", async (_name, make, key) => {
      const at = await call("stat", make(L[key], L));
      expect(at.status, at.body.slice(0, 300)).toBe(200);
      const over = await call("stat", make(L[key] + 1, L));
      expect(over.status, over.body.slice(0, 300)).toBe(400);
      expect(over.body).toContain(QUERY_LIMIT_SETTINGS[key]);
    });
  });

  describe("every query limit set to its maximum: a request at each answers", () => {
    let max: TestServer;
    let maxToken: string;
    beforeAll(async () => {
      max = await startTestServer({ backend, env: MAXIMA_ENV });
      maxToken = await max.token("DOMAIN_ADMIN");
    });
    afterAll(() => max.close());

    it.each([
      ...CASES.map(([name, make, key]) => [name, "list", make, key] as const),
      ...STAT_CASES.map(([name, make, key]) => [name, "stat", make, key] as const),
    ])("%s (%s)", async (_name, method, make, key) => {
      expect(MAXIMA[key]).toBeGreaterThanOrEqual(L[key]);
      const query = make(MAXIMA[key], MAXIMA) as object;
      const at = await call(
        method,
        method === "list" ? { ...query, page: { limit: 5 } } : query,
        max.url,
        maxToken,
      );
      expect(at.status, at.body.slice(0, 300)).toBe(200);
    });
  });

  describe("the answer size limit (MAX_RESPONSE_BYTES)", () => {
    let small: TestServer;
    let adminToken: string;
    beforeAll(async () => {
      small = await startTestServer({ backend, env: { MAX_RESPONSE_BYTES: "2000" } });
      adminToken = await small.token("DOMAIN_ADMIN");
    });
    afterAll(() => small.close());

    const post = (path: string, body: unknown) =>
      fetch(`${small.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", token: adminToken },
        body: JSON.stringify(body),
      });

    it("an answer over it is resource_exhausted, a smaller one is answered (Connect and REST)", async () => {
      const big = await post("/spaceone.api.identity.v2.Job/list", { query: {} });
      const bigBody = await big.text();
      expect(big.status, bigBody.slice(0, 200)).toBe(429);
      expect(JSON.parse(bigBody).code).toBe("resource_exhausted");
      const rest = await post("/identity/v2/job/list", { query: {} });
      expect(rest.status).toBe(429);
      await rest.text();
      const one = await post("/spaceone.api.identity.v2.Job/list", {
        query: { page: { limit: 1 }, only: ["job_id"] },
      });
      expect(one.status).toBe(200);
      await one.text();
    });
  });
});
