/**
 * The stream path (src/wire/stream/, the default for `watch`) answers as connect-node's streaming
 * handlers do.
 *
 * Two servers on one watch service (one hub, one in-memory feed: the same jobs and cursors), one serving
 * `watch` through connect's router (the reference, what `WIRE_STREAM=connect` serves) and one through
 * the stream path, get the same corpus of watch requests: Connect binary and JSON, gRPC (binary and
 * JSON), gRPC-Web (binary and JSON), both HTTP versions; a snapshot and a plain watch ended by their
 * deadline, a projection, an invalid request, a bad token, an expired cursor, malformed and unknown
 * headers, compressed requests and answers, missing and extra messages, a bad envelope. For each,
 * status, every response header but `date`, the body (every frame, the end of the stream) and the
 * trailers must be equal. The corpus says per case whether the stream path takes it; the test counts
 * the calls it served, so a silent fall-through cannot make the comparison pass trivially.
 *
 * One difference is deliberate: a Connect stream request whose message cannot be decoded is
 * `invalid_argument` on the stream path, where connect-node says `internal` (the project's rule, and
 * what the unary path and connect-node's gRPC answers already say); the last test pins it.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobLifecycle, WatchJobsRequestSchema } from "../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import { ensureLocalSecret } from "../src/auth/keys.js";
import { createTokenVerifier, signToken } from "../src/auth/token.js";
import { loadConfig } from "../src/config.js";
import { createCallInterceptor } from "../src/observability/call-interceptor.js";
import { WatchHub } from "../src/service/watch/watch-hub.js";
import { WatchService } from "../src/service/watch/watch-service.js";
import { createErrorInterceptor } from "../src/wire/errors.js";
import { createAuthInterceptor } from "../src/wire/job-handlers.js";
import { jobWatchHandlers, watchStreamRoute } from "../src/wire/job-watch-handlers.js";
import { restRoutes } from "../src/wire/rest.js";
import { type RunningServer, startServer } from "../src/wire/server.js";
import { DECODE_FAILURE } from "../src/wire/unary/errors.js";
import { createWireHandler } from "../src/wire/wire-handler.js";
import { grpcFrame, h1Post, http2Request } from "./support/http-client.js";
import { MemoryFeed } from "./support/memory-feed.js";

const WATCH = "/spaceone.api.identity.v2.JobLifecycle/watch";
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "job-stream-diff-"));
const feed = new MemoryFeed();
let hub: WatchHub;
let reference: RunningServer;
let lean: RunningServer;
/** A second pair on a service that buffers one event per stream: errors in the middle of a stream. */
let tinyHub: WatchHub;
let tinyReference: RunningServer;
let tinyLean: RunningServer;
let admin: string;
let member: string;
let leanCalls = 0;
const unknown: unknown[] = [];

type Via = "h1" | "h2";

interface Case {
  readonly name: string;
  readonly via: Via;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array | string;
  /** Whether the stream path serves it (true) or hands it to connect-node (false). */
  readonly lean: boolean;
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly trailers: Record<string, string>;
  readonly body: string;
}

interface Protocol {
  readonly name: string;
  readonly contentType: string;
  readonly binary: boolean;
  readonly timeout: (ms: number) => Record<string, string>;
  readonly encoding: string;
  readonly acceptEncoding: string;
  readonly h1: boolean;
}

const connectTimeout = (ms: number) => ({ "connect-timeout-ms": String(ms) });
const grpcTimeout = (ms: number) => ({ "grpc-timeout": `${ms}m` });
const connectEnc = { encoding: "connect-content-encoding", acceptEncoding: "connect-accept-encoding" };
const grpcEnc = { encoding: "grpc-encoding", acceptEncoding: "grpc-accept-encoding" };

const protocols: Protocol[] = [
  {
    name: "connect+proto",
    contentType: "application/connect+proto",
    binary: true,
    timeout: connectTimeout,
    ...connectEnc,
    h1: true,
  },
  {
    name: "connect+json",
    contentType: "application/connect+json",
    binary: false,
    timeout: connectTimeout,
    ...connectEnc,
    h1: true,
  },
  {
    name: "grpc",
    contentType: "application/grpc",
    binary: true,
    timeout: grpcTimeout,
    ...grpcEnc,
    h1: false,
  },
  {
    name: "grpc+json",
    contentType: "application/grpc+json",
    binary: false,
    timeout: grpcTimeout,
    ...grpcEnc,
    h1: false,
  },
  {
    name: "grpc-web",
    contentType: "application/grpc-web+proto",
    binary: true,
    timeout: grpcTimeout,
    ...grpcEnc,
    h1: true,
  },
  {
    name: "grpc-web+json",
    contentType: "application/grpc-web+json",
    binary: false,
    timeout: grpcTimeout,
    ...grpcEnc,
    h1: true,
  },
];

