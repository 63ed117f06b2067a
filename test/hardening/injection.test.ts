/**
 * SQL injection and path traversal through every request field that names something: filter keys
 * (filter, filter_or), sort keys, `only`, dotted `options` paths, and in `stat` group keys and names,
 * field keys and names, project names, sort keys, count names, `distinct` and `unwind` paths. And the
 * same payloads as values (shortcut fields, filter values, job ids, keyword).
 *
 * Each answer is `invalid_argument` or, when the payload is a valid name or a value, a normal answer
 * inside the caller's scope; never a server error, never another tenant's row. The SQL actually
 * run never contains payload text (the payloads arrive as bound values), and the jobs table is
 * intact afterwards. On both backends the SQL is captured by the store's statement hook
 * (`onStatement`): on SQLite with two read workers, so `list` and `stat` run on worker threads and
 * their statements come back with the answers; on PostgreSQL from every pooled connection.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RoleType } from "../../src/auth/principal.js";
import type { StatementHook } from "../../src/storage/store.js";
import { startAppServer, startAppServerOn } from "../support/app-server.js";
import { BACKENDS, type BackendName } from "../support/backends.js";
import { JOBS } from "../support/fixture.js";

const PAYLOADS = [
  "' OR 1=1 --",
  '"; DROP TABLE jobs; --',
  "options.a') OR 1=1 --",
  "options.a' OR '1'='1",
  'options."a"',
  "options.a`b",
  "options.$[0]",
  "options.a[0]",
  "options.$.a",
  "options.a..b",
  "options.",
  ".options",
  "../../etc/passwd",
  "options/../../etc/passwd",
  "options.\u0000",
  "status\u0000",
  "status\u0000' OR 1=1",
  "status\u2019 OR \u20181\u2019=\u20181",
  "options.a\u2019b",
  "\uff53\uff54\uff41\uff54\uff55\uff53",
  "job_id/**/",
  "job_id AS x",
  "jobs.job_id",
  "main.jobs",
  "sqlite_master",
  "json_extract(options,'$')",
  "seq",
  "rowid",
  "idempotency_key",
  "*",
  "",
  " ",
  "__proto__",
  "constructor",
  "options.__proto__",
  "options.constructor",
  "options.toString",
  "options.a.b.c.d.e.f.g.h.i",
  `options.${"x".repeat(65)}`,
  "STATUS",
  "status ",
];

/** Payload text that must never appear inside prepared SQL (the short common words do, legitimately). */
const MARKERS = [
  "1=1",
  "DROP TABLE",
  "passwd",
  "\u0000",
  "\u2019",
  "\u2018",
  "json_extract(options",
  "/**/",
  "main.jobs",
  "AS x",
  "a`b",
  "$[0]",
  "__proto__",
];

/**
 * Regression: `only: ["options.constructor"]` was `internal`, because src/service/job-view.ts
 * `pickPaths` read `source[segment]` without `Object.hasOwn` and picked up Object.prototype members
 * (a function cannot become a google.protobuf.Value). Now a normal answer.
 */
const INHERITED = ["options.constructor", "options.toString"];

/** The app on one backend, with what the checks below need. */
interface Target {
  readonly url: string;
  /** Every distinct SQL text the service ran. */
  readonly statements: ReadonlySet<string>;
  /** Every value the service bound to a statement, as text. */
  readonly values: ReadonlySet<string>;
  token(role: RoleType, domainId?: string, workspaceId?: string): Promise<string>;
  jobIds(): Promise<string[]>;
  tables(): Promise<string[]>;
  /** The database's own consistency check ("ok"), where it has one built in (SQLite). */
  integrity(): Promise<string | null>;
  close(): Promise<void>;
}

/** Records the statements a store runs: their text, and every bound value as text. */
function recorder(): { statements: Set<string>; values: Set<string>; hook: StatementHook } {
  const statements = new Set<string>();
  const values = new Set<string>();
  return {
    statements,
    values,
    hook: (sql, parameters) => {
      statements.add(sql);
      for (const value of parameters) values.add(String(value));
    },
  };
}

async function startSqlite(): Promise<Target> {
  const recorded = recorder();
  // Read workers on, so the hook must hear the statements list and stat run on worker threads.
  const server = await startAppServer({ env: { DATABASE_READ_WORKERS: "2" }, onStatement: recorded.hook });
  await server.readersUp();
  // As on PostgreSQL, what the service runs from here on: not the fixture's inserts. The test's own
  // queries below use the connection directly, not the store, and are not recorded.
  recorded.statements.clear();
  recorded.values.clear();
  return {
    url: server.url,
    statements: recorded.statements,
    values: recorded.values,
    token: (role, domainId, workspaceId) => server.token(role, domainId, workspaceId),
    jobIds: async () =>
      (server.db.prepare("SELECT job_id FROM jobs").all() as { job_id: string }[]).map((r) => r.job_id),
    tables: async () =>
      (
        server.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]
      ).map((r) => r.name),
    integrity: async () => server.integrity(),
    close: () => server.close(),
  };
}

