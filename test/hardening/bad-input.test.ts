/**
 * Malformed requests over real HTTP: wrong JSON types for every field, unknown fields and operators,
 * huge and deeply nested values, invalid dates, catastrophic and pathological regexes, invalid UTF-8,
 * wrong content types, truncated and slow bodies, bad gRPC frames, decompression bombs, oversized
 * headers. Every one must get a clear client error (`invalid_argument`, `resource_exhausted`,
 * `unauthenticated`, or a protocol-level 4xx / gRPC status) within a deadline: never `internal` or a
 * 5xx, never a hang, and the server keeps answering valid requests afterwards.
 */
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AppServer, startAppServer } from "../support/app-server.js";
import { JOBS } from "../support/fixture.js";
import { grpcFrame, grpcStatusOf, http2Request } from "../support/http-client.js";
import { rawHttp1 } from "../support/raw-http.js";

const LIST = "/spaceone.api.identity.v2.Job/list";
const REST_LIST = "/identity/v2/job/list";
/** A whole request may take this long before it counts as a hang (generous for a loaded machine). */
const DEADLINE_MS = 10_000;

/** A job whose error_message is 5,000 `a`s and a `!`: the input that makes `^(a|a)*$` backtrack forever. */
const BAIT = {
  ...(JOBS[0] as (typeof JOBS)[number]),
  job_id: "job-bait",
  error_message: `${"a".repeat(5000)}!`,
};

let server: AppServer;
let token: string;
const tally = { tried: 0 };

beforeAll(async () => {
  server = await startAppServer({
    jobs: [...JOBS, BAIT],
    // Short request timeouts so the slow-body case resolves in seconds, not a minute.
    timeouts: { headersTimeoutMs: 3000, requestTimeoutMs: 3000 },
  });
  token = await server.token("DOMAIN_ADMIN");
});
afterAll(async () => {
  console.info(`bad-input: ${tally.tried} malformed requests`);
  await server?.close();
});

interface Answer {
  status: number;
  code: string;
  body: string;
}