type WatchJson = Record<string, unknown>;

function message(p: Protocol, request: WatchJson): Uint8Array {
  if (!p.binary) return Buffer.from(JSON.stringify(request));
  return toBinary(WatchJobsRequestSchema, create(WatchJobsRequestSchema, fromJsonish(request)));
}

/** The few fields the corpus uses, as protobuf-es init (the JSON names differ in case only). */
function fromJsonish(request: WatchJson) {
  const query = request.query as { only?: string[]; page?: { limit: number } } | undefined;
  return {
    ...(request.send_initial ? { sendInitial: true } : {}),
    ...(typeof request.cursor === "string" ? { cursor: request.cursor } : {}),
    ...(typeof request.trusted_account_id === "string"
      ? { trustedAccountId: request.trusted_account_id }
      : {}),
    ...(query
      ? {
          query: { ...(query.only ? { only: query.only } : {}), ...(query.page ? { page: query.page } : {}) },
        }
      : {}),
  };
}

/** The corpus: a function of the tokens, so both servers get the very same bytes. */
function corpus(): Case[] {
  const out: Case[] = [];
  for (const via of ["h1", "h2"] as const) {
    for (const p of protocols) {
      const tag = (name: string) => `${p.name} ${name} (${via})`;
      const base = {
        "content-type": p.contentType,
        authorization: `Bearer ${admin}`,
        ...(p.h1 ? {} : { te: "trailers" }),
      };
      const add = (
        name: string,
        headers: Record<string, string>,
        body: Uint8Array | string,
        leanCase = true,
      ) => {
        if (via === "h1" && !p.h1) return;
        out.push({ name: tag(name), via, headers, body, lean: leanCase });
      };
      const frame = (request: WatchJson) => grpcFrame(message(p, request));
      const deadline = p.timeout(150);
      add("snapshot, ended by the deadline", { ...base, ...deadline }, frame({ send_initial: true }));
      add(
        "live, first heartbeat, ended by the deadline",
        { ...base, ...deadline },
        frame({ trusted_account_id: "ta-2" }),
      );
      add(
        "projection (only)",
        { ...base, ...deadline },
        frame({ send_initial: true, query: { only: ["status"] } }),
      );
      add(
        "member's scope",
        { ...base, ...deadline, authorization: `Bearer ${member}` },
        frame({ send_initial: true }),
      );
      add("invalid_argument: paged query", base, frame({ query: { page: { limit: 5 } } }));
      add("invalid_argument: not a cursor", base, frame({ cursor: "nope" }));
      add("out_of_range: expired cursor", base, frame({ cursor: "w1.0" }));
      add(
        "unauthenticated: no token",
        { "content-type": p.contentType, ...(p.h1 ? {} : { te: "trailers" }) },
        frame({}),
      );
      add("unauthenticated: bad token", { ...base, authorization: "Bearer not-a-token" }, frame({}));
      add("malformed deadline", { ...base, [Object.keys(deadline)[0] as string]: "soon" }, frame({}));
      add("deadline already passed", { ...base, ...p.timeout(0) }, frame({ send_initial: true }));
      add(
        "compressed request (gzip)",
        { ...base, ...deadline, [p.encoding]: "gzip" },
        grpcFrame(gzipSync(message(p, { send_initial: true })), { compressed: true }),
      );
      add(
        "compressed answer (gzip accepted)",
        { ...base, ...deadline, [p.acceptEncoding]: "gzip" },
        frame({ send_initial: true }),
      );
      add(
        "compressed answer (br accepted)",
        { ...base, ...deadline, [p.acceptEncoding]: "br" },
        frame({ send_initial: true, trusted_account_id: "ta-big" }),
      );
      add("unknown request encoding", { ...base, [p.encoding]: "zstd" }, frame({}));
      add(
        "compressed frame without an encoding",
        base,
        grpcFrame(gzipSync(message(p, {})), { compressed: true }),
      );
      add("missing message", base, new Uint8Array(0));
      add("extra message", base, Buffer.concat([frame({}), frame({})]));
      add("truncated envelope", { ...base, ...deadline }, frame({ send_initial: true }).subarray(0, 7));
      add(
        "undecodable message",
        base,
        grpcFrame(p.binary ? Buffer.from([0xff, 0xff, 0xff]) : Buffer.from("{nope")),
      );
      if (!p.binary) add("unknown JSON field", base, grpcFrame(Buffer.from('{"nope": 1}')));
    }
    // What the stream path leaves to connect-node.
    out.push({
      name: `grpc-web-text (${via})`,
      via,
      headers: {
        "content-type": "application/grpc-web-text",
        authorization: `Bearer ${admin}`,
        "grpc-timeout": "250m",
      },
      body: Buffer.from(grpcFrame(message(protocols[0] as Protocol, {}))).toString("base64"),
      lean: false,
    });
    out.push({
      name: `connect unary type on a stream (${via})`,
      via,
      headers: { "content-type": "application/proto", authorization: `Bearer ${admin}` },
      body: message(protocols[0] as Protocol, {}),
      lean: false,
    });
  }
  out.push({
    name: "grpc over HTTP/1.1",
    via: "h1",
    headers: {
      "content-type": "application/grpc",
      authorization: `Bearer ${admin}`,
      te: "trailers",
      "grpc-timeout": "250m",
    },
    body: grpcFrame(message(protocols[0] as Protocol, {})),
    lean: false,
  });
  return out;
}

