/**
 * The unary path (src/wire/unary/, the default) answers byte for byte as connect's own handlers do.
 *
 * Two servers on the same data and signing secret, one serving unary calls through connect's router
 * (WIRE_UNARY=connect, the reference) and one through the unary path, get the same corpus of valid and
 * invalid requests: Connect JSON and binary, gRPC, gRPC-Web (binary and JSON), both HTTP versions,
 * compression both ways, deadlines (valid, expired, malformed, over the maximum), oversize bodies, bad
 * envelopes, and every error code the service can give. For each, status, every response header but
 * `date`, body and trailers must be equal. The corpus also says, per case, whether the unary path should
 * take the request or hand it to connect's router; the test counts the calls the unary path served so
 * a silent fall-through cannot make the comparison trivially pass.
 *
 * REST takes the unary path on both servers, so its answers are compared with what the old REST layer
 * made of the reference server's Connect JSON answer to the same call: the same body on success; on
 * error SpaceONE's `{"detail": {"code", "message"}}` split from the Connect message, with the
 * console-api-v2 status and the same `x-spaceone-error-*` headers.
 */
import { brotliCompressSync, gunzipSync, gzipSync } from "node:zlib";
import { create, type DescMessage, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CancelJobRequestSchema,
  StartJobRequestSchema,
  WaitJobRequestSchema,
} from "../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import {
  JobRequestSchema,
  JobStatQuerySchema,
  JobsQuerySchema,
} from "../gen/spaceone/api/identity/v2/job_pb.js";
import { codeName, httpStatusForCode } from "../src/wire/errors.js";
import { type AppServer, startAppServer } from "./support/app-server.js";
import { grpcFrame, h1Post, http2Request } from "./support/http-client.js";

const JOB = "/spaceone.api.identity.v2.Job";
const LIFECYCLE = "/spaceone.api.identity.v2.JobLifecycle";
const MAX_BODY = 64 * 1024;

type Via = "h1" | "h2";

interface Case {
  readonly name: string;
  readonly via: Via;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array | string;
  /** Whether the lean path serves it (true) or hands it to connect-node / REST (false). */
  readonly lean: boolean;
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly trailers: Record<string, string>;
  readonly body: string;
}

let connectServer: AppServer;
let leanServer: AppServer;
let admin: string;
let member: string;
let worker: string;
let cases: Case[];

function bin<D extends DescMessage>(schema: D, init: MessageInitShape<D>): Uint8Array {
  return toBinary(schema, create(schema, init));
}

