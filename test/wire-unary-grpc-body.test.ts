/**
 * The gRPC request body as the unary path reads it over HTTP/2 (grpc-protocol.ts `collect`): a body in
 * several DATA frames is the whole body; a stream the client resets, cuts off or stalls before the body
 * ends still ends the call (the error answer is reported, nothing hangs) and the server goes on serving;
 * the answer's head (written through the stream's `respond`), message and trailers arrive as a gRPC
 * client expects them.
 */
import http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { ConnectError, ServiceImpl } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Job, JobInfoSchema, JobRequestSchema } from "../gen/spaceone/api/identity/v2/job_pb.js";
import { createErrorInterceptor } from "../src/wire/errors.js";
import { restRoutes } from "../src/wire/rest.js";
import { type RunningServer, startServer } from "../src/wire/server.js";
import { createWireHandler } from "../src/wire/wire-handler.js";
import { grpcFrame } from "./support/http-client.js";

const GET = "/spaceone.api.identity.v2.Job/get";
const errorAnswers: ConnectError[] = [];

const job: Partial<ServiceImpl<typeof Job>> = {
  async get(req) {
    return create(JobInfoSchema, { jobId: req.jobId, pluginId: "plugin-x" });
  },
};

let server: RunningServer;
let session: http2.ClientHttp2Session;

beforeAll(async () => {
  const { handler } = createWireHandler({
    services: [{ service: Job, impl: job }],
    interceptors: [createErrorInterceptor()],
    readMaxBytes: 64 * 1024,
    jsonOptions: { useProtoFieldName: true },
    restRoutes: restRoutes(Job),
    unary: "lean",
    onErrorAnswer: (_values, error) => errorAnswers.push(error),
  });
  // A short read time: a stalled body is reset by the server (limits.ts), which ends no stream's read.
  server = await startServer({
    handler,
    host: "127.0.0.1",
    port: 0,
    shutdownGraceMs: 1000,
    timeouts: { requestTimeoutMs: 300 },
  });
  session = http2.connect(server.url);
  session.on("error", () => {});
});

afterAll(async () => {
  session?.close();
  await server?.close();
});

interface Answer {
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  trailers: http2.IncomingHttpHeaders;
}

/** A gRPC `get` whose body is sent in the given pieces, each in its own DATA frame. */
function call(pieces: Buffer[]): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ":method": "POST",
      ":path": GET,
      "content-type": "application/grpc",
      te: "trailers",
    });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      headers = h;
    });
    stream.on("trailers", (t) => {
      trailers = t;
    });
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => resolve({ headers, body: Buffer.concat(chunks), trailers }));
    stream.on("error", reject);
    const send = (i: number): void => {
      if (i === pieces.length - 1) {
        stream.end(pieces[i]);
        return;
      }
      stream.write(pieces[i], () => setTimeout(() => send(i + 1), 20));
    };
    send(0);
  });
}

const body = grpcFrame(toBinary(JobRequestSchema, create(JobRequestSchema, { jobId: "job-12bc90aac22d" })));

describe("the gRPC request body over HTTP/2", () => {
  it("in one DATA frame: the answer's head, one message and the status trailer", async () => {
    const r = await call([body]);
    expect(r.headers[":status"]).toBe(200);
    expect(r.headers["content-type"]).toBe("application/grpc+proto");
    expect(typeof r.headers.date).toBe("string");
    expect(r.trailers["grpc-status"]).toBe("0");
    expect(r.body[0]).toBe(0);
    expect(r.body.readUInt32BE(1)).toBe(r.body.length - 5);
    const info = fromBinary(JobInfoSchema, r.body.subarray(5));
    expect(info.jobId).toBe("job-12bc90aac22d");
    expect(info.pluginId).toBe("plugin-x");
  });

  it("in several DATA frames: read whole", async () => {
    const r = await call([body.subarray(0, 3), body.subarray(3, 9), body.subarray(9)]);
    expect(r.trailers["grpc-status"]).toBe("0");
    expect(fromBinary(JobInfoSchema, r.body.subarray(5)).jobId).toBe("job-12bc90aac22d");
  });

  /** Send half the envelope, then `stop` the stream; the call must end with an error answer. */
  async function halfThen(
    stop: (stream: http2.ClientHttp2Stream, own: http2.ClientHttp2Session) => void,
  ): Promise<void> {
    const before = errorAnswers.length;
    const own = http2.connect(server.url);
    own.on("error", () => {});
    const stream = own.request({
      ":method": "POST",
      ":path": GET,
      "content-type": "application/grpc",
      te: "trailers",
    });
    stream.on("error", () => {});
    stream.on("response", () => {});
    await new Promise<void>((resolve) => stream.write(body.subarray(0, 9), () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 50));
    stop(stream, own);
    const deadline = Date.now() + 5_000;
    while (errorAnswers.length === before && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // The partial envelope is the call's error (connect's words), reported once the stream ended.
    expect(errorAnswers.length).toBe(before + 1);
    expect(errorAnswers.at(-1)?.message).toMatch(/protocol error/);
    own.destroy();
    const r = await call([body]);
    expect(r.trailers["grpc-status"]).toBe("0");
  }

  it("reset by the client before it ends: the call still ends, and the server serves the next", async () => {
    await halfThen((stream) => stream.close(http2.constants.NGHTTP2_CANCEL));
  });

  it("cut off with its connection: the call still ends", async () => {
    await halfThen((_stream, own) => own.destroy());
  });

  it("stalled until the server resets it (read time): the call still ends", async () => {
    // Nothing more is sent: the server closes the stream (CANCEL) without its readable side ending.
    await halfThen(() => {});
  });
});