async function startPostgres(): Promise<Target> {
  const recorded = recorder();
  const backend = BACKENDS.find((b) => b.name === "postgres");
  if (!backend) throw new Error("no postgres backend");
  const server = await startAppServerOn(backend, { onStatement: recorded.hook });
  // As on SQLite, what the service runs from here on: not the migrations and the fixture's COPY.
  recorded.statements.clear();
  recorded.values.clear();
  return {
    url: server.url,
    statements: recorded.statements,
    values: recorded.values,
    token: (role, domainId, workspaceId) => server.token(role, domainId, workspaceId),
    jobIds: async () =>
      (await server.sql<{ job_id: string }>("SELECT job_id FROM jobs")).map((r) => r.job_id),
    tables: async () =>
      (
        await server.sql<{ name: string }>(
          "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()",
        )
      ).map((r) => r.name),
    integrity: async () => null,
    close: () => server.close(),
  };
}

const TARGETS: readonly { name: BackendName; skip: string | null; start: () => Promise<Target> }[] =
  BACKENDS.map((b) => ({
    name: b.name,
    skip: b.skip,
    start: b.name === "sqlite" ? startSqlite : startPostgres,
  }));

let target: Target;
let admin: string;
let owner: string;
let tried = 0;

interface Answer {
  status: number;
  json: Record<string, unknown>;
}

