/**
 * The unary path's own duties, over real HTTP/1.1 and h2c against stub services: self-encoded answers
 * in every protocol (and their errors), the response limit, deadlines that reach the handler's signal,
 * the per-call context values; and connect's router (streams, Connect GET) corrected without patching
 * Node's response: decode failures are invalid_argument, gRPC's grpc-message is minimally encoded.
 */
import { gunzipSync } from "node:zlib";
import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextKey,
  createContextValues,
  type ServiceImpl,
} from "@connectrpc/connect";
import { createAsyncIterable } from "@connectrpc/connect/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobLifecycle, WatchJobsRequestSchema } from "../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import {
  Job,
  JobInfo_Status,
  JobInfoSchema,
  JobRequestSchema,
  type JobsInfo,
  JobsInfoSchema,
  JobsQuerySchema,
} from "../gen/spaceone/api/identity/v2/job_pb.js";
import { errors, SpaceOneError } from "../src/errors.js";
import { corrected } from "../src/wire/connect-handler.js";
import { createErrorInterceptor, toConnectError } from "../src/wire/errors.js";
import { restRoutes } from "../src/wire/rest.js";
import { type RunningServer, startServer } from "../src/wire/server.js";
import { acceptsSelfEncodedKey, type SelfEncoder, withSelfEncoder } from "../src/wire/unary/self-encoded.js";
import { createWireHandler } from "../src/wire/wire-handler.js";
import { grpcFrame, grpcStatusOf, h1Post, http2Request } from "./support/http-client.js";

const JOB = "/spaceone.api.identity.v2.Job";
const LIFECYCLE = "/spaceone.api.identity.v2.JobLifecycle";
const WRITE_MAX = 64 * 1024;
const JSON_OPTIONS = { useProtoFieldName: true };

/** Set by the server's contextValues, read back by the handler: the unary path hands them through. */
const tagKey = createContextKey<string>("none");

/** A page big enough to be compressed, encoded whole by protobuf-es: what the encoder must equal. */
function page(rows: number): JobsInfo {
  return create(JobsInfoSchema, {
    results: Array.from({ length: rows }, (_, i) =>
      create(JobInfoSchema, { jobId: `job-${i}`, status: JobInfo_Status.SUCCESS, pluginId: "plugin-x" }),
    ),
    totalCount: rows,
  });
}

/** Hands out a whole message's bytes in small pieces, as a row encoder would. */
function piecesOf(bytes: Uint8Array, size = 100): AsyncIterable<Uint8Array> {
  return (async function* () {
    for (let i = 0; i < bytes.byteLength; i += size) yield bytes.subarray(i, i + size);
  })();
}

const answer = page(60);
/** Whether the last `list` was offered the self-encoded form, and by whom. */
const seen: { selfEncoded: boolean[]; tags: string[]; timeouts: (number | undefined)[] } = {
  selfEncoded: [],
  tags: [],
  timeouts: [],
};

const job: ServiceImpl<typeof Job> = {
  async get(req, ctx) {
    seen.tags.push(ctx.values.get(tagKey));
    seen.timeouts.push(ctx.timeoutMs());
    if (req.jobId === "slow") {
      // A read that only ends when the call's signal does (as the store's reads do at the deadline).
      await new Promise((_, reject) => {
        ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true });
      });
    }
    if (req.jobId === "huge")
      return create(JobInfoSchema, { jobId: "huge", errorMessage: "x".repeat(WRITE_MAX) });
    if (req.jobId === "missing") throw errors.notFound("job_id", req.jobId);
    return create(JobInfoSchema, { jobId: req.jobId, status: JobInfo_Status.PENDING });
  },
  async list(req, ctx) {
    const offered = ctx.values.get(acceptsSelfEncodedKey);
    seen.selfEncoded.push(offered);
    if (!offered) return answer;
    const mode = req.query?.keyword ?? "";
    if (mode.startsWith("whole")) return withSelfEncoder(create(JobsInfoSchema), wholeEncoder(mode));
    const encoder: SelfEncoder = {
      json: (maxBytes) => {
        if (mode === "refuse") throw refused(maxBytes);
        if (mode === "overrun") return piecesOf(new Uint8Array(maxBytes + 1).fill(0x20));
        if (mode === "fail") return failing();
        return piecesOf(Buffer.from(toJsonString(JobsInfoSchema, answer, JSON_OPTIONS)));
      },
      binary: (maxBytes) => {
        if (mode === "refuse") throw refused(maxBytes);
        if (mode === "overrun") return piecesOf(new Uint8Array(maxBytes + 1));
        if (mode === "fail") return failing();
        return piecesOf(toBinary(JobsInfoSchema, answer));
      },
    };
    return withSelfEncoder(create(JobsInfoSchema), encoder);
  },
  async delete() {
    return {};
  },
  async stat() {
    throw new ConnectError("not here", Code.Unimplemented);
  },
};

