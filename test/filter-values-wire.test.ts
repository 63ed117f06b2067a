/**
 * Filter values over every protocol: a value outside an enum matches nothing (as upstream), a wrong
 * JSON type stays invalid_argument, and an empty google.protobuf.Value (what binary clients send for
 * null) is null, never `internal`.
 */
import { create } from "@bufbuild/protobuf";
import { type Value, ValueSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Filter, FilterSchema } from "../gen/spaceone/api/core/v2/query_pb.js";
import { Job } from "../gen/spaceone/api/identity/v2/job_pb.js";
import { JOBS } from "./support/fixture.js";
import { type GrpcJsJobClient, grpcJsJobClient } from "./support/grpc-js-client.js";
import { startTestServer, type TestServer } from "./support/server.js";

let server: TestServer;
let token: string;
let grpcJs: GrpcJsJobClient;

beforeAll(async () => {
  server = await startTestServer();
  token = await server.token("DOMAIN_ADMIN");
  grpcJs = grpcJsJobClient(server.url, token);
});
afterAll(async () => {
  grpcJs.close();
  await server.close();
});

const domainA = JOBS.filter((j) => j.domain_id === "domain-a");
const unfinished = domainA
  .filter((j) => j.finished_at === null)
  .map((j) => j.job_id)
  .sort();
const failures = domainA
  .filter((j) => j.status === "FAILURE")
  .map((j) => j.job_id)
  .sort();

function filter(k: string, v: Value, o: string): Filter {
  return create(FilterSchema, {
    keyAlias: { case: "k", value: k },
    valueAlias: { case: "v", value: v },
    operatorAlias: { case: "o", value: o },
  });
}

const clients = () => ({
  grpc: createClient(Job, createGrpcTransport({ baseUrl: server.url })),
  connectBinary: createClient(
    Job,
    createConnectTransport({ baseUrl: server.url, httpVersion: "1.1", useBinaryFormat: true }),
  ),
  connectJson: createClient(Job, createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" })),
});
const headers = () => ({ token });

async function restList(body: object) {
  const res = await fetch(`${server.url}/identity/v2/job/list`, {
    method: "POST",
    headers: { "content-type": "application/json", token },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    body: (await res.json()) as {
      results?: { job_id: string }[];
      detail?: { code: string; message: string };
    },
  };
}

describe("a value outside an enum matches nothing", () => {
  it("fixture sanity: some jobs failed, some are unfinished", () => {
    expect(failures.length).toBeGreaterThan(0);
    expect(unfinished.length).toBeGreaterThan(0);
  });

  it.each(["grpc", "connectBinary", "connectJson"] as const)(
    "%s: eq ERROR is empty, in [FAILURE, ERROR] is the failures",
    async (name) => {
      const client = clients()[name];
      const none = await client.list(
        {
          query: {
            filter: [
              filter("status", create(ValueSchema, { kind: { case: "stringValue", value: "ERROR" } }), "eq"),
            ],
          },
        },
        { headers: headers() },
      );
      expect(none.results).toEqual([]);
      const list = create(ValueSchema, {
        kind: {
          case: "listValue",
          value: {
            values: ["FAILURE", "ERROR"].map((s) =>
              create(ValueSchema, { kind: { case: "stringValue", value: s } }),
            ),
          },
        },
      });
      const some = await client.list(
        { query: { filter: [filter("status", list, "in")] } },
        { headers: headers() },
      );
      expect(some.results.map((j) => j.jobId).sort()).toEqual(failures);
    },
  );

  it("grpc-js (proto-loader) sends the upstream example unchanged", async () => {
    const answer = await grpcJs.call("list", {
      query: { filter: [{ k: "status", v: { string_value: "ERROR" }, o: "eq" }] },
    });
    expect(answer.results ?? []).toEqual([]);
  });

  it("REST: the console's JSON", async () => {
    const none = await restList({ query: { filter: [{ k: "status", v: "ERROR", o: "eq" }] } });
    expect([none.status, none.body.results ?? []]).toEqual([200, []]);
    const some = await restList({ query: { filter: [{ k: "status", v: ["FAILURE", "ERROR"], o: "in" }] } });
    expect(some.body.results?.map((j) => j.job_id).sort()).toEqual(failures);
  });

  it("a wrong JSON type for an enum stays invalid_argument naming the field, on every protocol", async () => {
    const rest = await restList({ query: { filter: [{ k: "status", v: 3, o: "eq" }] } });
    expect(rest.status).toBe(400);
    expect(rest.body.detail?.message).toContain("query.filter[0]");
    for (const client of Object.values(clients())) {
      const err = await client
        .list(
          {
            query: {
              filter: [
                filter("status", create(ValueSchema, { kind: { case: "numberValue", value: 3 } }), "eq"),
              ],
            },
          },
          { headers: headers() },
        )
        .catch((e: unknown) => ConnectError.from(e));
      expect(err).toBeInstanceOf(ConnectError);
      expect((err as ConnectError).code).toBe(Code.InvalidArgument);
      expect((err as ConnectError).rawMessage).toContain("query.filter[0]");
    }
  });
});

describe("an empty google.protobuf.Value is null", () => {
  it("grpc-js: {k: finished_at, v: {}, o: eq} lists the unfinished jobs, as null does over REST", async () => {
    const answer = await grpcJs.call("list", { query: { filter: [{ k: "finished_at", v: {}, o: "eq" }] } });
    expect(answer.results.map((j: { job_id: string }) => j.job_id).sort()).toEqual(unfinished);
    const rest = await restList({ query: { filter: [{ k: "finished_at", v: null, o: "eq" }] } });
    expect(rest.body.results?.map((j) => j.job_id).sort()).toEqual(unfinished);
  });

  it.each(["grpc", "connectBinary"] as const)(
    "%s: list and stat with an empty Value answer, never internal",
    async (name) => {
      const client = clients()[name];
      const empty = create(ValueSchema);
      const list = await client.list(
        { query: { filter: [filter("finished_at", empty, "eq")] } },
        { headers: headers() },
      );
      expect(list.results.map((j) => j.jobId).sort()).toEqual(unfinished);
      const stat = await client.stat(
        { query: { filter: [filter("finished_at", create(ValueSchema), "eq")], distinct: "job_id" } },
        { headers: headers() },
      );
      expect(JSON.stringify(stat)).toContain(unfinished[0]);
    },
  );

  it("a NaN inside a binary Value is invalid_argument naming the field", async () => {
    const nan = create(ValueSchema, { kind: { case: "numberValue", value: Number.NaN } });
    const err = await clients()
      .grpc.list({ query: { filter: [filter("options.n", nan, "eq")] } }, { headers: headers() })
      .catch((e: unknown) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toContain("query.filter[0].v");
  });
});
