/**
 * The service over real HTTP on an ephemeral port: every verb on Connect JSON (HTTP/1.1), Connect
 * binary (h2c), gRPC, gRPC-Web, the REST aliases and an independent @grpc/grpc-js client; the role x
 * scope matrix; errors on each wire.
 */
import { fromJson, toJson } from "@bufbuild/protobuf";
import { StructSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Job,
  JobInfo_Status,
  JobStatQuerySchema,
  JobsQuery_JobStatus,
  JobsQuerySchema,
} from "../gen/spaceone/api/identity/v2/job_pb.js";
import { JOBS } from "./support/fixture.js";
import { grpcJsJobClient } from "./support/grpc-js-client.js";
import { startTestServer, type TestServer } from "./support/server.js";

let server: TestServer;
let adminToken: string;
const domainA = JOBS.filter((j) => j.domain_id === "domain-a");

beforeAll(async () => {
  server = await startTestServer();
  adminToken = await server.token("DOMAIN_ADMIN");
});
afterAll(async () => server?.close());

const transports: Record<string, (baseUrl?: string) => Transport> = {
  "Connect JSON / HTTP/1.1": (baseUrl = server.url) =>
    createConnectTransport({ baseUrl, httpVersion: "1.1" }),
  "Connect binary / h2c": (baseUrl = server.url) =>
    createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true }),
  gRPC: (baseUrl = server.url) => createGrpcTransport({ baseUrl }),
  "gRPC-Web": (baseUrl = server.url) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }),
};

async function connectCode(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (e) {
    return ConnectError.from(e);
  }
  throw new Error("expected the call to fail");
}

describe.each(Object.entries(transports))("%s", (_name, makeTransport) => {
  it("get, list with a query, not_found, unauthenticated", async () => {
    const client = createClient(Job, makeTransport());
    const headers = { token: adminToken };
    const job = await client.get({ jobId: "job-a02" }, { headers });
    expect(job.jobId).toBe("job-a02");
    expect(job.status).toBe(JobInfo_Status.FAILURE);
    expect(job.options).toMatchObject({ provider: "aws", retry: 2 });
    expect(job.createdAt).toBe("2026-03-02T00:00:00.000Z");

    const list = await client.list(
      {
        status: JobsQuery_JobStatus.FAILURE,
        query: { sort: [{ key: "created_at", desc: true }], page: { start: 1, limit: 1 } },
      },
      { headers },
    );
    expect(list.totalCount).toBe(domainA.filter((j) => j.status === "FAILURE").length);
    expect(list.results.map((r) => r.jobId)).toEqual(["job-a02"]);

    const missing = await connectCode(client.get({ jobId: "job-b01" }, { headers }));
    expect(missing.code).toBe(Code.NotFound);
    expect(missing.rawMessage).toMatch(/^ERROR_NOT_FOUND: Resource cannot be found or access is denied\./);

    const anonymous = await connectCode(client.list({}));
    expect(anonymous.code).toBe(Code.Unauthenticated);
    expect(anonymous.rawMessage).toMatch(/^ERROR_AUTHENTICATE_FAILURE: /);

    const stat = await client.stat(
      fromJson(JobStatQuerySchema, {
        query: {
          aggregate: [
            {
              group: {
                keys: [{ key: "status", name: "status" }],
                fields: [{ operator: "count", name: "n" }],
              },
            },
            { sort: [{ key: "status" }] },
          ],
        },
      }),
      { headers },
    );
    const counts = new Map<string, number>();
    for (const j of domainA) counts.set(j.status, (counts.get(j.status) ?? 0) + 1);
    expect(toJson(StructSchema, stat)).toEqual({
      results: [...counts.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([status, n]) => ({ status, n })),
    });

    const bad = await connectCode(
      client.list(fromJson(JobsQuerySchema, { query: { filter: [{ k: "status", v: "x", o: "like" }] } }), {
        headers,
      }),
    );
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.rawMessage).toContain("query.filter[0].operator");
  });
});