/** The corpus: a function of the tokens, so both servers get the very same bytes. */
function corpus(): Case[] {
  const auth = { authorization: `Bearer ${admin}` };
  const json = { ...auth, "content-type": "application/json" };
  const proto = { ...auth, "content-type": "application/proto" };
  const grpc = { ...auth, "content-type": "application/grpc", te: "trailers" };
  const system = { authorization: `Bearer ${worker}`, "content-type": "application/json" };
  const out: Case[] = [];
  const add = (c: Omit<Case, "lean"> & { lean?: boolean }) => out.push({ lean: true, ...c });
  const listAll = { query: { sort: [{ key: "created_at", desc: true }] } };

  for (const via of ["h1", "h2"] as const) {
    const tag = (name: string) => `${name} (${via})`;
    // Connect JSON: successes and every error code the read API gives.
    add({ name: tag("json get"), via, path: `${JOB}/get`, headers: json, body: '{"job_id":"job-a01"}' });
    add({
      name: tag("json get, camelCase field"),
      via,
      path: `${JOB}/get`,
      headers: json,
      body: '{"jobId":"job-a02"}',
    });
    add({
      name: tag("json get, charset"),
      via,
      path: `${JOB}/get`,
      headers: { ...json, "content-type": "application/json; charset=utf-8" },
      body: '{"job_id":"job-a01"}',
    });
    add({ name: tag("json list"), via, path: `${JOB}/list`, headers: json, body: JSON.stringify(listAll) });
    add({
      name: tag("json stat"),
      via,
      path: `${JOB}/stat`,
      headers: json,
      body: JSON.stringify({
        query: {
          aggregate: [
            {
              group: {
                keys: [{ key: "status", name: "status" }],
                fields: [{ operator: "count", name: "n" }],
              },
            },
          ],
        },
      }),
    });
    add({ name: tag("not_found"), via, path: `${JOB}/get`, headers: json, body: '{"job_id":"job-none"}' });
    add({
      name: tag("invalid_argument: bad filter"),
      via,
      path: `${JOB}/list`,
      headers: json,
      body: '{"query":{"filter":[{"k":"nope","v":1,"o":"eq"}]}}',
    });
    add({
      name: tag("invalid_argument: unknown field"),
      via,
      path: `${JOB}/get`,
      headers: json,
      body: '{"job_idd":"x"}',
    });
    add({ name: tag("invalid_argument: not JSON"), via, path: `${JOB}/get`, headers: json, body: "{nope" });
    add({
      name: tag("invalid_argument: bad UTF-8"),
      via,
      path: `${JOB}/get`,
      headers: json,
      body: Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]),
    });
    add({ name: tag("required parameter"), via, path: `${JOB}/get`, headers: json, body: "{}" });
    add({
      name: tag("unauthenticated: no token"),
      via,
      path: `${JOB}/get`,
      headers: { "content-type": "application/json" },
      body: '{"job_id":"job-a01"}',
    });
    add({
      name: tag("unauthenticated: bad token"),
      via,
      path: `${JOB}/get`,
      headers: { ...json, authorization: "Bearer x.y.z" },
      body: '{"job_id":"job-a01"}',
    });
    add({
      name: tag("permission_denied / scoped not_found"),
      via,
      path: `${JOB}/delete`,
      headers: { ...json, authorization: `Bearer ${member}` },
      body: '{"job_id":"job-a01"}',
    });
    add({
      name: tag("failed_precondition: start a finished job"),
      via,
      path: `${LIFECYCLE}/start`,
      headers: system,
      body: '{"job_id":"job-a01"}',
    });
    add({
      name: tag("aborted or precondition: stale version"),
      via,
      path: `${LIFECYCLE}/cancel`,
      headers: system,
      body: '{"job_id":"job-a04","expected_version":999}',
    });
    add({
      name: tag("unimplemented or served: wait"),
      via,
      path: `${LIFECYCLE}/wait`,
      headers: json,
      body: '{"job_id":"job-a01"}',
    });
    add({ name: tag("empty body"), via, path: `${JOB}/get`, headers: json, body: "" });
    // Compression: the answer is compressed when the client accepts it and it is large enough.
    add({
      name: tag("json list, accept gzip"),
      via,
      path: `${JOB}/list`,
      headers: { ...json, "accept-encoding": "gzip" },
      body: JSON.stringify(listAll),
    });
    add({
      name: tag("json list, accept br, gzip"),
      via,
      path: `${JOB}/list`,
      headers: { ...json, "accept-encoding": "br, gzip" },
      body: JSON.stringify(listAll),
    });
    add({
      name: tag("json get, accept gzip (too small to compress)"),
      via,
      path: `${JOB}/get`,
      headers: { ...json, "accept-encoding": "gzip" },
      body: '{"job_id":"job-a01"}',
    });
    add({
      name: tag("json get, gzip request"),
      via,
      path: `${JOB}/get`,
      headers: { ...json, "content-encoding": "gzip" },
      body: gzipSync('{"job_id":"job-a01"}'),
    });
    add({
      name: tag("proto get, gzip request"),
      via,
      path: `${JOB}/get`,
      headers: { ...proto, "content-encoding": "gzip" },
      body: gzipSync(bin(JobRequestSchema, { jobId: "job-a01" })),
    });
    add({
      name: tag("json get, gzip request that is not gzip"),
      via,
      path: `${JOB}/get`,
      headers: { ...json, "content-encoding": "gzip" },
      body: '{"job_id":"job-a01"}',
    });
    add({
      name: tag("json get, unknown request encoding"),
      via,
      path: `${JOB}/get`,
      headers: { ...json, "content-encoding": "snappy" },
      body: '{"job_id":"job-a01"}',
    });
    // Deadlines: within the maximum, already passed (the store refuses the read), malformed, too long.
    add({
      name: tag("deadline"),
      via,
      path: `${JOB}/get`,
      headers: { ...json, "connect-timeout-ms": "5000" },
      body: '{"job_id":"job-a01"}',
    });
    add({
      name: tag("deadline, list"),
      via,
      path: `${JOB}/list`,
      headers: { ...json, "connect-timeout-ms": "5000" },
      body: JSON.stringify(listAll),
    });
    add({
      name: tag("deadline passed"),
      via,
      path: `${JOB}/get`,
      headers: { ...json, "connect-timeout-ms": "0" },
      body: '{"job_id":"job-a01"}',
    });
    add({
      name: tag("deadline too long"),
      via,
      path: `${JOB}/get`,
      headers: { ...json, "connect-timeout-ms": "99999999" },
      body: '{"job_id":"job-a01"}',
    });
    add({
      name: tag("bad deadline"),
      via,
      path: `${JOB}/get`,
      headers: { ...json, "connect-timeout-ms": "soon" },
      body: '{"job_id":"job-a01"}',
    });
    // Oversize: declared (h1) goes to connect-node; undeclared (h2 sends no content-length) is read.
    add({
      name: tag("oversize body"),
      via,
      path: `${JOB}/list`,
      headers: json,
      body: `{"query":{"keyword":"${"x".repeat(MAX_BODY)}"}}`,
      lean: via === "h2",
    });
    // Connect binary.
    add({
      name: tag("proto get"),
      via,
      path: `${JOB}/get`,
      headers: proto,
      body: bin(JobRequestSchema, { jobId: "job-a01" }),
    });
    add({
      name: tag("proto list"),
      via,
      path: `${JOB}/list`,
      headers: proto,
      body: bin(JobsQuerySchema, {}),
    });
    add({
      name: tag("proto stat, empty query"),
      via,
      path: `${JOB}/stat`,
      headers: proto,
      body: bin(JobStatQuerySchema, {}),
    });
    add({
      name: tag("proto not_found"),
      via,
      path: `${JOB}/get`,
      headers: proto,
      body: bin(JobRequestSchema, { jobId: "job-zzz" }),
    });
    add({
      name: tag("proto garbage"),
      via,
      path: `${JOB}/get`,
      headers: proto,
      body: Buffer.from([0xff, 0xff, 0xff]),
    });
    add({
      name: tag("proto wrong wire type"),
      via,
      path: `${JOB}/get`,
      headers: proto,
      body: Buffer.from([0x08, 0x05]),
    });
    add({
      name: tag("proto lifecycle start"),
      via,
      path: `${LIFECYCLE}/start`,
      headers: proto,
      body: bin(StartJobRequestSchema, { jobId: "job-a02" }),
    });
    add({
      name: tag("proto lifecycle cancel unknown"),
      via,
      path: `${LIFECYCLE}/cancel`,
      headers: proto,
      body: bin(CancelJobRequestSchema, { jobId: "job-none" }),
    });
    add({
      name: tag("proto wait"),
      via,
      path: `${LIFECYCLE}/wait`,
      headers: proto,
      body: bin(WaitJobRequestSchema, { jobId: "job-none" }),
    });
    // Not unary Connect: connect-node and the REST layer answer, as before.
    add({
      name: tag("streaming content type"),
      via,
      path: `${JOB}/get`,
      headers: { ...auth, "content-type": "application/connect+json" },
      body: "{}",
      lean: false,
    });
    add({
      name: tag("unsupported content type"),
      via,
      path: `${JOB}/get`,
      headers: { ...auth, "content-type": "text/xml" },
      body: "<x/>",
      lean: false,
    });
    add({ name: tag("unknown method"), via, path: `${JOB}/nope`, headers: json, body: "{}", lean: false });
    // gRPC-Web (binary and JSON), on both HTTP versions.
    const web = { ...auth, "content-type": "application/grpc-web+proto" };
    const w = (name: string, body: Uint8Array, headers: Record<string, string> = web, path = `${JOB}/get`) =>
      add({ name: tag(`gRPC-Web ${name}`), via, path, headers, body });
    const validGet = bin(JobRequestSchema, { jobId: "job-a01" });
    w("get", grpcFrame(validGet));
    w("get, bare content type", grpcFrame(validGet), { ...web, "content-type": "application/grpc-web" });
    w("list", grpcFrame(bin(JobsQuerySchema, {})), web, `${JOB}/list`);
    w(
      "list, accept gzip",
      grpcFrame(bin(JobsQuerySchema, {})),
      { ...web, "grpc-accept-encoding": "gzip" },
      `${JOB}/list`,
    );
    w("not_found", grpcFrame(bin(JobRequestSchema, { jobId: "job-zzz" })));
    w("unauthenticated", grpcFrame(validGet), { "content-type": "application/grpc-web+proto" });
    w("garbage protobuf", grpcFrame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])));
    w("compressed flag without grpc-encoding", grpcFrame(validGet, { compressed: true }));
    w("gzip request", grpcFrame(gzipSync(validGet), { compressed: true }), {
      ...web,
      "grpc-encoding": "gzip",
    });
    w("deadline", grpcFrame(validGet), { ...web, "grpc-timeout": "5S" });
    w("deadline passed", grpcFrame(validGet), { ...web, "grpc-timeout": "0m" });
    w("bad deadline", grpcFrame(validGet), { ...web, "grpc-timeout": "soon" });
    w("two messages", Buffer.concat([grpcFrame(validGet), grpcFrame(validGet)]));
    w("no message", Buffer.alloc(0));
    w("json codec", grpcFrame(Buffer.from('{"job_id":"job-a01"}')), {
      ...web,
      "content-type": "application/grpc-web+json",
    });
    add({
      name: tag("gRPC-Web text (connect's router)"),
      via,
      path: `${JOB}/get`,
      headers: { ...auth, "content-type": "application/grpc-web-text" },
      body: Buffer.from(grpcFrame(validGet)).toString("base64"),
      lean: false,
    });
  }

  // gRPC (HTTP/2 only; over HTTP/1.1 it is connect-node's).
  const valid = bin(JobRequestSchema, { jobId: "job-a01" });
  const g = (
    name: string,
    body: Uint8Array,
    headers: Record<string, string> = grpc,
    lean = true,
    path = `${JOB}/get`,
  ) => add({ name: `grpc ${name}`, via: "h2", path, headers, body, lean });
  g("get", grpcFrame(valid));
  g("get, grpc+proto", grpcFrame(valid), { ...grpc, "content-type": "application/grpc+proto" });
  g("list", grpcFrame(bin(JobsQuerySchema, {})), grpc, true, `${JOB}/list`);
  g(
    "list, accept gzip",
    grpcFrame(bin(JobsQuerySchema, {})),
    { ...grpc, "grpc-accept-encoding": "identity,deflate,gzip" },
    true,
    `${JOB}/list`,
  );
  g("get, accept gzip (too small)", grpcFrame(valid), { ...grpc, "grpc-accept-encoding": "gzip" });
  g("not_found", grpcFrame(bin(JobRequestSchema, { jobId: "job-zzz" })));
  g("unauthenticated", grpcFrame(valid), { "content-type": "application/grpc", te: "trailers" });
  g(
    "failed_precondition",
    grpcFrame(bin(StartJobRequestSchema, { jobId: "job-a01" })),
    { ...grpc, authorization: `Bearer ${worker}` },
    true,
    `${LIFECYCLE}/start`,
  );
  g(
    "unimplemented: wait",
    grpcFrame(bin(WaitJobRequestSchema, { jobId: "job-none" })),
    grpc,
    true,
    `${LIFECYCLE}/wait`,
  );
  g("garbage protobuf", grpcFrame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])));
  g("wrong wire type", grpcFrame(Buffer.from([0x08, 0x05])));
  g("length prefix longer than the data", grpcFrame(valid, { declaredLength: 100 }));
  g("length prefix past the limit", grpcFrame(valid, { declaredLength: MAX_BODY + 1 }));
  g("frame cut in its header", Buffer.from([0x00, 0x00, 0x00]));
  g("compressed flag without grpc-encoding", grpcFrame(valid, { compressed: true }));
  g("two messages", Buffer.concat([grpcFrame(valid), grpcFrame(valid)]));
  g("no message", Buffer.alloc(0));
  g("trailing bytes", Buffer.concat([grpcFrame(valid), Buffer.from([1, 2])]));
  g("oversize message", grpcFrame(Buffer.alloc(MAX_BODY + 10, 0x0a)));
  g("gzip request", grpcFrame(gzipSync(valid), { compressed: true }), { ...grpc, "grpc-encoding": "gzip" });
  g("br request", grpcFrame(brotliCompressSync(valid), { compressed: true }), {
    ...grpc,
    "grpc-encoding": "br",
  });
  g("unknown request encoding", grpcFrame(valid, { compressed: true }), {
    ...grpc,
    "grpc-encoding": "snappy",
  });
  g("deadline", grpcFrame(valid), { ...grpc, "grpc-timeout": "5S" });
  g("deadline passed", grpcFrame(valid), { ...grpc, "grpc-timeout": "0m" });
  g("deadline too long", grpcFrame(valid), { ...grpc, "grpc-timeout": "3600S" });
  g("bad deadline", grpcFrame(valid), { ...grpc, "grpc-timeout": "soon" });
  g("json codec", Buffer.from(grpcFrame(Buffer.from('{"job_id":"job-a01"}'))), {
    ...grpc,
    "content-type": "application/grpc+json",
  });
  g("unknown method", grpcFrame(valid), grpc, false, `${JOB}/nope`);
  return out;
}