async function call(method: string, body: unknown, token = admin): Promise<Answer> {
  tried++;
  const res = await fetch(`${target.url}/spaceone.api.identity.v2.Job/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json", token },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const inScope = (token: string) => (job: Record<string, unknown>) =>
  token === admin ? job.domain_id === "domain-a" : job.workspace_id === "ws-1" || job.workspace_id === "*";

/** invalid_argument, or a normal answer whose rows are all inside the caller's scope. */
function expectRefusedOrScoped(answer: Answer, token: string, context: string) {
  expect([200, 400], `${context}: ${JSON.stringify(answer.json).slice(0, 300)}`).toContain(answer.status);
  if (answer.status === 400) {
    expect(answer.json.code, context).toBe("invalid_argument");
    return;
  }
  const rows = (answer.json.results ?? []) as Record<string, unknown>[];
  // list rows carry domain_id only when selected; look them up when they name a job.
  for (const row of rows) {
    if (typeof row !== "object" || row === null || typeof row.job_id !== "string") continue;
    const job = JOBS.find((j) => j.job_id === row.job_id);
    expect(job, `${context}: unknown row ${row.job_id}`).toBeDefined();
    expect(
      inScope(token)(job as unknown as Record<string, unknown>),
      `${context}: ${row.job_id} leaked`,
    ).toBe(true);
  }
}

describe.each(TARGETS)("on $name", ({ skip, start }) => {
  if (skip) {
    it.skip(`skipped: ${skip}`, () => {});
    return;
  }
  beforeAll(async () => {
    tried = 0;
    target = await start();
    admin = await target.token("DOMAIN_ADMIN");
    owner = await target.token("WORKSPACE_OWNER", "domain-a", "ws-1");
  });
  afterAll(async () => {
    console.info(`injection: ${tried} requests, ${target?.statements.size} distinct SQL statements checked`);
    await target?.close();
  });

  describe.each([
    ["domain admin", () => admin],
    ["workspace owner", () => owner],
  ])("as %s", (_who, tokenOf) => {
    it.each(PAYLOADS)("list: %j as a filter, filter_or, sort and only name", async (payload) => {
      const token = tokenOf();
      const bodies = [
        { query: { filter: [{ k: payload, v: "x", o: "eq" }] } },
        { query: { filter: [{ k: payload, v: true, o: "exists" }] } },
        { query: { filter_or: [{ key: payload, value: ["x"], operator: "in" }] } },
        { query: { filter: [{ k: payload, v: { a: 1 }, o: "match" }] } },
        { query: { sort: [{ key: payload, desc: true }], page: { limit: 50 } } },
        { query: { only: [payload], page: { limit: 50 } } },
        { query: { only: ["job_id", payload], page: { limit: 50 } } },
      ];
      for (const body of bodies)
        expectRefusedOrScoped(await call("list", body, token), token, JSON.stringify(body));
    });

    it.each(PAYLOADS)("stat: %j as every name in a pipeline", async (payload) => {
      const token = tokenOf();
      const group = (keys: unknown[], fields: unknown[]) => ({
        query: { aggregate: [{ group: { keys, fields } }] },
      });
      const bodies = [
        group([{ key: payload, name: "k" }], [{ name: "n", operator: "count" }]),
        group([{ key: "status", name: payload }], [{ name: "n", operator: "count" }]),
        group([{ key: "status", name: "k" }], [{ key: payload, name: "s", operator: "sum" }]),
        group([{ key: "status", name: "k" }], [{ name: payload, operator: "count" }]),
        group(
          [{ key: "status", name: "k" }],
          [{ name: "p", operator: "push", fields: [{ key: payload, name: "x" }] }],
        ),
        group(
          [{ key: "status", name: "k" }],
          [{ name: "c", operator: "count", conditions: [{ key: payload, value: 1, operator: "eq" }] }],
        ),
        {
          query: {
            aggregate: [
              { group: { keys: [{ key: "status", name: "k" }], fields: [{ name: "n", operator: "count" }] } },
              { project: { fields: [{ key: "k", name: payload }] } },
            ],
          },
        },
        {
          query: {
            aggregate: [
              { group: { keys: [{ key: "status", name: "k" }], fields: [{ name: "n", operator: "count" }] } },
              { sort: [{ key: payload, desc: true }] },
            ],
          },
        },
        { query: { aggregate: [{ sort: [{ key: payload }] }, { limit: 5 }] } },
        { query: { aggregate: [{ count: { name: payload } }] } },
        { query: { aggregate: [{ unwind: { path: payload } }, { count: { name: "n" } }] } },
        { query: { distinct: payload } },
        { query: { distinct: "job_id", filter: [{ k: payload, v: "x", o: "eq" }] } },
      ];
      for (const body of bodies) {
        const answer = await call("stat", body, token);
        expectRefusedOrScoped(answer, token, JSON.stringify(body));
        // A distinct list of job ids must not name another tenant's job either.
        if (answer.status === 200 && Array.isArray(answer.json.results)) {
          for (const value of answer.json.results) {
            if (typeof value === "string" && value.startsWith("job-")) {
              const job = JOBS.find((j) => j.job_id === value);
              expect(
                job && inScope(token)(job as unknown as Record<string, unknown>),
                `${value} leaked`,
              ).toBe(true);
            }
          }
        }
      }
    });

    it.each(PAYLOADS)("%j as a value: a normal (empty or scoped) answer", async (payload) => {
      const token = tokenOf();
      const lists = [
        { job_id: payload },
        { trusted_account_id: payload, plugin_id: payload, workspace_id: payload },
        { query: { filter: [{ k: "job_id", v: payload, o: "eq" }] } },
        { query: { filter: [{ k: "error_message", v: payload, o: "contain" }] } },
        { query: { filter: [{ k: "options.provider", v: [payload, 1], o: "not_in" }] } },
        { query: { filter: [{ k: "options.targets", v: { name: payload }, o: "match" }] } },
        { query: { keyword: payload } },
      ];
      for (const body of lists)
        expectRefusedOrScoped(await call("list", body, token), token, JSON.stringify(body));
      const get = await call("get", { job_id: payload }, token);
      expect([400, 404], JSON.stringify(get.json)).toContain(get.status);
    });
  });

  describe("regression: only names an inherited property", () => {
    it.each(INHERITED)("only: [%j] is a normal answer, not internal", async (payload) => {
      expectRefusedOrScoped(
        await call("list", { query: { only: [payload], page: { limit: 5 } } }),
        admin,
        payload,
      );
    });
  });

  describe("afterwards", () => {
    it("deleting by payload ids changed nothing", async () => {
      for (const payload of PAYLOADS) {
        const answer = await call("delete", { job_id: `${payload}' OR '1'='1` });
        expect([400, 404], JSON.stringify(answer.json)).toContain(answer.status);
      }
      expect((await target.jobIds()).length).toBe(JOBS.length);
    });

    it("the jobs table is intact: same rows, same schema, integrity ok", async () => {
      expect((await target.jobIds()).sort()).toEqual(JOBS.map((j) => j.job_id).sort());
      expect(await target.tables()).toEqual(expect.arrayContaining(["jobs", "job_events", "job_tombstones"]));
      const integrity = await target.integrity();
      if (integrity !== null) expect(integrity).toBe("ok");
    });

    it("no payload text ever reached the SQL: names are catalogued identifiers, values bound parameters", () => {
      expect(target.statements.size).toBeGreaterThan(20);
      // list's page and count were heard (on SQLite they ran only on the read workers) ...
      expect([...target.statements].some((s) => /count\(\*\)/i.test(s) && /"jobs"/.test(s))).toBe(true);
      // ... and the payloads sent as values reached the database as bound values.
      expect(target.values.has("' OR 1=1 --")).toBe(true);
      for (const statement of target.statements) {
        for (const marker of MARKERS)
          expect(statement.includes(marker), `${marker} in ${statement}`).toBe(false);
        // A stat name may legitimately be "sqlite_master" or "constructor": then only as a quoted alias.
        for (const name of PAYLOADS.filter((p) => /^[A-Za-z][A-Za-z0-9_]*$/.test(p) && p.length > 5)) {
          expect(
            statement.replaceAll(`"${name}"`, "").includes(name),
            `${name} unquoted in ${statement}`,
          ).toBe(false);
        }
      }
    });
  });
});