async function send(server: RunningServer, c: Case): Promise<Answer> {
  if (c.via === "h1") {
    const r = await h1Post(`${server.url}${WATCH}`, c.headers, c.body, undefined, 5_000).catch((e) => {
      throw new Error(`${c.name} (${server === lean ? "stream path" : "connect-node"}): ${e}`);
    });
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(r.headers)) if (v !== undefined) headers[k] = String(v);
    return { status: r.status, headers, trailers: {}, body: r.body.toString("base64") };
  }
  const r = await http2Request(server.url, {
    path: WATCH,
    headers: c.headers,
    body: c.body,
    timeoutMs: 5_000,
  });
  if (r.kind !== "response") {
    throw new Error(
      `${c.name} (${server === lean ? "stream path" : "connect-node"}): ${r.kind} ${r.detail ?? ""}`,
    );
  }
  return { status: r.status, headers: r.headers, trailers: r.trailers, body: r.body.toString("base64") };
}

function comparable(a: Answer): Answer {
  const headers = { ...a.headers };
  for (const k of ["date", "connection", "keep-alive"]) delete headers[k];
  return { ...a, headers };
}

/**
 * The reference's answer with the one deliberate difference applied: a Connect stream's EndStream that
 * says `internal` for a request connect could not decode says `invalid_argument` (file comment).
 */
function decodeFailureCorrected(a: Answer): Answer {
  const body = Buffer.from(a.body, "base64");
  if (!a.headers["content-type"]?.startsWith("application/connect+") || body[0] !== 0x02) return a;
  const end = JSON.parse(body.subarray(5).toString("utf8")) as { error?: { code: string; message: string } };
  if (end.error?.code !== "internal" || !DECODE_FAILURE.test(end.error.message)) return a;
  end.error.code = "invalid_argument";
  const json = Buffer.from(JSON.stringify(end));
  const head = Buffer.from([0x02, 0, 0, 0, 0]);
  head.writeUInt32BE(json.byteLength, 1);
  return { ...a, body: Buffer.concat([head, json]).toString("base64") };
}

/** Data envelopes with the compressed flag (0x01) in a body of envelopes. */
function countCompressed(body: Buffer): number {
  let n = 0;
  for (let at = 0; at + 5 <= body.byteLength; at += 5 + body.readUInt32BE(at + 1)) {
    if (body[at] === 0x01) n++;
  }
  return n;
}

