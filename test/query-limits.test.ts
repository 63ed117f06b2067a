/**
 * Every documented query limit works on SQLite at its bound and is `invalid_argument` naming the
 * setting one past it (issue 9.6: before, ~1,000 conditions or values answered 500 ERROR_UNKNOWN from
 * SQLite's expression depth and bound-parameter limits). docs/limits.md lists the bounds.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_QUERY_LIMITS as L } from "../src/query/cost.js";
import { startTestServer, type TestServer } from "./support/server.js";

let server: TestServer;
let token: string;
beforeAll(async () => {
  server = await startTestServer();
  token = await server.token("DOMAIN_ADMIN");
});
afterAll(() => server.close());

async function call(method: "list" | "stat", query: unknown): Promise<{ status: number; body: string }> {
  const res = await fetch(`${server.url}/spaceone.api.identity.v2.Job/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json", token },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, body: await res.text() };
}

const values = (n: number, prefix = "v") => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const conditions = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ k: "job_id", v: `job-${i}`, o: "not" }));

/** [name, query at the limit, the same one past it, the setting named]. */
const CASES: [string, (n: number) => unknown, number, string][] = [
  ["AND conditions", (n) => ({ filter: conditions(n) }), L.maxConditions, "QUERY_MAX_CONDITIONS"],
  ["OR conditions", (n) => ({ filter_or: conditions(n) }), L.maxConditions, "QUERY_MAX_CONDITIONS"],
  [
    "in on a column",
    (n) => ({ filter: [{ k: "job_id", v: values(n), o: "in" }] }),
    L.maxListValues,
    "QUERY_MAX_LIST_VALUES",
  ],
  [
    "in on an options path",
    (n) => ({ filter: [{ k: "options.a.b", v: values(n), o: "in" }] }),
    L.maxPathValues,
    "QUERY_MAX_PATH_VALUES",
  ],
  [
    "not_in on an options path",
    (n) => ({ filter: [{ k: "options.a", v: values(n), o: "not_in" }] }),
    L.maxPathValues,
    "QUERY_MAX_PATH_VALUES",
  ],
  [
    "contain_in",
    (n) => ({ filter: [{ k: "error_message", v: values(n), o: "contain_in" }] }),
    L.maxListValues,
    "QUERY_MAX_LIST_VALUES",
  ],
  [
    "not_contain_in on an options path",
    (n) => ({ filter: [{ k: "options.a", v: values(n), o: "not_contain_in" }] }),
    L.maxPathValues,
    "QUERY_MAX_PATH_VALUES",
  ],
  [
    "list values over many conditions (bound parameters)",
    (n) => ({
      filter: Array.from({ length: Math.ceil(n / L.maxListValues) }, (_, i) => ({
        k: ["job_id", "plugin_id", "trusted_account_id", "error_message"][i % 4],
        v: values(Math.min(L.maxListValues, n - i * L.maxListValues)),
        o: "not_in",
      })),
    }),
    L.maxTotalValues,
    "QUERY_MAX_TOTAL_VALUES",
  ],
  [
    "regex_in patterns",
    (n) => ({ filter: [{ k: "error_message", v: values(n, "^p"), o: "regex_in" }] }),
    L.maxRegexPatterns,
    "QUERY_MAX_REGEX_PATTERNS",
  ],
  [
    "total regex length",
    (n) => ({
      filter: [
        {
          k: "error_message",
          v: Array.from(
            { length: Math.floor(n / 128) },
            (_, i) => `${String(i).padStart(3, "0")}${"x".repeat(125)}`,
          ).concat(n % 128 ? ["y".repeat(n % 128)] : []),
          o: "regex_in",
        },
      ],
    }),
    L.maxRegexTotalLength,
    "QUERY_MAX_REGEX_TOTAL_LENGTH",
  ],
  [
    "only fields",
    (n) => ({ only: Array.from({ length: n }, (_, i) => `options.f${i}`) }),
    L.maxFields,
    "QUERY_MAX_FIELDS",
  ],
];

describe("list: at each limit it answers, one past it is invalid_argument naming the setting", () => {
  it.each(CASES)("%s", async (_name, make, limit, setting) => {
    const at = await call("list", { ...(make(limit) as object), page: { limit: 5 } });
    expect(at.status, at.body.slice(0, 300)).toBe(200);
    const over = await call("list", { ...(make(limit + 1) as object), page: { limit: 5 } });
    expect(over.status, over.body.slice(0, 300)).toBe(400);
    expect(JSON.parse(over.body).code).toBe("invalid_argument");
    expect(over.body).toContain(setting);
  });
});

const group = (fields: unknown[]) => ({ group: { keys: [{ k: "status", n: "status" }], fields } });

const STAT_CASES: [string, (n: number) => unknown, number, string][] = [
  [
    "stages",
    (n) => ({
      aggregate: [group([{ o: "count", n: "c" }]), ...Array.from({ length: n - 1 }, () => ({ skip: 0 }))],
    }),
    L.maxStages,
    "STAT_MAX_STAGES",
  ],
  [
    "push fields",
    (n) => ({
      aggregate: [group(Array.from({ length: n }, (_, i) => ({ o: "push", k: "options", n: `p${i}` })))],
    }),
    L.maxCollectFields,
    "STAT_MAX_COLLECT_FIELDS",
  ],
  [
    "group fields",
    (n) => ({ aggregate: [group(Array.from({ length: n }, (_, i) => ({ o: "count", n: `c${i}` })))] }),
    L.maxGroupFields,
    "STAT_MAX_GROUP_FIELDS",
  ],
  [
    "unwinds",
    (n) => ({
      aggregate: [
        ...Array.from({ length: n }, () => ({ unwind: { path: "options.regions" } })),
        { count: { name: "n" } },
      ],
    }),
    L.maxUnwinds,
    "STAT_MAX_UNWINDS",
  ],
];

describe("stat: at each limit it answers, one past it is invalid_argument naming the setting", () => {
  it.each(STAT_CASES)("%s", async (_name, make, limit, setting) => {
    const at = await call("stat", make(limit));
    expect(at.status, at.body.slice(0, 300)).toBe(200);
    const over = await call("stat", make(limit + 1));
    expect(over.status, over.body.slice(0, 300)).toBe(400);
    expect(over.body).toContain(setting);
  });
});

describe("the answer size limit (MAX_RESPONSE_BYTES)", () => {
  let small: TestServer;
  let adminToken: string;
  beforeAll(async () => {
    small = await startTestServer({ env: { MAX_RESPONSE_BYTES: "2000" } });
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
