/**
 * The wire layer over real sockets: one port serving Connect (JSON and binary), gRPC, gRPC-Web and an
 * independent gRPC implementation (@grpc/grpc-js), error encoding, limits, deadlines and the graceful
 * drain. The Job service here is a stub: storage and auth are tested elsewhere.
 */
import http2 from "node:http2";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { create, fromJson } from "@bufbuild/protobuf";
import { StructSchema } from "@bufbuild/protobuf/wkt";
import {
  Code,
  ConnectError,
  createClient,
  createContextKey,
  createContextValues,
  type ServiceImpl,
} from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Job,
  JobInfo_Status,
  JobInfoSchema,
  JobsInfoSchema,
} from "../gen/spaceone/api/identity/v2/job_pb.js";
import { errors } from "../src/errors.js";
import { createErrorInterceptor, errorCodeHeader, toConnectError } from "../src/wire/errors.js";
import { restRoutes } from "../src/wire/rest.js";
import { type RunningServer, startServer } from "../src/wire/server.js";
import { createWireHandler } from "../src/wire/wire-handler.js";
import { h2Exchange } from "./support/http-client.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const readMaxBytes = 64 * 1024;
const maxTimeoutMs = 5_000;
const jobProcedure = "/spaceone.api.identity.v2.Job";

const httpVersionKey = createContextKey("", { description: "HTTP version of the request" });

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });

/** Stub Job service: `get` knows "job-1"; `list` with job_id "slow" takes 300 ms, "very-slow" 3 s. */
const stub: ServiceImpl<typeof Job> = {
  async get(req, ctx) {
    if (req.jobId === "boom") throw new Error("db password is hunter2");
    if (req.jobId !== "job-1") throw toConnectError(errors.notFound("job_id", req.jobId));
    return create(JobInfoSchema, {
      jobId: "job-1",
      status: JobInfo_Status.SUCCESS,
      domainId: "domain-1",
      pluginId: `http/${ctx.values.get(httpVersionKey)}`,
      options: { a: 1 },
    });
  },
  async list(req, ctx) {
    if (req.jobId === "slow") await sleep(300, ctx.signal);
    if (req.jobId === "very-slow") await sleep(3_000, ctx.signal);
    return create(JobsInfoSchema, { results: [{ jobId: req.jobId || "job-1" }], totalCount: 1 });
  },
  async delete(req) {
    // A raw SpaceOneError: the error interceptor must encode it.
    throw errors.requiredParameter(req.jobId === "" ? "job_id" : "other");
  },
  async stat() {
    return fromJson(StructSchema, { results: [] });
  },
};

interface Started {
  server: RunningServer;
  unknownErrors: unknown[];
}

async function startStub(shutdownGraceMs = 5_000): Promise<Started> {
  const unknownErrors: unknown[] = [];
  const { handler } = createWireHandler({
    services: [{ service: Job, impl: stub }],
    readMaxBytes,
    maxTimeoutMs,
    jsonOptions: { useProtoFieldName: true },
    interceptors: [createErrorInterceptor((err) => unknownErrors.push(err))],
    contextValues: (req) => createContextValues().set(httpVersionKey, req.httpVersion),
    restRoutes: restRoutes(Job),
  });
  const server = await startServer({
    handler,
    host: "127.0.0.1",
    port: 0,
    shutdownGraceMs,
  });
  return { server, unknownErrors };
}

function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** A @grpc/grpc-js client built from the .proto files, independent of the generated TS code. */
function grpcJsClient(port: number) {
  const definition = protoLoader.loadSync("spaceone/api/identity/v2/job.proto", {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: false,
    includeDirs: [
      path.join(root, "proto"),
      path.join(root, "third_party"),
      path.join(root, "node_modules/google-proto-files"),
    ],
  });
  // biome-ignore lint/suspicious/noExplicitAny: loadPackageDefinition is untyped by design.
  const pkg = grpc.loadPackageDefinition(definition) as any;
  const client: grpc.Client = new pkg.spaceone.api.identity.v2.Job(
    `127.0.0.1:${port}`,
    grpc.credentials.createInsecure(),
  );
  const get = (request: object, options: grpc.CallOptions = {}) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      // biome-ignore lint/suspicious/noExplicitAny: dynamic method from the package definition.
      (client as any).get(
        request,
        new grpc.Metadata(),
        options,
        (err: Error | null, res: Record<string, unknown>) => (err ? reject(err) : resolve(res)),
      );
    });
  return { client, get };
}