function serve(
  stream: "lean" | "connect",
  service: WatchService,
  verifier: Awaited<ReturnType<typeof createTokenVerifier>>,
) {
  const onUnknown = (error: unknown) => unknown.push(error);
  const logger = { error: () => {} };
  return createWireHandler({
    services: [{ service: JobLifecycle, impl: jobWatchHandlers(service, onUnknown) }],
    interceptors: [
      createErrorInterceptor(onUnknown),
      createCallInterceptor(logger),
      createAuthInterceptor(verifier),
    ],
    readMaxBytes: 1 << 20,
    jsonOptions: { useProtoFieldName: true, ignoreUnknownFields: false },
    restRoutes: restRoutes(JobLifecycle),
    streamRoutes: [watchStreamRoute(service, onUnknown)],
    stream,
    onLeanCall: stream === "lean" ? () => leanCalls++ : undefined,
  }).handler;
}

let cases: Case[];

beforeAll(async () => {
  const config = loadConfig({ DATA_DIR: dataDir });
  ensureLocalSecret(config);
  const verifier = await createTokenVerifier(config);
  admin = await signToken(config, { role: "DOMAIN_ADMIN", domainId: "domain-a", ttlSeconds: 600 });
  member = await signToken(config, {
    role: "WORKSPACE_MEMBER",
    domainId: "domain-a",
    workspaceId: "ws-2",
    ttlSeconds: 600,
  });
  for (let i = 1; i <= 6; i++) {
    feed.create(`job-${i}`, { workspace_id: i % 2 ? "ws-1" : "ws-2", trusted_account_id: `ta-${i}` });
  }
  feed.update("job-1", { status: "IN_PROGRESS" });
  // An answer over connect's compressMinBytes (1 KiB): compressed frames are compared too.
  feed.create("job-big", {
    trusted_account_id: "ta-big",
    options: JSON.stringify({ note: "x".repeat(3000) }),
  });
  // Retention dropped the first changes: a cursor before them has expired.
  feed.dropThrough(2);
  // No heartbeat within a case's deadline: the streams' contents do not depend on timing.
  hub = new WatchHub(feed, { pollIntervalMs: 60_000, batchSize: 100, heartbeatMs: 60_000 });
  const service = new WatchService(feed, hub, {
    maxPageSize: 1000,
    bufferEvents: 100,
    maxInitial: 100,
    waitDefaultSeconds: 30,
    waitMaxSeconds: 300,
  });
  const start = (handler: ReturnType<typeof serve>) =>
    startServer({ handler, host: "127.0.0.1", port: 0, shutdownGraceMs: 1000 });
  reference = await start(serve("connect", service, verifier));
  lean = await start(serve("lean", service, verifier));
  feed.create("job-flood", { trusted_account_id: "ta-flood" });
  tinyHub = new WatchHub(feed, { pollIntervalMs: 60_000, batchSize: 100, heartbeatMs: 60_000 });
  const tiny = new WatchService(feed, tinyHub, {
    maxPageSize: 1000,
    bufferEvents: 1,
    maxInitial: 100,
    waitDefaultSeconds: 30,
    waitMaxSeconds: 300,
  });
  tinyReference = await start(serve("connect", tiny, verifier));
  tinyLean = await start(serve("lean", tiny, verifier));
  cases = corpus();
});