/**
 * An encoder that gives its answer whole, at once; its pieces fail, so an answer that is not an error
 * shows the whole form was written. "whole-overrun" is over the limit in UTF-8 bytes but not in
 * characters; "whole-limit" is exactly at it.
 */
function wholeEncoder(mode: string): SelfEncoder {
  const accented = (chars: number) => "\u00e9".repeat(chars);
  return {
    json: () => failing(),
    binary: () => failing(),
    jsonText: () =>
      mode === "whole-overrun"
        ? accented(WRITE_MAX / 2 + 1)
        : mode === "whole-limit"
          ? accented(WRITE_MAX / 2)
          : toJsonString(JobsInfoSchema, answer, JSON_OPTIONS),
    binaryBytes: () =>
      mode === "whole-overrun" ? new Uint8Array(WRITE_MAX + 1) : toBinary(JobsInfoSchema, answer),
  };
}

function refused(maxBytes: number): SpaceOneError {
  return new SpaceOneError(
    "ERROR_RESPONSE_TOO_LARGE",
    "resource_exhausted",
    `The answer is larger than the response limit. (max_bytes = ${maxBytes})`,
  );
}

async function* failing(): AsyncIterable<Uint8Array> {
  yield new Uint8Array([1, 2, 3]);
  throw new SpaceOneError("ERROR_UNAVAILABLE", "unavailable", "The database went away.");
}

const lifecycle: Partial<ServiceImpl<typeof JobLifecycle>> = {
  // biome-ignore lint/correctness/useYield: a stream that fails before its first event
  async *watch(req) {
    // As the watch handlers do: a stream's errors pass no interceptor once it has started.
    throw toConnectError(errors.notFound("job_id", req.jobId));
  },
};

let server: RunningServer;
let reference: RunningServer;

async function start(unary: "lean" | "connect"): Promise<RunningServer> {
  const { handler } = createWireHandler({
    services: [
      { service: Job, impl: job },
      { service: JobLifecycle, impl: lifecycle },
    ],
    interceptors: [createErrorInterceptor()],
    contextValues: () => createContextValues().set(tagKey, "from the server"),
    readMaxBytes: 64 * 1024,
    writeMaxBytes: WRITE_MAX,
    maxTimeoutMs: 10_000,
    jsonOptions: JSON_OPTIONS,
    restRoutes: restRoutes(Job),
    unary,
  });
  return startServer({ handler, host: "127.0.0.1", port: 0, shutdownGraceMs: 1000 });
}

beforeAll(async () => {
  server = await start("lean");
  reference = await start("connect");
});

afterAll(async () => {
  await server?.close();
  await reference?.close();
});

const listBody = (keyword = "") => JSON.stringify({ query: { keyword } });
const listProto = (keyword = "") =>
  toBinary(JobsQuerySchema, create(JobsQuerySchema, { query: { keyword } }));
const json = { "content-type": "application/json" };

function envelopes(body: Buffer): { flags: number; data: Buffer }[] {
  const out: { flags: number; data: Buffer }[] = [];
  for (let i = 0; i < body.length; ) {
    const length = body.readUInt32BE(i + 1);
    out.push({ flags: body[i] as number, data: body.subarray(i + 5, i + 5 + length) });
    i += 5 + length;
  }
  return out;
}

