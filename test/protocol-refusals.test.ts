/**
 * Unknown methods and unusable requests are answered in the caller's protocol: a gRPC client reads
 * UNIMPLEMENTED from the trailers, a Connect client reads a Connect error body, a REST caller a
 * SpaceONE error; and nobody gets an empty body.
 */
import http2 from "node:http2";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import { startTestServer, type TestServer } from "./support/server.js";

let server: TestServer;
let token: string;
beforeAll(async () => {
  server = await startTestServer();
  token = await server.token("DOMAIN_ADMIN");
});
afterAll(() => server.close());

const UNKNOWN = "/spaceone.api.identity.v2.Job/nope";

describe("unknown methods", () => {
  it("gRPC (grpc-js): UNIMPLEMENTED with the method named", async () => {
    const client = new grpc.Client(server.url.replace("http://", ""), grpc.credentials.createInsecure());
    const err = await new Promise<grpc.ServiceError>((resolve) =>
      client.makeUnaryRequest(
        UNKNOWN,
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.alloc(0),
        (e) => resolve(e as grpc.ServiceError),
      ),
    );
    client.close();
    expect(err.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(err.details).toBe(`unknown method ${UNKNOWN}`);
  });

  it("gRPC over raw HTTP/2: 200, grpc-status 12 in the trailers", async () => {
    const session = http2.connect(server.url);
    const stream = session.request({
      ":method": "POST",
      ":path": UNKNOWN,
      "content-type": "application/grpc",
      te: "trailers",
    });
    stream.end(Buffer.from([0, 0, 0, 0, 0]));
    const [headers, trailers] = await Promise.all([
      new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once("response", resolve)),
      new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once("trailers", resolve)),
      new Promise<void>((resolve) => {
        stream.resume();
        stream.once("end", resolve);
      }),
    ]);
    session.close();
    expect(headers[":status"]).toBe(200);
    expect(headers["content-type"]).toBe("application/grpc");
    expect(trailers["grpc-status"]).toBe("12");
  });

  it.each([
    ["gRPC (connect-node)", () => createGrpcTransport({ baseUrl: server.url })],
    ["gRPC-Web", () => createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1" })],
    ["Connect", () => createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" })],
  ])("%s client: Code.Unimplemented", async (_name, transport) => {
    // A service this server does not serve, called through a generated client of it.
    const { Domain } = await import("../gen/spaceone/api/identity/v2/domain_pb.js");
    const err = await createClient(Domain, transport())
      .get_public_key({ domainId: "d" }, { headers: { token } })
      .catch((e: unknown) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.Unimplemented);
  });

  it("Connect JSON with curl: 404 and a Connect error body", async () => {
    const res = await fetch(`${server.url}${UNKNOWN}`, {
      method: "POST",
      headers: { "content-type": "application/json", token },
      body: "{}",
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ code: "unimplemented", message: `unknown method ${UNKNOWN}` });
  });

  it("a REST path that does not exist stays a SpaceONE 404", async () => {
    const res = await fetch(`${server.url}/identity/v2/job/nope`, { method: "POST", body: "{}" });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { detail: { code: string } }).detail.code).toBe("ERROR_UNSUPPORTED_API");
  });
});

describe("known methods, unusable requests", () => {
  it("Connect GET of a method with side effects: 405, Allow: POST, a Connect error body", async () => {
    const message = encodeURIComponent(JSON.stringify({ job_id: "job-a01" }));
    const res = await fetch(
      `${server.url}/spaceone.api.identity.v2.Job/get?connect=v1&encoding=json&message=${message}`,
      { headers: { token } },
    );
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe("unimplemented");
    expect(body.message).toContain("POST");
  });

  it.each([
    ["no content type", undefined],
    ["text/plain", "text/plain"],
    ["application/xml", "application/xml"],
  ])("%s on a method's path: 415 naming the accepted types", async (_name, type) => {
    const res = await fetch(`${server.url}/spaceone.api.identity.v2.Job/get`, {
      method: "POST",
      headers: type ? { "content-type": type, token } : { token },
      body: new TextEncoder().encode('{"job_id":"job-a01"}'),
    });
    expect(res.status).toBe(415);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe("invalid_argument");
    expect(body.message).toContain("application/json, application/proto");
    expect(body.message).toContain("application/grpc");
    expect(res.headers.get("accept-post")).toContain("application/json");
  });

  it("health and reflection need no token; every Job call still does", async () => {
    const health = createClient(Health, createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }));
    expect((await health.check({ service: "" })).status).toBe(1);
    const res = await fetch(`${server.url}/spaceone.api.identity.v2.Job/get`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"job_id":"job-a01"}',
    });
    expect(res.status).toBe(401);
  });
});