/** POST a body (string or bytes) with fetch and a deadline; the Connect/REST error code when there is one. */
async function post(
  path: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Answer> {
  tally.tried++;
  const res = await fetch(server.url + path, {
    method: "POST",
    headers: { "content-type": "application/json", token, ...headers },
    body,
    signal: AbortSignal.timeout(DEADLINE_MS),
  });
  const text = await res.text();
  let code = "";
  try {
    const json = JSON.parse(text) as { code?: string; detail?: { code?: string } };
    code = json.code ?? json.detail?.code ?? "";
  } catch {
    // not JSON (e.g. a Node 4xx)
  }
  return { status: res.status, code, body: text };
}

/** A client error: a 4xx that is not a server fault. */
function expectClientError(answer: { status: number; code?: string; body?: string }, context: string) {
  expect(answer.status, `${context}: ${answer.body?.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
  expect(answer.status, `${context}: ${answer.body?.slice(0, 300)}`).toBeLessThan(500);
  expect(answer.code ?? "", context).not.toMatch(/internal|unknown|ERROR_UNKNOWN/i);
}

async function expectAlive() {
  const answer = await post(LIST, JSON.stringify({ query: { count_only: true } }));
  expect(answer.status, answer.body).toBe(200);
  expect(JSON.parse(answer.body)).toMatchObject({
    total_count: JOBS.filter((j) => j.domain_id === "domain-a").length + 1,
  });
}

// ---- wrong JSON types ----------------------------------------------------------------------------

const VALID: Record<string, unknown> = {
  query: {
    filter: [{ k: "status", v: "SUCCESS", o: "eq" }],
    filter_or: [{ k: "job_id", v: "job-a0", o: "contain" }],
    sort: [{ key: "created_at", desc: true }],
    page: { start: 1, limit: 5 },
    only: ["job_id"],
    keyword: "job",
  },
  status: "SUCCESS",
};

/** path -> values of a wrong type (or shape) for it: each one must be refused. */
const WRONG: [string, unknown[]][] = [
  ["", [[], "x", 1, true]],
  ["query", ["x", 1, [], true]],
  ["query.filter", [{}, "x", 1, true]],
  ["query.filter.0", ["x", 1, [], true, null]],
  ["query.filter.0.k", [1, {}, [], true, "", "nope", "status.x", "options..a", "options.a b"]],
  ["query.filter.0.o", [1, {}, [], true, "like", "EQ", "eq ", "$where", "__proto__"]],
  ["query.filter.0.v", [{}, [1], 5, "DONE", true, { a: [1, { b: 2 }] }]],
  ["query.filter_or", [{}, "x", 1]],
  ["query.filter_or.0", ["x", 1, [], null]],
  ["query.sort", [{}, "created_at", 1, [1], [{}], [{ key: 1 }], [{ key: "nope" }], [{ key: "options" }]]],
  ["query.sort.0.desc", ["yes", 1, {}, []]],
  ["query.page", [[], "1", 1, true]],
  ["query.page.start", [-1, 1.5, "x", {}, [], 1e20]],
  ["query.page.limit", [-5, 1.5, "x", {}, 1e12, 1001]],
  ["query.minimal", [1, "yes", {}, []]],
  ["query.count_only", [1, "yes", {}, []]],
  ["query.only", ["job_id", 1, [1], [{}], ["nope"], [""], ["options..a"], {}]],
  ["query.keyword", [1, [], {}, true]],
  ["query.unwind", [{ path: "options.regions" }]],
  ["query.lookup", [[{ from: "users" }]]],
  ["query.add_fields", [{ x: 1 }]],
  ["query.surprise", [1, "x", {}]],
  ["query.filter.0.extra", [1]],
  ["status", ["DONE", 99, {}, [], true]],
  ["job_id", [1, {}, [], true]],
  ["workspace_id", [1, {}, []]],
  ["trusted_account_id", [1, {}]],
  ["plugin_id", [[], 2]],
  ["surprise", [1, "x", null]],
];

function withValue(base: unknown, path: string, value: unknown): unknown {
  if (path === "") return value;
  const copy = structuredClone(base) as Record<string, unknown>;
  const segments = path.split(".");
  let target: Record<string, unknown> = copy;
  for (const segment of segments.slice(0, -1)) target = target[segment] as Record<string, unknown>;
  target[segments[segments.length - 1] as string] = value;
  return copy;
}

describe("wrong JSON types and shapes, field by field", () => {
  const cases = WRONG.flatMap(([path, values]) =>
    values.map((value) => [path || "(body)", path, value] as const),
  );
  it.each(cases)("%s = %j is invalid_argument (Connect and REST)", async (_label, path, value) => {
    const body = JSON.stringify(withValue(VALID, path, value));
    const connect = await post(LIST, body);
    expectClientError(connect, `connect ${path}`);
    expect(connect.code, connect.body).toBe("invalid_argument");
    const rest = await post(REST_LIST, body);
    expectClientError(rest, `rest ${path}`);
    expect(rest.status).toBe(400);
  });

  it("both aliases of one oneof ({k, key}) is invalid_argument", async () => {
    const answer = await post(
      LIST,
      JSON.stringify({ query: { filter: [{ k: "status", key: "status", v: "x", o: "eq" }] } }),
    );
    expect(answer.code, answer.body).toBe("invalid_argument");
  });

  it("random JSON anywhere in a valid request: never a server error, never a hang", async () => {
    const paths = [
      "",
      "query",
      "query.filter",
      "query.filter.0",
      "query.filter.0.k",
      "query.filter.0.v",
      "query.filter.0.o",
      "query.sort",
      "query.sort.0",
      "query.page",
      "query.only",
      "query.keyword",
      "status",
      "job_id",
      "query.filter_or.0.v",
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), fc.jsonValue({ maxDepth: 4 }), async (path, value) => {
        const answer = await post(LIST, JSON.stringify(withValue(VALID, path, value)));
        expect(answer.status, answer.body).not.toBeGreaterThanOrEqual(500);
        expect(answer.code, answer.body).not.toMatch(/internal|unknown/);
      }),
      { seed: 606, numRuns: 300 },
    );
    await expectAlive();
  });
});

// ---- bad values with valid types -----------------------------------------------------------------

function filterBody(k: string, o: string, v: unknown): string {
  return JSON.stringify({ query: { filter: [{ k, o, v }] } });
}

describe("bad values the wire accepts but the query refuses", () => {
  // Built as text: JSON.stringify itself overflows the stack on 10,000 levels.
  const deep = (k: string, o: string, depth: number) =>
    `{"query":{"filter":[{"k":"${k}","o":"${o}","v":${"[".repeat(depth)}"x"${"]".repeat(depth)}}]}}`;
  const cases: [string, string][] = [
    ["unknown operator", filterBody("status", "like", "x")],
    ["unknown field", filterBody("secret_column", "eq", "x")],
    ["sql in a field name", filterBody("status; DROP TABLE jobs", "eq", "x")],
    ["options path too deep", filterBody("options.a.b.c.d.e.f.g.h.i", "eq", "x")],
    ["invalid date (Feb 30)", filterBody("created_at", "datetime_gt", "2024-02-30")],
    ["invalid date (month 13)", filterBody("created_at", "gt", "2024-13-01T00:00:00Z")],
    ["invalid date (hour 25)", filterBody("created_at", "datetime_lt", "2024-01-01T25:00:00Z")],
    ["not a date", filterBody("created_at", "datetime_lt", "yesterday")],
    ["empty date", filterBody("created_at", "datetime_lt", "")],
    ["year 0000-00-00", filterBody("created_at", "datetime_lt", "0000-00-00")],
    ["date in a number", filterBody("created_at", "datetime_lt", 1700000000)],
    ["timediff with years", filterBody("created_at", "timediff_gt", "now-1y")],
    ["timediff double sign", filterBody("created_at", "timediff_gt", "now - - 1d")],
    ["timediff far past", filterBody("created_at", "timediff_gt", "now-999999999w")],
    ["timediff garbage", filterBody("created_at", "timediff_gt", "now/x")],
    ["invalid regex", filterBody("job_id", "regex", "(")],
    ["regex outside the portable subset (\\w)", filterBody("job_id", "regex", "\\w+")],
    ["regex with inline options", filterBody("job_id", "regex", "(?i)a")],
    ["regex outside the subset in regex_in", filterBody("job_id", "regex_in", ["ok", "a*?"])],
    ["regex with a backreference", filterBody("job_id", "regex", "(a)\\1")],
    ["regex with lookahead", filterBody("job_id", "regex", "a(?=b)")],
    ["257-character regex", filterBody("job_id", "regex", "a".repeat(257))],
    ["10k-deep nested array in v", deep("options.a", "eq", 10_000)],
    ["100-deep nested array in v", deep("options.a", "in", 100)],
    ["900 KB string in v", filterBody("error_message", "contain", "x".repeat(900_000))],
    ["5,000-character string in v", filterBody("job_id", "eq", "x".repeat(5000))],
    [
      "1,001 values",
      filterBody(
        "job_id",
        "in",
        Array.from({ length: 1001 }, (_, i) => `j${i}`),
      ),
    ],
    [
      "100,000 values",
      filterBody(
        "job_id",
        "in",
        Array.from({ length: 100_000 }, () => 1),
      ),
    ],
    ["an object for eq", filterBody("options.a", "eq", { $gt: "" })],
    ["a list for contain", filterBody("job_id", "contain", ["a"])],
    ["match with a quote in a key", filterBody("options.targets", "match", { "a'b": "1" })],
    ["exists with a string", filterBody("job_id", "exists", "yes")],
    [
      "2,000 conditions",
      JSON.stringify({
        query: { filter: Array.from({ length: 2000 }, () => ({ k: "job_id", v: "x", o: "eq" })) },
      }),
    ],
    [
      "300 sort keys",
      JSON.stringify({ query: { sort: Array.from({ length: 300 }, () => ({ key: "job_id" })) } }),
    ],
    ["100 only fields", JSON.stringify({ query: { only: Array.from({ length: 100 }, () => "job_id") } })],
    [
      "17-word keyword",
      JSON.stringify({ query: { keyword: Array.from({ length: 17 }, (_, i) => `w${i}`).join(" ") } }),
    ],
    ["5,000-character keyword", JSON.stringify({ query: { keyword: "k".repeat(5000) } })],
    ["lone surrogate in a key", filterBody("status\ud800", "eq", "x")],
    ["NUL in a key", filterBody("status\u0000", "eq", "x")],
    ["infinite number", '{"query":{"filter":[{"k":"options.n","o":"eq","v":1e999}]}}'],
    ["page limit over the maximum", JSON.stringify({ query: { page: { limit: 100_000 } } })],
  ];
  it.each(cases)("%s: invalid_argument, quickly", async (label, body) => {
    const started = performance.now();
    const answer = await post(LIST, body);
    expectClientError(answer, label);
    expect(["invalid_argument", "resource_exhausted"], answer.body.slice(0, 300)).toContain(answer.code);
    expect(performance.now() - started).toBeLessThan(DEADLINE_MS);
  });

  it("a pathological pattern that passes the checks cannot stall the server", async () => {
    // `^(a|a)*$` has no nested quantifier, so it is accepted; on BAIT's 5,001 characters a backtracking
    // engine would run for longer than the universe has existed. Answered (no match) within the deadline.
    // Nested quantifiers too: the engine is linear whatever the shape (docs/regex.md).
    for (const pattern of ["^(a|a)*$", "^a*a*a*a*a*a*b", "^(a|aa)*$", "^(a+)+$", "(.*a){20}b", "^(x*)*y$"]) {
      const started = performance.now();
      const answer = await post(LIST, filterBody("error_message", "regex", pattern));
      expect(answer.status, answer.body).toBe(200);
      expect(JSON.parse(answer.body).total_count ?? 0).toBe(0);
      expect(performance.now() - started).toBeLessThan(DEADLINE_MS);
    }
    // ...and the same patterns do match what they should.
    const match = await post(LIST, filterBody("error_message", "regex", "^(a|a)*!$"));
    expect(JSON.parse(match.body).results.map((r: { job_id: string }) => r.job_id)).toEqual(["job-bait"]);
    await expectAlive();
  });
});

// ---- bytes, content types, bodies ------------------------------------------------------------------

describe("bytes and framing over HTTP/1.1", () => {
  const port = () => server.port;
  const json = (body: string | Buffer, headers: Record<string, string> = {}) => ({
    path: LIST,
    headers: { "content-type": "application/json", token, ...headers },
    body,
  });

  it("invalid UTF-8 in a JSON body: invalid_argument on every path", async () => {
    // src/app.ts decodes JSON bodies with a fatal TextDecoder, so invalid bytes are refused rather
    // than silently becoming U+FFFD.
    const bad = Buffer.concat([
      Buffer.from('{"job_id":"'),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('"}'),
    ]);
    for (const path of [LIST, REST_LIST, "/spaceone.api.identity.v2.Job/get"]) {
      const outcome = await rawHttp1(port(), { ...json(bad), path });
      tally.tried++;
      expect(outcome.kind, path).toBe("response");
      if (outcome.kind !== "response") continue;
      expect(outcome.status, path).toBe(400);
      const body = JSON.parse(outcome.body.toString());
      if (path === REST_LIST) expect(body.detail.code, path).toBe("ERROR_INVALID_ARGUMENT");
      else expect(body.code, path).toBe("invalid_argument");
    }
  });

  it("wrong content types: 415 (or invalid_argument when the bytes are read as the declared type)", async () => {
    const body = JSON.stringify(VALID);
    for (const contentType of [
      "text/xml",
      "application/xml",
      "multipart/form-data; boundary=x",
      "application/proto",
      "application/json; charset=latin1",
      "image/png",
      "",
    ]) {
      for (const path of [LIST, REST_LIST]) {
        const outcome = await rawHttp1(port(), {
          path,
          headers: contentType ? { "content-type": contentType, token } : { token },
          body,
        });
        tally.tried++;
        expect(outcome.kind, `${contentType} ${path}`).toBe("response");
        if (outcome.kind !== "response") continue;
        // REST reads a missing content type as JSON (curl-friendly); everything else is a client error.
        if (path === REST_LIST && contentType === "") expect(outcome.status).toBe(200);
        else
          expectClientError(
            { status: outcome.status, body: outcome.body.toString() },
            `${contentType} ${path}`,
          );
      }
    }
  });

  it("a body shorter than its Content-Length, then EOF: answered or closed, not hung", async () => {
    for (const path of [LIST, REST_LIST]) {
      const outcome = await rawHttp1(port(), {
        ...json('{"query":'),
        path,
        contentLength: 1000,
        endAfterBody: true,
      });
      tally.tried++;
      expect(outcome.kind, path).not.toBe("timeout");
      if (outcome.kind === "response")
        expectClientError({ status: outcome.status, body: outcome.body.toString() }, path);
    }
  });

  it("a body that never completes is cut off by the request timeout", async () => {
    const outcome = await rawHttp1(port(), { ...json('{"query":'), contentLength: 1000, timeoutMs: 9000 });
    tally.tried++;
    expect(outcome.kind).not.toBe("timeout");
    if (outcome.kind === "response") expectClientError({ status: outcome.status }, "slow body");
  });

  it("malformed chunked encoding and a garbage request line are 400s from the HTTP parser", async () => {
    const chunked = await rawHttp1(port(), {
      ...json("zz\r\n{}\r\n0\r\n\r\n"),
      contentLength: null,
      headers: { "content-type": "application/json", token, "transfer-encoding": "chunked" },
    });
    const garbage = await rawHttp1(port(), { path: "/ / / HTTP/9", method: "\u0001GET" });
    tally.tried += 2;
    for (const outcome of [chunked, garbage]) {
      expect(outcome.kind).not.toBe("timeout");
      if (outcome.kind === "response") expectClientError({ status: outcome.status }, "http parser");
    }
  });

  it("a gzip bomb past MAX_BODY_BYTES is resource_exhausted (Connect and REST)", async () => {
    const bomb = gzipSync(Buffer.alloc(20 * 1024 * 1024, 0x20));
    for (const path of [LIST, REST_LIST]) {
      const answer = await post(path, bomb, { "content-encoding": "gzip" });
      expectClientError(answer, path);
      expect(answer.status).toBe(429);
    }
  });

  it("a body that is not gzip under content-encoding gzip, and an unknown encoding, are client errors", async () => {
    const notGzip = await post(LIST, JSON.stringify(VALID), { "content-encoding": "gzip" });
    expectClientError(notGzip, "not gzip");
    const unknown = await post(LIST, JSON.stringify(VALID), { "content-encoding": "snappy" });
    // Connect answers an unsupported encoding with `unimplemented` (HTTP 501) per its protocol.
    expect([400, 415, 501], unknown.body).toContain(unknown.status);
    expect(unknown.code).not.toMatch(/internal/);
  });

  it("oversized headers: 431 from the HTTP parser; an oversized token: unauthenticated", async () => {
    const huge = await rawHttp1(port(), { ...json("{}", { "x-filler": "x".repeat(64 * 1024) }) });
    tally.tried++;
    expect(huge.kind).not.toBe("timeout");
    if (huge.kind === "response") expect(huge.status).toBe(431);
    const bigToken = await post(LIST, "{}", { token: "x".repeat(15_000) });
    expect(bigToken.code, bigToken.body).toBe("unauthenticated");
  });

  it("bad deadlines: invalid_argument", async () => {
    for (const timeout of ["abc", "-1", "99999999999999999999", "1.5"]) {
      const answer = await post(LIST, "{}", { "connect-timeout-ms": timeout });
      expectClientError(answer, `timeout ${timeout}`);
    }
  });
});

// ---- gRPC frames -----------------------------------------------------------------------------------

describe("bad gRPC frames over HTTP/2", () => {
  /** gRPC statuses that are client errors (or protocol refusals): never INTERNAL (13) or UNKNOWN (2). */
  const CLIENT_STATUSES = ["3", "8", "11", "12", "16"];

  async function grpcCall(body: Buffer, headers: Record<string, string> = {}) {
    tally.tried++;
    const outcome = await http2Request(server.url, {
      path: LIST,
      headers: { "content-type": "application/grpc", te: "trailers", token, ...headers },
      body,
      timeoutMs: DEADLINE_MS,
    });
    expect(outcome.kind).toBe("response");
    return { ...grpcStatusOf(outcome), http: outcome.status };
  }

  const valid = Buffer.from([0x0a, 0x00]); // field 1 (query), empty message

  it.each([
    ["garbage protobuf", grpcFrame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]))],
    ["a wrong wire type for a field", grpcFrame(Buffer.from([0x10, 0x05]))],
    ["a length prefix longer than the data", grpcFrame(valid, { declaredLength: 100 })],
    ["a length prefix past MAX_BODY_BYTES", grpcFrame(valid, { declaredLength: 0x7fffffff })],
    ["a frame cut in its 5-byte header", Buffer.from([0x00, 0x00, 0x00])],
    ["the compressed flag without grpc-encoding", grpcFrame(valid, { compressed: true })],
    ["two messages in a unary call", Buffer.concat([grpcFrame(valid), grpcFrame(valid)])],
    ["no message at all", Buffer.alloc(0)],
    ["trailing bytes after the message", Buffer.concat([grpcFrame(valid), Buffer.from([1, 2])])],
  ])("%s: a client-error status", async (_label, body) => {
    const { status, message } = await grpcCall(body);
    expect(CLIENT_STATUSES, `${status} ${message}`).toContain(status);
  });

  it("a gzip bomb in a compressed frame is RESOURCE_EXHAUSTED", async () => {
    const bomb = gzipSync(Buffer.alloc(20 * 1024 * 1024, 0));
    const { status, message } = await grpcCall(grpcFrame(bomb, { compressed: true }), {
      "grpc-encoding": "gzip",
    });
    expect(status, message).toBe("8");
  });

  it("bad gzip data, and an encoding the server does not know", async () => {
    const broken = await grpcCall(grpcFrame(Buffer.from("not gzip"), { compressed: true }), {
      "grpc-encoding": "gzip",
    });
    expect(CLIENT_STATUSES, `${broken.status} ${broken.message}`).toContain(broken.status);
    const unknown = await grpcCall(grpcFrame(valid, { compressed: true }), { "grpc-encoding": "snappy" });
    expect(unknown.status, unknown.message).toBe("12");
  });

  it("garbage grpc-timeout, and gRPC-Web and Connect binary garbage", async () => {
    const timeout = await grpcCall(grpcFrame(valid), { "grpc-timeout": "soon" });
    expect(CLIENT_STATUSES, `${timeout.status} ${timeout.message}`).toContain(timeout.status);
    const web = await rawHttp1(server.port, {
      path: LIST,
      headers: { "content-type": "application/grpc-web+proto", token },
      body: grpcFrame(Buffer.from([0xff, 0xff, 0xff])),
    });
    const binary = await rawHttp1(server.port, {
      path: LIST,
      headers: { "content-type": "application/proto", token },
      body: Buffer.from([0xff, 0xff, 0xff]),
    });
    tally.tried += 2;
    expect(web.kind).toBe("response");
    if (web.kind === "response") {
      const status =
        web.headers["grpc-status"] ?? /grpc-status:\s*(\d+)/.exec(web.body.toString("latin1"))?.[1];
      expect(CLIENT_STATUSES, web.body.toString("latin1")).toContain(status);
    }
    expect(binary.kind).toBe("response");
    if (binary.kind === "response")
      expectClientError({ status: binary.status, body: binary.body.toString() }, "binary");
  });

  it("the server is still answering, and nothing was written", async () => {
    await expectAlive();
    expect(server.jobCount()).toBe(JOBS.length + 1);
  });
});
