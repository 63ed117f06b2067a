/**
 * The lean unary path (src/wire/unary/, WIRE_UNARY=lean) answers byte for byte as connect-node does.
 *
 * Two servers on the same data and signing secret, one per setting, get the same corpus of valid and
 * invalid requests: every protocol (Connect JSON and binary, gRPC, gRPC-Web, REST), both HTTP versions,
 * compression both ways, deadlines, oversize bodies, bad envelopes, and every error code the service can
 * give. For each, status, every response header but `date`, body and trailers must be equal. The corpus
 * also says, per case, whether the lean path should take the request or hand it to connect-node; the
 * test counts the calls the lean path served (through its own interceptor) so a silent fall-through
 * cannot make the comparison trivially pass.
 */
import { gzipSync } from "node:zlib";
import { create, type DescMessage, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
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
      lean: false,
    });
    add({
      name: tag("json get, unknown request encoding"),
      via,
      path: `${JOB}/get`,
      headers: { ...json, "content-encoding": "snappy" },
      body: '{"job_id":"job-a01"}',
      lean: false,
    });
    // Deadlines go to connect-node.
    add({
      name: tag("deadline"),
      via,
      path: `${JOB}/get`,
      headers: { ...json, "connect-timeout-ms": "5000" },
      body: '{"job_id":"job-a01"}',
      lean: false,
    });
    add({
      name: tag("deadline too long"),
      via,
      path: `${JOB}/get`,
      headers: { ...json, "connect-timeout-ms": "99999999" },
      body: '{"job_id":"job-a01"}',
      lean: false,
    });
    add({
      name: tag("bad deadline"),
      via,
      path: `${JOB}/get`,
      headers: { ...json, "connect-timeout-ms": "soon" },
      body: '{"job_id":"job-a01"}',
      lean: false,
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
    add({
      name: tag("REST get"),
      via,
      path: "/identity/v2/job/get",
      headers: json,
      body: '{"job_id":"job-a01"}',
      lean: false,
    });
    add({
      name: tag("REST not_found"),
      via,
      path: "/identity/job/get",
      headers: json,
      body: '{"job_id":"job-none"}',
      lean: false,
    });
    add({
      name: tag("gRPC-Web get"),
      via,
      path: `${JOB}/get`,
      headers: { ...auth, "content-type": "application/grpc-web+proto" },
      body: grpcFrame(bin(JobRequestSchema, { jobId: "job-a01" })),
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
  g(
    "gzip request",
    grpcFrame(gzipSync(valid), { compressed: true }),
    { ...grpc, "grpc-encoding": "gzip" },
    false,
  );
  g(
    "unknown request encoding",
    grpcFrame(valid, { compressed: true }),
    { ...grpc, "grpc-encoding": "snappy" },
    false,
  );
  g("deadline", grpcFrame(valid), { ...grpc, "grpc-timeout": "5S" }, false);
  g("bad deadline", grpcFrame(valid), { ...grpc, "grpc-timeout": "soon" }, false);
  g(
    "json codec",
    Buffer.from(grpcFrame(Buffer.from('{"job_id":"job-a01"}'))),
    { ...grpc, "content-type": "application/grpc+json" },
    false,
  );
  g("unknown method", grpcFrame(valid), grpc, false, `${JOB}/nope`);
  return out;
}

async function send(server: AppServer, c: Case): Promise<Answer> {
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
    expect(cases.length).toBeGreaterThan(90);
    expect(cases.filter((c) => c.lean).length).toBeGreaterThan(50);
    expect(cases.filter((c) => !c.lean).length).toBeGreaterThan(20);
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