async function expectConnectError(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectError);
    return err as ConnectError;
  }
  throw new Error("expected the call to fail");
}

describe("one port, every protocol", () => {
  let started: Started;
  let url: string;
  beforeAll(async () => {
    started = await startStub();
    url = started.server.url;
  });
  afterAll(() => started.server.close());

  it("answers Connect JSON over HTTP/1.1 with plain fetch, proto field names out", async () => {
    const res = await postJson(`${url}${jobProcedure}/get`, { job_id: "job-1" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    const body = await res.json();
    expect(body).toEqual({
      job_id: "job-1",
      status: "SUCCESS",
      domain_id: "domain-1",
      plugin_id: "http/1.1",
      options: { a: 1 },
    });
  });

  it("accepts camelCase input too, and emits snake_case total_count", async () => {
    const get = await postJson(`${url}${jobProcedure}/get`, { jobId: "job-1" });
    expect(await get.json()).toMatchObject({ job_id: "job-1" });
    const list = await postJson(`${url}${jobProcedure}/list`, { jobId: "job-9" });
    expect(await list.json()).toEqual({ results: [{ job_id: "job-9" }], total_count: 1 });
  });

  it("serves a generated Connect client over HTTP/1.1 (JSON) and h2c (binary)", async () => {
    const h1 = createClient(Job, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
    expect((await h1.get({ jobId: "job-1" })).pluginId).toBe("http/1.1");
    const h2 = createClient(
      Job,
      createConnectTransport({ baseUrl: url, httpVersion: "2", useBinaryFormat: true }),
    );
    const info = await h2.get({ jobId: "job-1" });
    expect(info.pluginId).toBe("http/2.0");
    expect(info.status).toBe(JobInfo_Status.SUCCESS);
  });

  it("serves gRPC and gRPC-Web", async () => {
    const grpcClient = createClient(Job, createGrpcTransport({ baseUrl: url }));
    expect((await grpcClient.get({ jobId: "job-1" })).pluginId).toBe("http/2.0");
    const web = createClient(Job, createGrpcWebTransport({ baseUrl: url, httpVersion: "1.1" }));
    expect((await web.get({ jobId: "job-1" })).pluginId).toBe("http/1.1");
    const stat = await grpcClient.stat({});
    expect(stat.fields.results?.kind.case).toBe("listValue");
  });

  it("serves an independent @grpc/grpc-js client", async () => {
    const { client, get } = grpcJsClient(started.server.port);
    try {
      const res = await get({ job_id: "job-1" });
      expect(res.job_id).toBe("job-1");
      expect(res.status).toBe("SUCCESS");
      expect(res.plugin_id).toBe("http/2.0");
    } finally {
      client.close();
    }
  });

  it("answers /healthz", async () => {
    const res = await fetch(`${url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("ok");
  });

  it("answers an unknown path with 404", async () => {
    const res = await postJson(`${url}/nope`, {});
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ detail: { code: "ERROR_UNSUPPORTED_API" } });
  });
});

describe("errors", () => {
  let started: Started;
  let url: string;
  beforeAll(async () => {
    started = await startStub();
    url = started.server.url;
  });
  afterAll(() => started.server.close());

  it("Connect: not_found with the SpaceONE details string as message and the code in a header", async () => {
    const res = await postJson(`${url}${jobProcedure}/get`, { job_id: "job-404" });
    expect(res.status).toBe(404);
    expect(res.headers.get(errorCodeHeader)).toBe("ERROR_NOT_FOUND");
    expect(await res.json()).toEqual({
      code: "not_found",
      message: "ERROR_NOT_FOUND: Resource cannot be found or access is denied. (job_id = job-404)",
    });
    const client = createClient(Job, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
    const err = await expectConnectError(client.get({ jobId: "job-404" }));
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage).toBe(
      "ERROR_NOT_FOUND: Resource cannot be found or access is denied. (job_id = job-404)",
    );
    expect(err.metadata.get(errorCodeHeader)).toBe("ERROR_NOT_FOUND");
  });

  it("gRPC (grpc-js): status NOT_FOUND, details 'ERROR_NOT_FOUND: ...', code in trailer metadata", async () => {
    const { client, get } = grpcJsClient(started.server.port);
    try {
      const err = (await get({ job_id: "job-404" }).then(
        () => {
          throw new Error("expected failure");
        },
        (e: grpc.ServiceError) => e,
      )) as grpc.ServiceError;
      expect(err.code).toBe(grpc.status.NOT_FOUND);
      expect(err.details).toBe(
        "ERROR_NOT_FOUND: Resource cannot be found or access is denied. (job_id = job-404)",
      );
      expect(err.metadata.get(errorCodeHeader)).toEqual(["ERROR_NOT_FOUND"]);
    } finally {
      client.close();
    }
  });

  it("a raw SpaceOneError thrown by a handler is encoded by the interceptor", async () => {
    const client = createClient(Job, createGrpcTransport({ baseUrl: url }));
    const err = await expectConnectError(client.delete({}));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toBe("ERROR_REQUIRED_PARAMETER: Required parameter. (key = job_id)");
  });

  it("an unexpected error becomes internal ERROR_UNKNOWN without its message, and is reported", async () => {
    const res = await postJson(`${url}${jobProcedure}/get`, { job_id: "boom" });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain("hunter2");
    expect(JSON.parse(text)).toEqual({ code: "internal", message: "ERROR_UNKNOWN: internal error" });
    expect(started.unknownErrors.some((e) => e instanceof Error && e.message.includes("hunter2"))).toBe(true);
  });

  it("a malformed JSON body is invalid_argument", async () => {
    const res = await postJson(`${url}${jobProcedure}/get`, "{not json");
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "invalid_argument" });
  });
});

describe("limits and deadlines", () => {
  let started: Started;
  let url: string;
  beforeAll(async () => {
    started = await startStub();
    url = started.server.url;
  });
  afterAll(() => started.server.close());

  it("rejects a body over readMaxBytes with resource_exhausted (Connect JSON, gRPC)", async () => {
    const big = "x".repeat(readMaxBytes + 1);
    const res = await postJson(`${url}${jobProcedure}/get`, { job_id: big });
    expect(res.status).toBe(429);
    expect(await res.json()).toMatchObject({ code: "resource_exhausted" });
    const client = createClient(Job, createGrpcTransport({ baseUrl: url }));
    const err = await expectConnectError(client.get({ jobId: big }));
    expect(err.code).toBe(Code.ResourceExhausted);
  });

  it("an oversized gRPC body does not leave the HTTP/2 stream hanging (grpc-js and connect-node)", async () => {
    // connect-node answers before reading the body; the server must then reset the half-open stream,
    // or the call stays in flight (and a graceful close waits for the whole grace period).
    const big = "y".repeat(readMaxBytes * 2);
    const { client, get } = grpcJsClient(started.server.port);
    try {
      const err = (await get({ job_id: big }).then(
        () => new Error("expected failure"),
        (e: grpc.ServiceError) => e,
      )) as grpc.ServiceError;
      expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    } finally {
      client.close();
    }
    const connectClient = createClient(Job, createGrpcTransport({ baseUrl: url }));
    expect((await expectConnectError(connectClient.get({ jobId: big }))).code).toBe(Code.ResourceExhausted);
    await waitFor(() => started.server.inFlight() === 0, 2_000);
  });

  it("rejects a gzip body that expands past readMaxBytes", async () => {
    const compressed = gzipSync(JSON.stringify({ job_id: "a".repeat(readMaxBytes * 4) }));
    expect(compressed.length).toBeLessThan(readMaxBytes / 8);
    const res = await fetch(`${url}${jobProcedure}/get`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
      body: compressed,
    });
    expect(res.status).toBe(429);
    expect(await res.json()).toMatchObject({ code: "resource_exhausted" });
    // The same encoding under the limit works, so the rejection is about size, not about gzip.
    const small = await fetch(`${url}${jobProcedure}/get`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
      body: gzipSync(JSON.stringify({ job_id: "job-1" })),
    });
    expect(small.status).toBe(200);
  });

  it("rejects a client deadline beyond maxTimeoutMs with invalid_argument", async () => {
    const client = createClient(Job, createGrpcTransport({ baseUrl: url }));
    const err = await expectConnectError(
      client.get({ jobId: "job-1" }, { timeoutMs: maxTimeoutMs + 10_000 }),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect((await client.get({ jobId: "job-1" }, { timeoutMs: maxTimeoutMs - 1_000 })).jobId).toBe("job-1");
  });

  it("a short client deadline on a slow call gives deadline_exceeded", async () => {
    const client = createClient(Job, createGrpcTransport({ baseUrl: url }));
    const err = await expectConnectError(client.list({ jobId: "slow" }, { timeoutMs: 50 }));
    expect(err.code).toBe(Code.DeadlineExceeded);
  });

  it("grpc-js: a deadline beyond maxTimeoutMs is INVALID_ARGUMENT", async () => {
    const { client, get } = grpcJsClient(started.server.port);
    try {
      const err = (await get({ job_id: "job-1" }, { deadline: Date.now() + maxTimeoutMs + 10_000 }).then(
        () => new Error("expected failure"),
        (e: grpc.ServiceError) => e,
      )) as grpc.ServiceError;
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    } finally {
      client.close();
    }
  });
});

describe("graceful shutdown", () => {
  it("drains ~20 in-flight calls over HTTP/1.1 and h2c, then refuses new connections", async () => {
    const { server } = await startStub();
    const h1 = createClient(Job, createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }));
    const h2 = createClient(Job, createConnectTransport({ baseUrl: server.url, httpVersion: "2" }));
    const calls = [
      ...Array.from({ length: 10 }, () => h1.list({ jobId: "slow" })),
      ...Array.from({ length: 10 }, () => h2.list({ jobId: "slow" })),
    ];
    await waitFor(() => server.inFlight() === 20);
    const closeStarted = Date.now();
    const closed = server.close();
    const results = await Promise.allSettled(calls);
    expect(results.map((r) => r.status)).toEqual(Array(20).fill("fulfilled"));
    for (const r of results) {
      if (r.status === "fulfilled") expect(r.value.results[0]?.jobId).toBe("slow");
    }
    await closed;
    // Well inside the 5 s grace period: the drain ended because the connections did, not the timer.
    expect(Date.now() - closeStarted).toBeLessThan(2_000);
    expect(server.inFlight()).toBe(0);
    const err = await connectError(server.port);
    expect(err.code).toBe("ECONNREFUSED");
  });

  it("HTTP/1.1: a busy keep-alive connection gets Connection: close, an idle one is closed", async () => {
    const { server } = await startStub();
    const idle = await rawH1(server.port, "job-1");
    expect(idle.response).toContain("HTTP/1.1 200");
    expect(idle.response.toLowerCase()).toContain("connection: keep-alive");
    const idleClosed = new Promise<void>((resolve) => idle.socket.once("close", () => resolve()));

    const busy = rawH1(server.port, "slow");
    await waitFor(() => server.inFlight() === 1);
    const closeStarted = Date.now();
    const closed = server.close();
    await idleClosed;
    const { response, socket } = await busy;
    expect(response).toContain("HTTP/1.1 200");
    expect(response.toLowerCase()).toContain("connection: close");
    await new Promise<void>((resolve) =>
      socket.destroyed ? resolve() : socket.once("close", () => resolve()),
    );
    await closed;
    // Well inside the 5 s grace period: the drain ended because the connections did, not the timer.
    expect(Date.now() - closeStarted).toBeLessThan(2_000);
  });

  it("HTTP/2: open sessions get GOAWAY and their streams still complete", async () => {
    const { server } = await startStub();
    const session = http2.connect(server.url);
    const goaway = new Promise<void>((resolve) => session.once("goaway", () => resolve()));
    const response = h2Exchange(session, {
      path: `${jobProcedure}/list`,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ job_id: "slow" }),
    });
    await waitFor(() => server.inFlight() === 1);
    const closeStarted = Date.now();
    const closed = server.close();
    await goaway;
    const { status, body } = await response;
    expect(status).toBe(200);
    expect(JSON.parse(body.toString()).total_count).toBe(1);
    await closed;
    // Well inside the 5 s grace period: the drain ended because the connections did, not the timer.
    expect(Date.now() - closeStarted).toBeLessThan(2_000);
    session.destroy();
  });

  it("destroys calls still running when the grace period ends", async () => {
    const { server } = await startStub(200);
    const client = createClient(Job, createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }));
    const call = client.list({ jobId: "very-slow" });
    await waitFor(() => server.inFlight() === 1);
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    const err = await expectConnectError(call);
    expect(err.code).toBeTypeOf("number");
  });
});

describe("connection sniffing", () => {
  let started: Started;
  beforeAll(async () => {
    started = await startStub();
  });
  afterAll(() => started.server.close());

  it("handles an HTTP/1.1 request arriving one byte at a time (and starting with 'P' like the h2 preface)", async () => {
    const body = JSON.stringify({ job_id: "job-1" });
    const request =
      `POST ${jobProcedure}/get HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
    const response = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(started.server.port, "127.0.0.1", async () => {
        for (const ch of request) {
          socket.write(ch);
          await sleep(1);
        }
      });
      let data = "";
      socket.on("data", (chunk: Buffer) => {
        data += chunk.toString();
      });
      socket.on("close", () => resolve(data));
      socket.on("error", reject);
    });
    expect(response).toMatch(/^HTTP\/1\.1 200/);
    expect(response).toContain('"job_id":"job-1"');
  });

  it("handles an h2 preface split across packets", async () => {
    const socket = net.connect(started.server.port, "127.0.0.1");
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    const session = http2.connect(started.server.url, {
      createConnection: () => {
        // Delay the socket's first write so the preface goes out in small pieces.
        const write = socket.write.bind(socket);
        let first = true;
        socket.write = ((chunk: Buffer, ...rest: never[]) => {
          if (first && Buffer.isBuffer(chunk) && chunk.length > 5) {
            first = false;
            write(chunk.subarray(0, 5));
            setTimeout(() => write(chunk.subarray(5), ...rest), 20);
            return true;
          }
          return write(chunk, ...rest);
        }) as typeof socket.write;
        return socket;
      },
    });
    try {
      const health = await h2Exchange(session, { method: "GET", path: "/healthz" });
      expect(health.body.toString()).toBe("ok");
    } finally {
      session.destroy();
    }
  });

  it("closes a connection that never sends a byte (after headersTimeout)", async () => {
    const server = await startServer({
      handler: (_req, res) => res.end("x"),
      host: "127.0.0.1",
      port: 0,
      shutdownGraceMs: 1_000,
      timeouts: { headersTimeoutMs: 100 },
    });
    try {
      const socket = net.connect(server.port, "127.0.0.1");
      const start = Date.now();
      await new Promise<void>((resolve) => socket.once("close", () => resolve()));
      expect(Date.now() - start).toBeLessThan(2_000);
    } finally {
      await server.close();
    }
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await sleep(5);
  }
}

function connectError(port: number): Promise<NodeJS.ErrnoException> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      reject(new Error("connected after close"));
    });
    socket.once("error", resolve);
  });
}

/** One keep-alive HTTP/1.1 Connect call on a raw socket; resolves with the response, socket still open. */
function rawH1(port: number, jobId: string): Promise<{ response: string; socket: net.Socket }> {
  const body = JSON.stringify({ job_id: jobId });
  const agentless = `POST ${jobProcedure}/list HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(agentless));
    let data = "";
    socket.on("data", (chunk: Buffer) => {
      data += chunk.toString();
      const end = data.indexOf("\r\n\r\n");
      if (end < 0) return;
      const length = Number(/content-length: (\d+)/i.exec(data.slice(0, end))?.[1] ?? Number.NaN);
      if (data.length >= end + 4 + length) resolve({ response: data, socket });
    });
    socket.on("error", reject);
  });
}