// biome-ignore lint/suspicious/noExplicitAny: REST answers are arbitrary JSON, checked by the assertions
type Json = any;
const json = async (res: Response): Promise<Json> => res.json();

describe.each(Object.keys(transports))("delete over %s", (name) => {
  it("removes the job, then answers not_found", async () => {
    const own = await startTestServer();
    try {
      const client = createClient(Job, (transports[name] as (baseUrl: string) => Transport)(own.url));
      const headers = { token: await own.token("DOMAIN_ADMIN") };
      await client.delete({ jobId: "job-a05" }, { headers });
      expect((await connectCode(client.get({ jobId: "job-a05" }, { headers }))).code).toBe(Code.NotFound);
      expect((await connectCode(client.delete({ jobId: "job-a05" }, { headers }))).code).toBe(Code.NotFound);
      expect((await client.list({}, { headers })).totalCount).toBe(domainA.length - 1);
    } finally {
      await own.close();
    }
  });
});

describe("REST aliases", () => {
  const post = (p: string, body: unknown, token = adminToken) =>
    fetch(`${server.url}${p}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  it("answer with proto field names on both prefixes and accept camelCase input", async () => {
    for (const prefix of ["/identity/v2/job", "/identity/job"]) {
      const res = await post(`${prefix}/list`, {
        trustedAccountId: "ta-az-1",
        query: { only: ["job_id", "status"] },
      });
      expect(res.status).toBe(200);
      const body = await json(res);
      expect(body.total_count).toBe(2);
      expect(body.results).toEqual([
        { job_id: "job-a03", status: "IN_PROGRESS" },
        { job_id: "job-a05", status: "CANCELED" },
      ]);
      const got = await json(await post(`${prefix}/get`, { job_id: "job-a04" }));
      expect(got).toMatchObject({
        job_id: "job-a04",
        workspace_id: "*",
        resource_group: "DOMAIN",
        status: "PENDING",
      });
      expect(got).not.toHaveProperty("finished_at");
    }
  });

  it("stat answers a Struct with results and, when paged, total_count", async () => {
    const res = await post("/identity/v2/job/stat", {
      query: {
        filter: [{ k: "status", v: "FAILURE", o: "eq" }],
        aggregate: [
          {
            group: {
              keys: [{ key: "trusted_account_id", name: "ta" }],
              fields: [{ operator: "count", name: "n" }],
            },
          },
          { sort: [{ key: "n", desc: true }, { key: "ta" }] },
        ],
        page: { start: 1, limit: 1 },
      },
    });
    expect(res.status).toBe(200);
    const failures = domainA.filter((j) => j.status === "FAILURE");
    const perAccount = new Map<string, number>();
    for (const j of failures)
      perAccount.set(j.trusted_account_id, (perAccount.get(j.trusted_account_id) ?? 0) + 1);
    const [top] = [...perAccount.entries()].sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
    expect(await json(res)).toEqual({
      results: [{ ta: top?.[0], n: top?.[1] }],
      total_count: perAccount.size,
    });
    const distinct = await json(await post("/identity/job/stat", { query: { distinct: "plugin_id" } }));
    expect(distinct).toEqual({
      results: [...new Set(domainA.map((j) => j.plugin_id).filter((p) => p !== null))].sort(),
    });
    const missing = await post("/identity/v2/job/stat", { query: {} });
    expect(missing.status).toBe(400);
    expect((await json(missing)).detail.code).toBe("ERROR_REQUIRED_PARAMETER");
  });

  it("errors use SpaceONE's body and status", async () => {
    const res = await post("/identity/v2/job/get", { job_id: "job-nope" });
    expect(res.status).toBe(404);
    const body = await json(res);
    expect(body.detail.code).toBe("ERROR_NOT_FOUND");
    expect(body.detail.message).toContain("job-nope");

    const missing = await post("/identity/v2/job/get", {});
    expect(missing.status).toBe(400);
    expect((await json(missing)).detail).toEqual({
      code: "ERROR_REQUIRED_PARAMETER",
      message: "Required parameter. (key = job_id)",
    });

    const unknownField = await post("/identity/v2/job/list", { query: { nope: 1 } });
    expect(unknownField.status).toBe(400);

    const forged = await post("/identity/v2/job/list", {}, `${adminToken.slice(0, -4)}AAAA`);
    expect(forged.status).toBe(401);
    expect((await json(forged)).detail.code).toBe("ERROR_AUTHENTICATE_FAILURE");
  });
});

describe("independent @grpc/grpc-js client from the .proto files", () => {
  it("reads jobs and sees SpaceONE error details", async () => {
    const { call, close } = grpcJsJobClient(server.url, adminToken);
    const job = await call("get", { job_id: "job-a03" });
    expect(job).toMatchObject({ job_id: "job-a03", status: "IN_PROGRESS", workspace_id: "ws-2" });
    const list = await call("list", { plugin_id: "plugin-azure" });
    expect(list.total_count).toBe(2);
    const err = await call("get", { job_id: "job-zzz" }).catch((e: grpc.ServiceError) => e);
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(err.details).toMatch(/^ERROR_NOT_FOUND: /);
    close();
  });
});

describe("roles and scopes", () => {
  const listIds = async (
    token: string,
    body: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) => {
    const client = createClient(Job, transports["Connect JSON / HTTP/1.1"]?.() as Transport);
    const res = await client.list(body, { headers: { token, ...headers } });
    return { ids: res.results.map((r) => r.jobId).sort(), total: res.totalCount };
  };
  const expectedIds = (pred: (j: (typeof JOBS)[number]) => boolean) =>
    JOBS.filter(pred)
      .map((j) => j.job_id)
      .sort();

  it("a domain admin sees the whole domain, and a workspace plus domain jobs when it asks for one", async () => {
    expect((await listIds(adminToken)).ids).toEqual(expectedIds((j) => j.domain_id === "domain-a"));
    expect((await listIds(adminToken, { workspaceId: "ws-1" })).ids).toEqual(
      expectedIds((j) => j.domain_id === "domain-a" && ["ws-1", "*"].includes(j.workspace_id)),
    );
  });

  it("workspace users see their workspace and domain-level jobs, and cannot re-scope", async () => {
    for (const role of ["WORKSPACE_OWNER", "WORKSPACE_MEMBER"] as const) {
      const token = await server.token(role, "domain-a", "ws-2");
      const want = expectedIds((j) => j.domain_id === "domain-a" && ["ws-2", "*"].includes(j.workspace_id));
      const seen = await listIds(token);
      expect(seen.ids).toEqual(want);
      expect(seen.total).toBe(want.length);
      expect((await listIds(token, { workspaceId: "ws-1" })).ids).toEqual(want);
      // A filter cannot widen the scope either.
      const widen = fromJson(JobsQuerySchema, {
        query: { filter_or: [{ k: "workspace_id", v: "ws-1", o: "eq" }] },
      });
      expect((await listIds(token, widen as never)).ids).toEqual([]);
      const client = createClient(Job, transports["Connect JSON / HTTP/1.1"]?.() as Transport);
      const other = await connectCode(client.get({ jobId: "job-a01" }, { headers: { token } }));
      expect(other.code).toBe(Code.NotFound);
      expect((await client.get({ jobId: "job-a04" }, { headers: { token } })).workspaceId).toBe("*");
    }
  });

  it("another domain is invisible, even by id and even with x_domain_id on an access token", async () => {
    const token = await server.token("DOMAIN_ADMIN", "domain-b");
    expect((await listIds(token)).ids).toEqual(expectedIds((j) => j.domain_id === "domain-b"));
    expect((await listIds(token, {}, { x_domain_id: "domain-a" })).ids).toEqual(
      expectedIds((j) => j.domain_id === "domain-b"),
    );
    const client = createClient(Job, transports["Connect JSON / HTTP/1.1"]?.() as Transport);
    expect((await connectCode(client.get({ jobId: "job-a01" }, { headers: { token } }))).code).toBe(
      Code.NotFound,
    );
    expect((await connectCode(client.delete({ jobId: "job-a01" }, { headers: { token } }))).code).toBe(
      Code.NotFound,
    );
  });

  it("system tokens act for the domain named in x_domain_id", async () => {
    const token = await server.systemToken();
    expect((await listIds(token, {}, { x_domain_id: "domain-b" })).ids).toEqual(
      expectedIds((j) => j.domain_id === "domain-b"),
    );
    expect((await listIds(token, {}, { x_domain_id: "domain-a", x_workspace_id: "ws-1" })).ids).toEqual(
      expectedIds((j) => j.domain_id === "domain-a" && ["ws-1", "*"].includes(j.workspace_id)),
    );
  });

  it("roles outside the method's list and missing permissions are permission_denied", async () => {
    const client = createClient(Job, transports["Connect JSON / HTTP/1.1"]?.() as Transport);
    for (const role of ["USER", "SYSTEM_ADMIN"] as const) {
      const token = await server.token(role, "domain-a", role === "USER" ? "ws-1" : undefined);
      expect((await connectCode(client.list({}, { headers: { token } }))).code).toBe(Code.PermissionDenied);
    }
    const member = await server.token("WORKSPACE_MEMBER", "domain-a", "ws-1");
    const denied = await connectCode(client.delete({ jobId: "job-a01" }, { headers: { token: member } }));
    expect(denied.code).toBe(Code.PermissionDenied);
    expect(denied.rawMessage).toBe("ERROR_PERMISSION_DENIED: Permission denied.");
    const readOnly = await server.token("DOMAIN_ADMIN", "domain-a", undefined, {
      permissions: ["identity:Job.read"],
    });
    expect((await client.list({}, { headers: { token: readOnly } })).totalCount).toBe(domainA.length);
    expect(
      (await connectCode(client.delete({ jobId: "job-a01" }, { headers: { token: readOnly } }))).code,
    ).toBe(Code.PermissionDenied);
    const prefix = await server.token("DOMAIN_ADMIN", "domain-a", undefined, {
      permissions: ["identity:Job"],
    });
    expect((await client.list({}, { headers: { token: prefix } })).totalCount).toBe(domainA.length);
  });
});

describe("delete", () => {
  it("follows the role rules: owners delete their workspace's jobs, never domain-level ones", async () => {
    const own = await startTestServer();
    try {
      const client = createClient(Job, createConnectTransport({ baseUrl: own.url, httpVersion: "1.1" }));
      const owner = { token: await own.token("WORKSPACE_OWNER", "domain-a", "ws-1") };
      const admin = { token: await own.token("DOMAIN_ADMIN") };
      expect((await connectCode(client.delete({ jobId: "job-a04" }, { headers: owner }))).code).toBe(
        Code.NotFound,
      );
      expect((await connectCode(client.delete({ jobId: "job-a03" }, { headers: owner }))).code).toBe(
        Code.NotFound,
      );
      await client.delete({ jobId: "job-a01" }, { headers: owner });
      expect((await connectCode(client.get({ jobId: "job-a01" }, { headers: admin }))).code).toBe(
        Code.NotFound,
      );
      await client.delete({ jobId: "job-a04" }, { headers: admin });
      const rest = await fetch(`${own.url}/identity/v2/job/delete`, {
        method: "POST",
        headers: { authorization: `Bearer ${admin.token}` },
        body: JSON.stringify({ job_id: "job-a02" }),
      });
      expect(rest.status).toBe(200);
      expect(await json(rest)).toEqual({});
      expect((await client.list({}, { headers: admin })).totalCount).toBe(domainA.length - 3);
    } finally {
      await own.close();
    }
  });
});
