/**
 * The tenancy matrix: callers (domain admins of two domains, workspace owners and members, system
 * tokens with and without `x_domain_id` / `x_workspace_id`, access tokens trying those headers, forged,
 * expired, wrong-algorithm and `alg: none` tokens, powerless roles) x two domains x three workspaces
 * (incl. domain-level `*` jobs; the same workspace ids exist in both domains) x every rpc (get, list,
 * stat, delete, and the lifecycle's create, start, cancel, list_events).
 *
 * No row outside the caller's scope is ever returned, counted in `total_count` or in a stat, or changed:
 * the whole database is compared before and after every refused write.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobRow } from "../../src/storage/schema.js";
import { type BackendAppServer, startAppServerOn } from "../support/app-server.js";
import { BACKENDS, type Backend } from "../support/backends.js";
import { JOBS } from "../support/fixture.js";
import { forgeTokens } from "../support/forged-tokens.js";

const DOMAINS = ["domain-a", "domain-b"];
const WORKSPACES = ["ws-1", "ws-2", "*"];

/** Two jobs per domain x workspace, with ids that name their place. */
const TENANT_JOBS: Omit<JobRow, "seq">[] = DOMAINS.flatMap((domain, d) =>
  WORKSPACES.flatMap((workspace, w) =>
    [0, 1].map((n) => ({
      ...(JOBS[0] as Omit<JobRow, "seq">),
      job_id: `job-${domain.slice(-1)}-${workspace === "*" ? "dom" : workspace}-${n}`,
      domain_id: domain,
      workspace_id: workspace,
      resource_group: workspace === "*" ? ("DOMAIN" as const) : ("WORKSPACE" as const),
      status: n === 0 ? ("PENDING" as const) : ("IN_PROGRESS" as const),
      finished_at: null,
      created_at: `2026-03-0${d + 1}T0${w}:00:0${n}.000Z`,
    })),
  ),
);

type Method = "get" | "list" | "stat" | "delete" | "create" | "start" | "cancel" | "list_events";
const READ: Method[] = ["get", "list", "stat", "list_events"];
/** Methods that match a workspace exactly (a workspace caller cannot touch domain-level jobs). */
const EXACT: Method[] = ["delete", "cancel", "start", "create"];

interface Actor {
  readonly name: string;
  readonly token: () => string;
  readonly headers?: Record<string, string>;
  /** The scope the service must apply; null domain: refused before any data is touched. */
  readonly domain: string | null;
  readonly workspace: string | null;
  readonly role: "DOMAIN_ADMIN" | "WORKSPACE_OWNER" | "WORKSPACE_MEMBER" | "SYSTEM";
  /** Holds identity:Job.execute (system tokens do). */
  readonly execute: boolean;
}

let server: BackendAppServer;
const tokens: Record<string, string> = {};
let forged: Awaited<ReturnType<typeof forgeTokens>>;
const counts = { requests: 0, refusedWrites: 0 };

async function start(backend: Backend): Promise<void> {
  server = await startAppServerOn(backend, { jobs: TENANT_JOBS });
  tokens.adminA = await server.token("DOMAIN_ADMIN", "domain-a");
  tokens.adminB = await server.token("DOMAIN_ADMIN", "domain-b");
  tokens.ownerA1 = await server.token("WORKSPACE_OWNER", "domain-a", "ws-1");
  tokens.memberA2 = await server.token("WORKSPACE_MEMBER", "domain-a", "ws-2");
  tokens.ownerB2 = await server.token("WORKSPACE_OWNER", "domain-b", "ws-2");
  tokens.executorA1 = await server.token("WORKSPACE_OWNER", "domain-a", "ws-1", ["identity:Job"]);
  tokens.systemA = await server.systemToken("domain-a");
  forged = await forgeTokens(server.config);
}