interface RestCase {
  readonly name: string;
  readonly via: Via;
  /** The REST path sent to the unary path. */
  readonly path: string;
  /** The procedure the old REST layer forwarded it to, as Connect JSON. */
  readonly procedure: string;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array | string;
}

function restCorpus(): RestCase[] {
  const auth = { authorization: `Bearer ${admin}` };
  const json = { ...auth, "content-type": "application/json" };
  const out: RestCase[] = [];
  const listAll = { query: { sort: [{ key: "created_at", desc: true }] } };
  for (const via of ["h1", "h2"] as const) {
    const add = (
      name: string,
      path: string,
      procedure: string,
      headers: Record<string, string>,
      body: Uint8Array | string,
    ) => out.push({ name: `REST ${name} (${via})`, via, path, procedure, headers, body });
    const get = `${JOB}/get`;
    add("get", "/identity/v2/job/get", get, json, '{"job_id":"job-a01"}');
    add("get, console path", "/identity/job/get", get, json, '{"job_id":"job-a01"}');
    add(
      "get, text/plain",
      "/identity/v2/job/get",
      get,
      { ...auth, "content-type": "text/plain;charset=UTF-8" },
      '{"job_id":"job-a01"}',
    );
    add(
      "get, curl -d",
      "/identity/v2/job/get",
      get,
      { ...auth, "content-type": "application/x-www-form-urlencoded" },
      '{"job_id":"job-a01"}',
    );
    add("get, no content type", "/identity/v2/job/get", get, auth, '{"job_id":"job-a01"}');
    add("not_found", "/identity/job/get", get, json, '{"job_id":"job-none"}');
    add("unknown field", "/identity/v2/job/get", get, json, '{"job_idd":"x"}');
    add("not JSON", "/identity/v2/job/get", get, json, "{nope");
    add("required parameter", "/identity/v2/job/get", get, json, "{}");
    add(
      "no token",
      "/identity/v2/job/get",
      get,
      { "content-type": "application/json" },
      '{"job_id":"job-a01"}',
    );
    add(
      "scoped delete",
      "/identity/v2/job/delete",
      `${JOB}/delete`,
      { ...json, authorization: `Bearer ${member}` },
      '{"job_id":"job-a01"}',
    );
    add(
      "list, accept gzip",
      "/identity/v2/job/list",
      `${JOB}/list`,
      { ...json, "accept-encoding": "gzip" },
      JSON.stringify(listAll),
    );
    add(
      "bad filter",
      "/identity/v2/job/list",
      `${JOB}/list`,
      json,
      '{"query":{"filter":[{"k":"nope","v":1,"o":"eq"}]}}',
    );
    add(
      "gzip request",
      "/identity/v2/job/get",
      get,
      { ...json, "content-encoding": "gzip" },
      gzipSync('{"job_id":"job-a01"}'),
    );
    add(
      "unknown request encoding",
      "/identity/v2/job/get",
      get,
      { ...json, "content-encoding": "snappy" },
      "{}",
    );
    add(
      "deadline",
      "/identity/v2/job/get",
      get,
      { ...json, "connect-timeout-ms": "5000" },
      '{"job_id":"job-a01"}',
    );
    add(
      "deadline passed",
      "/identity/v2/job/get",
      get,
      { ...json, "connect-timeout-ms": "0" },
      '{"job_id":"job-a01"}',
    );
    add(
      "bad deadline",
      "/identity/v2/job/get",
      get,
      { ...json, "connect-timeout-ms": "soon" },
      '{"job_id":"job-a01"}',
    );
    add(
      "failed_precondition",
      "/identity/v2/job/start",
      `${LIFECYCLE}/start`,
      { authorization: `Bearer ${worker}`, "content-type": "application/json" },
      '{"job_id":"job-a01"}',
    );
  }
  return out;
}