describe("self-encoded answers", () => {
  const expectedJson = toJsonString(JobsInfoSchema, answer, JSON_OPTIONS);
  const expectedBinary = Buffer.from(toBinary(JobsInfoSchema, answer));

  it("are offered on the unary path and written as the whole message would be, in every protocol", async () => {
    seen.selfEncoded.length = 0;
    const connectJson = await h1Post(`${server.url}${JOB}/list`, json, listBody());
    expect(connectJson.status).toBe(200);
    expect(connectJson.body.toString("utf8")).toBe(expectedJson);

    const rest = await h1Post(`${server.url}/identity/v2/job/list`, json, listBody());
    expect(rest.status).toBe(200);
    expect(rest.body.toString("utf8")).toBe(expectedJson);

    const proto = await http2Request(server.url, {
      path: `${JOB}/list`,
      headers: { "content-type": "application/proto" },
      body: listProto(),
    });
    expect(proto.status).toBe(200);
    expect(proto.body.equals(expectedBinary)).toBe(true);

    const grpc = await http2Request(server.url, {
      path: `${JOB}/list`,
      headers: { "content-type": "application/grpc", te: "trailers" },
      body: grpcFrame(listProto()),
    });
    expect(grpcStatusOf(grpc).status).toBe("0");
    expect(envelopes(grpc.body)[0]?.data.equals(expectedBinary)).toBe(true);

    const web = await h1Post(
      `${server.url}${JOB}/list`,
      { "content-type": "application/grpc-web+proto" },
      grpcFrame(listProto()),
    );
    const [message, trailer] = envelopes(web.body);
    expect(message?.data.equals(expectedBinary)).toBe(true);
    expect(trailer?.flags).toBe(0x80);
    expect(trailer?.data.toString("latin1")).toContain("grpc-status: 0");
    expect(seen.selfEncoded).toEqual([true, true, true, true, true]);
  });

  it("are compressed like any answer", async () => {
    const r = await h1Post(`${server.url}${JOB}/list`, { ...json, "accept-encoding": "gzip" }, listBody());
    expect(r.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(r.body).toString("utf8")).toBe(expectedJson);
  });

  it("are not offered on connect's router, which gets the whole message", async () => {
    seen.selfEncoded.length = 0;
    const r = await h1Post(`${reference.url}${JOB}/list`, json, listBody());
    expect(r.body.toString("utf8")).toBe(expectedJson);
    expect(seen.selfEncoded).toEqual([false]);
  });

  it("an error while encoding is the call's error, in the caller's protocol", async () => {
    const connect = await h1Post(`${server.url}${JOB}/list`, json, listBody("refuse"));
    expect(connect.status).toBe(429);
    expect(JSON.parse(connect.body.toString("utf8"))).toEqual({
      code: "resource_exhausted",
      message: expect.stringMatching(
        /^ERROR_RESPONSE_TOO_LARGE: The answer is larger than the response limit/,
      ),
    });
    expect(connect.headers["x-spaceone-error-code"]).toBe("ERROR_RESPONSE_TOO_LARGE");

    const rest = await h1Post(`${server.url}/identity/job/list`, json, listBody("fail"));
    expect(rest.status).toBe(503);
    expect(JSON.parse(rest.body.toString("utf8"))).toEqual({
      detail: { code: "ERROR_UNAVAILABLE", message: "The database went away." },
    });

    const grpc = await http2Request(server.url, {
      path: `${JOB}/list`,
      headers: { "content-type": "application/grpc", te: "trailers" },
      body: grpcFrame(listProto("refuse")),
    });
    expect(grpcStatusOf(grpc)).toEqual({
      status: String(Code.ResourceExhausted),
      message: expect.stringMatching(/^ERROR_RESPONSE_TOO_LARGE: /),
    });
    expect(grpc.body.length).toBe(0);
  });

  it("never collect more than the response limit, whatever the encoder does", async () => {
    const r = await h1Post(`${server.url}${JOB}/list`, json, listBody("overrun"));
    expect(r.status).toBe(429);
    expect(JSON.parse(r.body.toString("utf8"))).toEqual({
      code: "resource_exhausted",
      message: `message size ${WRITE_MAX + 1} is larger than configured writeMaxBytes ${WRITE_MAX}`,
    });
  });
});