const ACTORS: Actor[] = [
  {
    name: "domain admin A",
    token: () => tokens.adminA as string,
    domain: "domain-a",
    workspace: null,
    role: "DOMAIN_ADMIN",
    execute: false,
  },
  {
    name: "domain admin B",
    token: () => tokens.adminB as string,
    domain: "domain-b",
    workspace: null,
    role: "DOMAIN_ADMIN",
    execute: false,
  },
  {
    name: "workspace owner A/ws-1",
    token: () => tokens.ownerA1 as string,
    domain: "domain-a",
    workspace: "ws-1",
    role: "WORKSPACE_OWNER",
    execute: false,
  },
  {
    name: "workspace member A/ws-2",
    token: () => tokens.memberA2 as string,
    domain: "domain-a",
    workspace: "ws-2",
    role: "WORKSPACE_MEMBER",
    execute: false,
  },
  {
    name: "workspace owner B/ws-2",
    token: () => tokens.ownerB2 as string,
    domain: "domain-b",
    workspace: "ws-2",
    role: "WORKSPACE_OWNER",
    execute: false,
  },
  {
    name: "worker app A/ws-1 (permissions identity:Job)",
    token: () => tokens.executorA1 as string,
    domain: "domain-a",
    workspace: "ws-1",
    role: "WORKSPACE_OWNER",
    execute: true,
  },
  {
    name: "system token (did A)",
    token: () => tokens.systemA as string,
    domain: "domain-a",
    workspace: null,
    role: "SYSTEM",
    execute: true,
  },
  {
    name: "system token + x_domain_id B",
    token: () => tokens.systemA as string,
    headers: { x_domain_id: "domain-b" },
    domain: "domain-b",
    workspace: null,
    role: "SYSTEM",
    execute: true,
  },
  {
    name: "system token + x_domain_id B + x_workspace_id ws-1",
    token: () => tokens.systemA as string,
    headers: { "x-domain-id": "domain-b", "x-workspace-id": "ws-1" },
    domain: "domain-b",
    workspace: "ws-1",
    role: "SYSTEM",
    execute: true,
  },
  {
    name: "admin A sending x_domain_id B (ignored)",
    token: () => tokens.adminA as string,
    headers: { x_domain_id: "domain-b", x_workspace_id: "ws-2" },
    domain: "domain-a",
    workspace: null,
    role: "DOMAIN_ADMIN",
    execute: false,
  },
  {
    name: "owner A/ws-1 sending x_workspace_id ws-2 (ignored)",
    token: () => tokens.ownerA1 as string,
    headers: { x_workspace_id: "ws-2" },
    domain: "domain-a",
    workspace: "ws-1",
    role: "WORKSPACE_OWNER",
    execute: false,
  },
];

function allowed(actor: Actor, method: Method): boolean {
  if (actor.role === "SYSTEM") return true;
  if (method === "create" || method === "start") return actor.execute;
  if (READ.includes(method)) return true;
  return actor.role !== "WORKSPACE_MEMBER";
}

function visible(actor: Actor, job: Pick<JobRow, "domain_id" | "workspace_id">, method: Method): boolean {
  if (job.domain_id !== actor.domain) return false;
  if (actor.workspace === null) return true;
  return job.workspace_id === actor.workspace || (!EXACT.includes(method) && job.workspace_id === "*");
}

const PATHS: Record<Method, string> = {
  get: "/spaceone.api.identity.v2.Job/get",
  list: "/spaceone.api.identity.v2.Job/list",
  stat: "/spaceone.api.identity.v2.Job/stat",
  delete: "/spaceone.api.identity.v2.Job/delete",
  create: "/spaceone.api.identity.v2.JobLifecycle/create",
  start: "/spaceone.api.identity.v2.JobLifecycle/start",
  cancel: "/spaceone.api.identity.v2.JobLifecycle/cancel",
  list_events: "/spaceone.api.identity.v2.JobLifecycle/list_events",
};