/** What the old REST layer made of a Connect JSON answer: the same on success, else SpaceONE's body. */
function oldRestAnswer(connect: Answer): Answer {
  if (connect.status === 200) return connect;
  let raw = Buffer.from(connect.body, "base64");
  if (connect.headers["content-encoding"] === "gzip") raw = gunzipSync(raw);
  const error = JSON.parse(raw.toString("utf8")) as { code: string; message?: string };
  const code = Object.entries(Code).find(([, v]) => typeof v === "number" && codeName(v) === error.code)?.[1];
  if (typeof code !== "number") throw new Error(`not a Connect code: ${error.code}`);
  const message = error.message ?? "";
  const split = /^(ERROR_[A-Z0-9_]+): ([\s\S]*)$/.exec(message);
  const detail = split
    ? { code: split[1], message: split[2] }
    : { code: `ERROR_${error.code.toUpperCase()}`, message };
  const body = Buffer.from(JSON.stringify({ detail }));
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(connect.headers)) {
    if (k !== "content-length" && k !== "content-encoding" && k !== "content-type") headers[k] = v;
  }
  headers["content-type"] = "application/json";
  headers["content-length"] = String(body.length);
  return { status: httpStatusForCode(code), headers, trailers: {}, body: body.toString("base64") };
}

async function send(server: AppServer, c: Omit<Case, "lean">): Promise<Answer> {
  if (c.via === "h1") {
    const r = await h1Post(`${server.url}${c.path}`, c.headers, c.body, undefined, 10_000);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(r.headers)) if (v !== undefined) headers[k] = String(v);
    return { status: r.status, headers, trailers: {}, body: r.body.toString("base64") };
  }
  const r = await http2Request(server.url, { path: c.path, headers: c.headers, body: c.body });
  if (r.kind !== "response") throw new Error(`${c.name}: ${r.kind} ${r.detail ?? ""}`);
  return { status: r.status, headers: r.headers, trailers: r.trailers, body: r.body.toString("base64") };
}