afterAll(async () => {
  hub?.close();
  tinyHub?.close();
  await reference?.close();
  await lean?.close();
  await tinyReference?.close();
  await tinyLean?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("stream path vs connect-node: same watch corpus, same answers", () => {
  it("the corpus covers every protocol, both HTTP versions, and both paths", () => {
    expect(cases.length).toBeGreaterThan(150);
    expect(cases.filter((c) => !c.lean).length).toBe(5);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
    for (const p of protocols) expect(cases.some((c) => c.name.startsWith(`${p.name} `))).toBe(true);
  });

  it("every answer is equal: status, headers, frames, end of stream, trailers", async () => {
    const mismatches: string[] = [];
    let framesCompared = 0;
    let compressedFrames = 0;
    for (const c of cases) {
      const a = decodeFailureCorrected(comparable(await send(reference, c)));
      const b = comparable(await send(lean, c));
      framesCompared += Buffer.from(a.body, "base64").byteLength;
      compressedFrames += countCompressed(Buffer.from(b.body, "base64"));
      try {
        expect(b).toEqual(a);
      } catch {
        mismatches.push(
          `${c.name}:\n  connect-node ${JSON.stringify(a)}\n  stream path  ${JSON.stringify(b)}`,
        );
      }
    }
    expect(mismatches, mismatches.join("\n")).toEqual([]);
    expect(framesCompared).toBeGreaterThan(10_000);
    // Answers over the compression threshold were compared compressed (gzip and br, every protocol).
    expect(compressedFrames).toBeGreaterThanOrEqual(16);
  }, 180_000);

  it("the stream path served exactly the cases it should take", async () => {
    const served: string[] = [];
    for (const c of cases) {
      const before = leanCalls;
      await send(lean, c);
      if (leanCalls > before) served.push(c.name);
    }
    expect(served.sort()).toEqual(
      cases
        .filter((c) => c.lean)
        .map((c) => c.name)
        .sort(),
    );
  });

  it("an unexpected failure inside the stream: the same internal answer, reported once per call", async () => {
    const list = feed.list;
    feed.list = () => Promise.reject(new Error("the disk is on fire"));
    try {
      for (const p of protocols) {
        const c = cases.find((x) => x.name === `${p.name} snapshot, ended by the deadline (h2)`) as Case;
        unknown.length = 0;
        const a = comparable(await send(reference, c));
        expect(unknown.length, p.name).toBe(1);
        const b = comparable(await send(lean, c));
        expect(unknown.length, p.name).toBe(2);
        expect(b).toEqual(a);
        const sent = `${Buffer.from(b.body, "base64").toString("utf8")}${JSON.stringify(b.trailers)}`;
        expect(sent).toContain("ERROR_UNKNOWN");
        expect(sent).not.toContain("fire");
      }
    } finally {
      feed.list = list;
      unknown.length = 0;
    }
  });

  /** One open stream per protocol and HTTP version on each tiny server, ended by `end`; their answers. */
  async function openThenEnd(end: () => void): Promise<{ name: string; a: Answer; b: Answer }[]> {
    const opened = cases.filter((c) => c.name.includes(" live, "));
    expect(opened.length).toBe(10);
    const live = opened.map((c) => {
      // No deadline: the stream ends only when `end` ends it.
      const headers = Object.fromEntries(
        Object.entries(c.headers).filter(([k]) => k !== "connect-timeout-ms" && k !== "grpc-timeout"),
      );
      const open = { ...c, headers };
      return { name: c.name, a: send(tinyReference, open), b: send(tinyLean, open) };
    });
    const stop = Date.now() + 5000;
    while (tinyHub.counts.watchers < 2 * live.length && Date.now() < stop) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(tinyHub.counts.watchers).toBe(2 * live.length);
    end();
    return Promise.all(
      live.map(async (x) => ({ name: x.name, a: comparable(await x.a), b: comparable(await x.b) })),
    );
  }

  it("a slow consumer cut off mid-stream (resource_exhausted): the same frames and end", async () => {
    // The live cases follow ta-2; three changes in one batch overflow every one-event buffer at once.
    const answers = await openThenEnd(() => {
      for (let i = 0; i < 3; i++) feed.update("job-2", { error_message: `flood ${i}` });
    });
    for (const { name, a, b } of answers) {
      expect(b, name).toEqual(a);
      const sent = `${Buffer.from(b.body, "base64").toString("utf8")}${JSON.stringify(b.trailers)}`;
      expect(sent, name).toContain("ERROR_WATCH_TOO_SLOW");
    }
  });

  it("shutdown ends every open stream cleanly, the same way", async () => {
    const answers = await openThenEnd(() => tinyHub.close());
    for (const { name, a, b } of answers) {
      expect(b, name).toEqual(a);
      const sent = `${Buffer.from(b.body, "base64").toString("utf8")}${JSON.stringify(b.trailers)}`;
      expect(sent, name).not.toContain("error");
    }
  });

  it("an undecodable Connect stream request is invalid_argument (connect-node: internal)", async () => {
    const c = cases.find((x) => x.name === "connect+proto undecodable message (h1)") as Case;
    const endOf = (a: Answer) => {
      const body = Buffer.from(a.body, "base64");
      expect(body[0]).toBe(0x02);
      return JSON.parse(body.subarray(5).toString("utf8")) as { error: { code: string; message: string } };
    };
    const a = endOf(await send(reference, c));
    const b = endOf(await send(lean, c));
    expect(a.error.code).toBe("internal");
    expect(b.error.code).toBe("invalid_argument");
    expect(b.error.message).toBe(a.error.message);
  });
});