async function call(method: Method, body: unknown, token: string, headers: Record<string, string> = {}) {
  counts.requests++;
  const res = await fetch(server.url + PATHS[method], {
    method: "POST",
    headers: { "content-type": "application/json", token, ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Every row of every table the writes could touch. */
async function snapshot(): Promise<string> {
  return JSON.stringify([
    await server.sql("SELECT * FROM jobs ORDER BY seq"),
    await server.sql("SELECT * FROM job_events ORDER BY id"),
    await server.sql("SELECT * FROM job_tombstones ORDER BY job_id"),
  ]);
}

describe.each(BACKENDS)("on $name", (backend) => {
  beforeAll(async () => {
    if (!backend.skip) await start(backend);
  });
  afterAll(async () => {
    console.info(
      `tenancy (${backend.name}): ${counts.requests} requests, ${counts.refusedWrites} refused writes checked`,
    );
    await server?.close();
  });
  if (backend.skip) it.skip(`skipped: ${backend.skip}`, () => {});
  else {
    describe.each(ACTORS)("$name", (actor) => {
      const token = () => actor.token();
      const h = actor.headers ?? {};

      it("get: exactly the jobs in scope; the rest are not_found", async () => {
        for (const job of TENANT_JOBS) {
          const answer = await call("get", { job_id: job.job_id }, token(), h);
          if (visible(actor, job, "get")) {
            expect(answer.status, `${job.job_id}: ${JSON.stringify(answer.json)}`).toBe(200);
            expect(answer.json.job_id).toBe(job.job_id);
          } else {
            expect(answer.status, job.job_id).toBe(404);
            expect(answer.json.code).toBe("not_found");
          }
        }
      });

      it("list: rows and total_count are the scope, whatever the request asks for", async () => {
        const expected = TENANT_JOBS.filter((j) => visible(actor, j, "list"))
          .map((j) => j.job_id)
          .sort();
        const otherDomain = DOMAINS.find((d) => d !== actor.domain) as string;
        const requests = [
          {},
          { query: { page: { limit: 100 } } },
          { workspace_id: "ws-2" },
          { workspace_id: "*" },
          { query: { filter: [{ k: "domain_id", v: otherDomain, o: "eq" }] } },
          {
            query: {
              filter_or: [
                { k: "domain_id", v: otherDomain, o: "eq" },
                { k: "workspace_id", v: ["ws-1", "ws-2", "*"], o: "in" },
              ],
            },
          },
          { query: { keyword: "job" } },
          { query: { count_only: true } },
        ];
        for (const request of requests) {
          const answer = await call("list", request, token(), h);
          expect(answer.status, JSON.stringify(answer.json)).toBe(200);
          const ids = ((answer.json.results ?? []) as { job_id: string }[]).map((r) => r.job_id).sort();
          for (const id of ids) expect(expected, `${id} leaked for ${JSON.stringify(request)}`).toContain(id);
          expect(answer.json.total_count ?? 0).toBeLessThanOrEqual(expected.length);
        }
        const all = await call("list", {}, token(), h);
        expect(((all.json.results ?? []) as { job_id: string }[]).map((r) => r.job_id).sort()).toEqual(
          expected,
        );
        expect(all.json.total_count ?? 0).toBe(expected.length);
      });

      it("stat: groups, counts and distinct values come from the scope only", async () => {
        const expected = TENANT_JOBS.filter((j) => visible(actor, j, "stat"));
        const grouped = await call(
          "stat",
          {
            query: {
              aggregate: [
                {
                  group: {
                    keys: [
                      { key: "domain_id", name: "d" },
                      { key: "workspace_id", name: "w" },
                    ],
                    fields: [{ name: "n", operator: "count" }],
                  },
                },
              ],
            },
          },
          token(),
          h,
        );
        expect(grouped.status, JSON.stringify(grouped.json)).toBe(200);
        const rows = grouped.json.results as { d: string; w: string; n: number }[];
        for (const row of rows)
          expect(visible(actor, { domain_id: row.d, workspace_id: row.w }, "stat")).toBe(true);
        expect(rows.reduce((sum, r) => sum + r.n, 0)).toBe(expected.length);
        const counted = await call("stat", { query: { aggregate: [{ count: { name: "n" } }] } }, token(), h);
        expect(counted.json.results).toEqual(expected.length === 0 ? [] : [{ n: expected.length }]);
        const distinct = await call(
          "stat",
          { query: { distinct: "job_id", page: { limit: 100 } } },
          token(),
          h,
        );
        expect((distinct.json.results as string[]).sort()).toEqual(expected.map((j) => j.job_id).sort());
        expect(distinct.json.total_count).toBe(expected.length);
      });

      it("list_events: the timeline of jobs in scope only", async () => {
        for (const job of TENANT_JOBS) {
          const answer = await call("list_events", { job_id: job.job_id }, token(), h);
          expect(answer.status, `${job.job_id}: ${JSON.stringify(answer.json)}`).toBe(
            visible(actor, job, "list_events") ? 200 : 404,
          );
        }
      });

      it("delete, cancel, start outside the scope (or without the right) change nothing", async () => {
        for (const method of ["delete", "cancel", "start"] as const) {
          for (const job of TENANT_JOBS) {
            const permitted = allowed(actor, method);
            if (permitted && visible(actor, job, method)) continue; // a legitimate write: not this test's concern
            const before = await snapshot();
            const answer = await call(method, { job_id: job.job_id }, token(), h);
            counts.refusedWrites++;
            expect(answer.status, `${method} ${job.job_id}: ${JSON.stringify(answer.json)}`).toBe(
              permitted ? 404 : 403,
            );
            expect(await snapshot(), `${method} ${job.job_id} changed the database`).toBe(before);
          }
        }
      });

      it("create: lands inside the caller's scope, or is refused without a trace", async () => {
        for (const [resourceGroup, workspace] of [
          ["WORKSPACE", "ws-2"],
          ["WORKSPACE", "ws-1"],
          ["DOMAIN", ""],
        ] as const) {
          const before = await snapshot();
          const answer = await call(
            "create",
            {
              trusted_account_id: "ta-tenancy",
              resource_group: resourceGroup,
              workspace_id: workspace || undefined,
            },
            token(),
            h,
          );
          if (answer.status !== 200) {
            expect([400, 403, 404], JSON.stringify(answer.json)).toContain(answer.status);
            expect(await snapshot()).toBe(before);
            counts.refusedWrites++;
            continue;
          }
          expect(allowed(actor, "create")).toBe(true);
          const created = answer.json as { job_id: string; domain_id: string; workspace_id: string };
          expect(created.domain_id).toBe(actor.domain);
          if (actor.workspace !== null) expect(created.workspace_id).toBe(actor.workspace);
          // Leave the database as the other cases expect it.
          await server.sql("DELETE FROM jobs WHERE job_id = ?", [created.job_id]);
        }
      });
    });

    describe("tokens that must not get in", () => {
      const bodies: Record<Method, unknown> = {
        get: { job_id: "job-a-ws-1-0" },
        list: {},
        stat: { query: { aggregate: [{ count: { name: "n" } }] } },
        delete: { job_id: "job-a-ws-1-0" },
        create: { trusted_account_id: "ta-x", resource_group: "DOMAIN" },
        start: { job_id: "job-a-ws-1-0" },
        cancel: { job_id: "job-a-ws-1-0" },
        list_events: { job_id: "job-a-ws-1-0" },
      };
      const methods = Object.keys(bodies) as Method[];

      it("forged, expired, wrong-algorithm, alg none, malformed: unauthenticated on every rpc, nothing changes", async () => {
        const before = await snapshot();
        for (const [name, token] of Object.entries(forged.refused)) {
          for (const method of methods) {
            for (const headers of [{}, { x_domain_id: "domain-a" }] as Record<string, string>[]) {
              const answer = await call(method, bodies[method], token, headers);
              expect(answer.status, `${name} ${method}: ${JSON.stringify(answer.json)}`).toBe(401);
              expect(answer.json.code).toBe("unauthenticated");
            }
          }
        }
        // No token, and a Bearer header with each forged token, too.
        for (const method of methods) {
          expect((await call(method, bodies[method], "")).status).toBe(401);
        }
        expect(await snapshot()).toBe(before);
      });

      it("roles that may call nothing: permission_denied on every rpc", async () => {
        const before = await snapshot();
        for (const [name, token] of Object.entries(forged.powerless)) {
          for (const method of methods) {
            const answer = await call(method, bodies[method], token);
            expect(answer.status, `${name} ${method}: ${JSON.stringify(answer.json)}`).toBe(403);
          }
        }
        expect(await snapshot()).toBe(before);
      });

      it("a system token naming no domain is refused on every rpc: no call spans tenants", async () => {
        const before = await snapshot();
        for (const method of methods) {
          const answer = await call(method, bodies[method], forged.systemWithoutDomain);
          expect(answer.status, `${method}: ${JSON.stringify(answer.json)}`).toBe(400);
          expect(answer.json.code).toBe("invalid_argument");
          expect(JSON.stringify(answer.json)).not.toContain("job-");
        }
        expect(await snapshot()).toBe(before);
      });
    });
  }
});