/** The outcome's code: the gRPC status, the Connect error code, or "ok". */
function answerCode(a: Answer): string {
  const grpcStatus = a.trailers["grpc-status"] ?? a.headers["grpc-status"];
  if (grpcStatus !== undefined) return `grpc ${grpcStatus}`;
  if (a.status === 200) return "ok";
  try {
    const body = JSON.parse(Buffer.from(a.body, "base64").toString("utf8")) as {
      code?: string;
      detail?: unknown;
    };
    return body.code ?? (body.detail ? "rest error" : `HTTP ${a.status}`);
  } catch {
    return `HTTP ${a.status}`;
  }
}

/** Everything but what differs between two correct answers (the clock, the connection bookkeeping). */
function comparable(a: Answer): Answer {
  const headers = { ...a.headers };
  for (const k of ["date", "connection", "keep-alive"]) delete headers[k];
  // A fresh id per call (access logs): compare that both paths send one, not its value.
  if (headers["x-request-id"] !== undefined) headers["x-request-id"] = "<per call>";
  return { ...a, headers };
}

/** Calls the lean path served, counted by an interceptor only it installs. */
let leanCalls = 0;

beforeAll(async () => {
  connectServer = await startAppServer({ env: { MAX_BODY_BYTES: String(MAX_BODY), WIRE_UNARY: "connect" } });
  leanServer = await startAppServer({
    env: {
      MAX_BODY_BYTES: String(MAX_BODY),
      WIRE_UNARY: "lean",
      JWT_SECRET_FILE: connectServer.config.jwt.secretFile,
    },
    onLeanCall: () => {
      leanCalls++;
    },
  });
  admin = await connectServer.token("DOMAIN_ADMIN");
  member = await connectServer.token("WORKSPACE_MEMBER", "domain-a", "ws-1");
  worker = await connectServer.systemToken("domain-a");
  cases = corpus();
});