describe("self-encoded answers given whole", () => {
  const expectedJson = toJsonString(JobsInfoSchema, answer, JSON_OPTIONS);
  const expectedBinary = Buffer.from(toBinary(JobsInfoSchema, answer));

  it("are written whole in every protocol, the pieces never asked for", async () => {
    const connectJson = await h1Post(`${server.url}${JOB}/list`, json, listBody("whole"));
    expect(connectJson.status).toBe(200);
    expect(connectJson.headers["content-length"]).toBe(String(Buffer.byteLength(expectedJson)));
    expect(connectJson.body.toString("utf8")).toBe(expectedJson);

    const rest = await h1Post(`${server.url}/identity/v2/job/list`, json, listBody("whole"));
    expect(rest.status).toBe(200);
    expect(rest.body.toString("utf8")).toBe(expectedJson);

    const h2Json = await http2Request(server.url, {
      path: `${JOB}/list`,
      headers: json,
      body: listBody("whole"),
    });
    expect(h2Json.status).toBe(200);
    expect(h2Json.body.toString("utf8")).toBe(expectedJson);

    const compressed = await h1Post(
      `${server.url}${JOB}/list`,
      { ...json, "accept-encoding": "gzip" },
      listBody("whole"),
    );
    expect(compressed.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(compressed.body).toString("utf8")).toBe(expectedJson);

    const proto = await http2Request(server.url, {
      path: `${JOB}/list`,
      headers: { "content-type": "application/proto" },
      body: listProto("whole"),
    });
    expect(proto.status).toBe(200);
    expect(proto.body.equals(expectedBinary)).toBe(true);

    const grpc = await http2Request(server.url, {
      path: `${JOB}/list`,
      headers: { "content-type": "application/grpc", te: "trailers" },
      body: grpcFrame(listProto("whole")),
    });
    expect(grpcStatusOf(grpc).status).toBe("0");
    expect(envelopes(grpc.body)[0]?.data.equals(expectedBinary)).toBe(true);

    const web = await h1Post(
      `${server.url}${JOB}/list`,
      { "content-type": "application/grpc-web+proto" },
      grpcFrame(listProto("whole")),
    );
    expect(envelopes(web.body)[0]?.data.equals(expectedBinary)).toBe(true);
  });

  it("are held to the response limit in bytes, not characters, with connect's words", async () => {
    const over = await h1Post(`${server.url}${JOB}/list`, json, listBody("whole-overrun"));
    expect(over.status).toBe(429);
    expect(JSON.parse(over.body.toString("utf8"))).toEqual({
      code: "resource_exhausted",
      message: `message size ${WRITE_MAX + 2} is larger than configured writeMaxBytes ${WRITE_MAX}`,
    });

    const atLimit = await h1Post(`${server.url}${JOB}/list`, json, listBody("whole-limit"));
    expect(atLimit.status).toBe(200);
    expect(atLimit.body.byteLength).toBe(WRITE_MAX);

    const grpc = await http2Request(server.url, {
      path: `${JOB}/list`,
      headers: { "content-type": "application/grpc", te: "trailers" },
      body: grpcFrame(listProto("whole-overrun")),
    });
    expect(grpcStatusOf(grpc)).toEqual({
      status: String(Code.ResourceExhausted),
      message: `message size ${WRITE_MAX + 1} is larger than configured writeMaxBytes ${WRITE_MAX}`,
    });
  });
});

describe("limits, deadlines and context values on the unary path", () => {
  it("an answer over writeMaxBytes is resource_exhausted, as on connect's router", async () => {
    const body = '{"job_id":"huge"}';
    const lean = await h1Post(`${server.url}${JOB}/get`, json, body);
    const ref = await h1Post(`${reference.url}${JOB}/get`, json, body);
    expect(lean.status).toBe(429);
    expect(lean.body.toString("utf8")).toBe(ref.body.toString("utf8"));
    expect(JSON.parse(lean.body.toString("utf8")).message).toMatch(
      /larger than configured writeMaxBytes 65536/,
    );
  });

  it("the deadline reaches the handler (timeoutMs and signal) and ends the call with deadline_exceeded", async () => {
    seen.timeouts.length = 0;
    const started = Date.now();
    const r = await h1Post(
      `${server.url}${JOB}/get`,
      { ...json, "connect-timeout-ms": "200" },
      '{"job_id":"slow"}',
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(r.status).toBe(504);
    expect(JSON.parse(r.body.toString("utf8"))).toEqual({
      code: "deadline_exceeded",
      message: "the operation timed out",
    });
    const [timeout] = seen.timeouts;
    expect(timeout).toBeGreaterThan(0);
    expect(timeout).toBeLessThanOrEqual(200);

    const grpc = await http2Request(server.url, {
      path: `${JOB}/get`,
      headers: { "content-type": "application/grpc", te: "trailers", "grpc-timeout": "150m" },
      body: grpcFrame(toBinary(JobRequestSchema, create(JobRequestSchema, { jobId: "slow" }))),
    });
    expect(grpcStatusOf(grpc).status).toBe(String(Code.DeadlineExceeded));
  });

  it("without a deadline header the handler sees none; the server's values reach it", async () => {
    seen.timeouts.length = 0;
    seen.tags.length = 0;
    const r = await h1Post(`${server.url}${JOB}/get`, json, '{"job_id":"job-1"}');
    expect(r.status).toBe(200);
    expect(seen.timeouts).toEqual([undefined]);
    expect(seen.tags).toEqual(["from the server"]);
  });
});

describe("connect's router, corrected without patching the response", () => {
  const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]);

  it("a stream request it cannot decode is invalid_argument (gRPC and gRPC-Web)", async () => {
    const grpc = await http2Request(server.url, {
      path: `${LIFECYCLE}/watch`,
      headers: { "content-type": "application/grpc", te: "trailers" },
      body: grpcFrame(garbage),
    });
    expect(grpcStatusOf(grpc)).toEqual({ status: "3", message: expect.stringMatching(/^parse binary: /) });
    const web = await h1Post(
      `${server.url}${LIFECYCLE}/watch`,
      { "content-type": "application/grpc-web+proto" },
      grpcFrame(garbage),
    );
    const trailer = envelopes(web.body).find((e) => e.flags === 0x80);
    expect(trailer?.data.toString("latin1")).toMatch(/grpc-status: 3\r\n/);
  });

  it("a Connect unary answer saying internal for a decode failure becomes invalid_argument", async () => {
    const error = { code: "internal", message: "parse binary: premature EOF" };
    const fixed = await corrected(
      {
        status: 500,
        header: new Headers({ "content-type": "application/json", "content-length": "99" }),
        body: createAsyncIterable([Buffer.from(JSON.stringify(error))]),
      },
      "",
    );
    const chunks: Uint8Array[] = [];
    for await (const chunk of fixed.body ?? []) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    expect(fixed.status).toBe(400);
    expect(JSON.parse(body.toString("utf8"))).toEqual({ ...error, code: "invalid_argument" });
    expect(fixed.header?.get("content-length")).toBe(String(body.length));
    // A server fault is left as it is.
    const fault = { code: "internal", message: "internal error" };
    const kept = await corrected(
      { status: 500, header: new Headers(), body: createAsyncIterable([Buffer.from(JSON.stringify(fault))]) },
      "application/json",
    );
    expect(kept.status).toBe(500);
  });

  it("gRPC's grpc-message keeps SpaceONE's details readable (minimal percent-encoding)", async () => {
    const r = await http2Request(server.url, {
      path: `${LIFECYCLE}/watch`,
      headers: { "content-type": "application/grpc", te: "trailers" },
      body: grpcFrame(toBinary(WatchJobsRequestSchema, create(WatchJobsRequestSchema, { jobId: "job-9" }))),
    });
    const raw = r.trailers["grpc-message"] ?? r.headers["grpc-message"];
    expect(r.trailers["grpc-status"] ?? r.headers["grpc-status"]).toBe(String(Code.NotFound));
    // connect would send ERROR_NOT_FOUND%3A ...: grpc-js (decodeURI) could not split it.
    expect(raw).toMatch(/^ERROR_NOT_FOUND: .*job_id/);
    expect(raw).not.toContain("%3A");
  });
});