afterAll(async () => {
  await connectServer?.close();
  await leanServer?.close();
});

describe("lean unary path vs connect-node: same corpus, same answers", () => {
  it("the corpus covers every protocol, both HTTP versions, and both paths", () => {
    expect(cases.length).toBeGreaterThan(140);
    expect(cases.filter((c) => c.lean).length).toBeGreaterThan(130);
    // What connect's router still serves: streaming types, unknown methods and types, gRPC-Web text, a
    // declared oversize body.
    expect(cases.filter((c) => !c.lean).length).toBeGreaterThanOrEqual(8);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  it("every answer is equal: status, headers, body, trailers", async () => {
    const mismatches: string[] = [];
    const codes = new Set<string>();
    for (const c of cases) {
      const a = comparable(await send(connectServer, c));
      const b = comparable(await send(leanServer, c));
      codes.add(answerCode(b));
      try {
        expect(b).toEqual(a);
      } catch {
        mismatches.push(
          `${c.name}:\n  connect-node ${JSON.stringify(a)}\n  lean         ${JSON.stringify(b)}`,
        );
      }
    }
    expect(mismatches, mismatches.join("\n")).toEqual([]);
    // The corpus reaches every error code the service gives (Connect name, or gRPC status number).
    for (const code of [
      "ok",
      "invalid_argument",
      "not_found",
      "unauthenticated",
      "permission_denied",
      "failed_precondition",
      "aborted",
      "resource_exhausted",
      "unimplemented",
      "deadline_exceeded",
      "grpc 4",
      "grpc 0",
      "grpc 3",
      "grpc 5",
      "grpc 9",
      "grpc 8",
      "grpc 12",
      "grpc 16",
    ]) {
      expect([...codes], code).toContain(code);
    }
  });

  it("REST answers as the old REST layer made of the reference's Connect JSON answer", async () => {
    const restCases = restCorpus();
    expect(restCases.length).toBeGreaterThan(30);
    const mismatches: string[] = [];
    const statuses = new Set<number>();
    for (const c of restCases) {
      const reference = await send(connectServer, {
        ...c,
        path: c.procedure,
        headers: { ...c.headers, "content-type": "application/json" },
      });
      const expected = comparable(oldRestAnswer(reference));
      const before = leanCalls;
      const got = comparable(await send(leanServer, c));
      if (leanCalls !== before + 1) mismatches.push(`${c.name}: not served by the unary path`);
      statuses.add(got.status);
      try {
        expect(got).toEqual(expected);
      } catch {
        mismatches.push(
          `${c.name}:\n  old REST ${JSON.stringify(expected)}\n  now      ${JSON.stringify(got)}`,
        );
      }
    }
    expect(mismatches, mismatches.join("\n")).toEqual([]);
    // Success, bad request, unauthenticated, not found, unimplemented, deadline.
    for (const status of [200, 400, 401, 404, 501, 504])
      expect([...statuses], String(status)).toContain(status);
  });

  it("the lean path served exactly the cases it should take", async () => {
    const served: string[] = [];
    for (const c of cases) {
      const before = leanCalls;
      await send(leanServer, c);
      if (leanCalls > before) served.push(c.name);
    }
    const expected = cases.filter((c) => c.lean).map((c) => c.name);
    expect(served.sort()).toEqual(expected.sort());
  });
});
