/**
 * The SpaceONE REST aliases and the REST/Connect error encodings, over real HTTP/1.1 and h2c against
 * a stub Job service.
 */
import http from "node:http";
import { gzipSync } from "node:zlib";
import { create, fromJson } from "@bufbuild/protobuf";
import { StructSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Job,
  JobInfo_Status,
  JobInfoSchema,
  JobsInfoSchema,
} from "../gen/spaceone/api/identity/v2/job_pb.js";
import { errors, SpaceOneError } from "../src/errors.js";
import {
  createErrorInterceptor,
  errorCodeHeader,
  httpStatusForCode,
  minimalPercentEncode,
  restErrorOf,
  toConnectError,
} from "../src/wire/errors.js";
import { procedurePath, restRoutes } from "../src/wire/rest.js";
import { type RunningServer, startServer } from "../src/wire/server.js";
import { createWireHandler } from "../src/wire/wire-handler.js";
import { h2Connect, h2Exchange } from "./support/http-client.js";

const readMaxBytes = 16 * 1024;

/** `delete` throws the SpaceOneError named by job_id, to check every status mapping end to end. */
const thrown: Record<string, () => Error> = {
  denied: () => errors.permissionDenied(),
  unauth: () => errors.authenticateFailure("empty token provided."),
  required: () => errors.requiredParameter("job_id"),
  unavailable: () => errors.unavailable("db"),
  unimplemented: () => errors.notImplemented("cancel"),
  conflict: () =>
    new SpaceOneError("ERROR_NOT_UNIQUE", "already_exists", "Tried to save duplicate unique values."),
  boom: () => new Error("secret connection string"),
};

const stub: ServiceImpl<typeof Job> = {
  async get(req, ctx) {
    if (req.jobId === "echo") {
      // Echo the auth headers back, to prove the REST layer forwards them.
      return create(JobInfoSchema, {
        jobId: "echo",
        domainId: ctx.requestHeader.get("x_domain_id") ?? "",
        pluginId: ctx.requestHeader.get("token") ?? "",
        trustedAccountId: ctx.requestHeader.get("authorization") ?? "",
      });
    }
    if (req.jobId !== "job-1") throw toConnectError(errors.notFound("job_id", req.jobId));
    return create(JobInfoSchema, { jobId: "job-1", status: JobInfo_Status.PENDING, workspaceId: "ws-1" });
  },
  async list() {
    return create(JobsInfoSchema, { results: [{ jobId: "job-1" }, { jobId: "job-2" }], totalCount: 2 });
  },
  async delete(req) {
    const make = thrown[req.jobId];
    if (make) throw make();
    return {};
  },
  async stat() {
    return fromJson(StructSchema, { results: [{ status: "SUCCESS", count: 3 }] });
  },
};

let server: RunningServer;
let url: string;

beforeAll(async () => {
  const { handler } = createWireHandler({
    services: [{ service: Job, impl: stub }],
    readMaxBytes,
    maxTimeoutMs: 5_000,
    jsonOptions: { useProtoFieldName: true },
    interceptors: [createErrorInterceptor()],
    restRoutes: restRoutes(Job),
  });
  server = await startServer({
    handler,
    host: "127.0.0.1",
    port: 0,
    shutdownGraceMs: 2_000,
  });
  url = server.url;
});

afterAll(() => server.close());

function post(path: string, body: string | Uint8Array, headers: Record<string, string> = {}) {
  return fetch(`${url}${path}`, { method: "POST", headers, body });
}

const json = { "content-type": "application/json" };

describe("route table", () => {
  it("merging services keeps one entry per path (the same service twice is no conflict)", () => {
    expect(restRoutes(Job, Job).size).toBe(8);
  });

  it("is derived from google.api.http: four verbs under /identity/v2/job and /identity/job", () => {
    const routes = restRoutes(Job);
    const table = [...routes].map(([path, method]) => `${path} -> ${procedurePath(method)}`).sort();
    expect(table).toEqual(
      ["delete", "get", "list", "stat"]
        .flatMap((verb) => [
          `/identity/job/${verb} -> /spaceone.api.identity.v2.Job/${verb}`,
          `/identity/v2/job/${verb} -> /spaceone.api.identity.v2.Job/${verb}`,
        ])
        .sort(),
    );
  });
});

describe("REST calls", () => {
  it("POST /identity/v2/job/get and /identity/job/get return the proto-named JSON message", async () => {
    for (const path of ["/identity/v2/job/get", "/identity/job/get"]) {
      const res = await post(path, JSON.stringify({ job_id: "job-1" }), json);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/json");
      expect(await res.json()).toEqual({ job_id: "job-1", status: "PENDING", workspace_id: "ws-1" });
    }
  });

  it("reads curl -d's and fetch's default content types as JSON, no content type, and a utf-8 charset", async () => {
    const curl = await post("/identity/job/get", JSON.stringify({ job_id: "job-1" }), {
      "content-type": "application/x-www-form-urlencoded",
    });
    expect(curl.status).toBe(200);
    expect(await curl.json()).toMatchObject({ job_id: "job-1" });
    // fetch with a string body and no headers sends text/plain;charset=UTF-8.
    const plain = await fetch(`${url}/identity/v2/job/get`, {
      method: "POST",
      body: JSON.stringify({ job_id: "job-1" }),
    });
    expect(plain.headers.get("content-type")).toBe("application/json");
    expect(plain.status).toBe(200);
    const bare = await post("/identity/job/get", Buffer.from(JSON.stringify({ jobId: "job-1" })));
    expect(bare.status).toBe(200);
    expect(await bare.json()).toMatchObject({ job_id: "job-1" });
    const charset = await post("/identity/job/get", JSON.stringify({ job_id: "job-1" }), {
      "content-type": "application/json; charset=utf-8",
    });
    expect(charset.status).toBe(200);
  });

  it("list, stat and delete work too (stat returns the Struct as plain JSON, delete an empty object)", async () => {
    const list = await post("/identity/v2/job/list", "{}", json);
    expect(await list.json()).toEqual({
      results: [{ job_id: "job-1" }, { job_id: "job-2" }],
      total_count: 2,
    });
    const stat = await post("/identity/job/stat", JSON.stringify({ query: { count: { name: "n" } } }), json);
    expect(await stat.json()).toEqual({ results: [{ status: "SUCCESS", count: 3 }] });
    const del = await post("/identity/job/delete", JSON.stringify({ job_id: "ok" }), json);
    expect(del.status).toBe(200);
    expect(await del.json()).toEqual({});
  });

  it("forwards the token, authorization and x_domain_id headers", async () => {
    const res = await post("/identity/job/get", JSON.stringify({ job_id: "echo" }), {
      ...json,
      token: "tok-1",
      authorization: "Bearer abc",
      x_domain_id: "domain-9",
    });
    expect(await res.json()).toEqual({
      job_id: "echo",
      plugin_id: "tok-1",
      trusted_account_id: "Bearer abc",
      domain_id: "domain-9",
    });
  });

  it("works over h2c, errors included", async () => {
    const session = await h2Connect(url);
    const jsonPost = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      h2Exchange(session, {
        path,
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
      });
    try {
      const ok = await jsonPost("/identity/job/get", { job_id: "echo" }, { token: "tok-2" });
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.body.toString())).toMatchObject({ job_id: "echo", plugin_id: "tok-2" });
      const missing = await jsonPost("/identity/v2/job/get", { job_id: "nope" });
      expect(missing.status).toBe(404);
      expect(JSON.parse(missing.body.toString())).toEqual({
        detail: {
          code: "ERROR_NOT_FOUND",
          message: "Resource cannot be found or access is denied. (job_id = nope)",
        },
      });
    } finally {
      session.close();
    }
  });
});

describe("REST errors", () => {
  it("not found: 404 with {detail: {code, message}} and the code header", async () => {
    const res = await post("/identity/v2/job/get", JSON.stringify({ job_id: "job-404" }), json);
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get(errorCodeHeader)).toBe("ERROR_NOT_FOUND");
    expect(await res.json()).toEqual({
      detail: {
        code: "ERROR_NOT_FOUND",
        message: "Resource cannot be found or access is denied. (job_id = job-404)",
      },
    });
  });

  it.each([
    ["denied", 403, "ERROR_PERMISSION_DENIED", "Permission denied."],
    ["unauth", 401, "ERROR_AUTHENTICATE_FAILURE", "Authenticate failure. (message = empty token provided.)"],
    ["required", 400, "ERROR_REQUIRED_PARAMETER", "Required parameter. (key = job_id)"],
    ["unavailable", 503, "ERROR_UNAVAILABLE", "Server is unavailable. (reason = db)"],
    ["unimplemented", 501, "ERROR_NOT_IMPLEMENTED", "Not implemented. (cancel)"],
    ["conflict", 409, "ERROR_NOT_UNIQUE", "Tried to save duplicate unique values."],
    ["boom", 500, "ERROR_UNKNOWN", "internal error"],
  ])("%s → HTTP %i %s", async (jobId, status, code, message) => {
    const res = await post("/identity/job/delete", JSON.stringify({ job_id: jobId }), json);
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({ detail: { code, message } });
  });

  it("malformed JSON: 400 ERROR_INVALID_ARGUMENT with connect-node's message", async () => {
    const res = await post("/identity/job/get", "{nope", json);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { detail: { code: string; message: string } };
    expect(body.detail.code).toBe("ERROR_INVALID_ARGUMENT");
    expect(body.detail.message).toMatch(/cannot decode message/);
  });

  it("GET on a REST path: 405 with Allow: POST", async () => {
    const res = await fetch(`${url}/identity/v2/job/list`);
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
    expect(await res.json()).toMatchObject({ detail: { code: "ERROR_METHOD_NOT_ALLOWED" } });
  });

  it("a non-JSON content type: 415", async () => {
    const res = await post("/identity/job/list", "{}", { "content-type": "application/xml" });
    expect(res.status).toBe(415);
    expect(await res.json()).toEqual({
      detail: {
        code: "ERROR_UNSUPPORTED_MEDIA_TYPE",
        message:
          "Content type is not supported. (content_type = application/xml, supported = application/json)",
      },
    });
    for (const type of [
      "application/proto",
      "multipart/form-data; boundary=x",
      "application/json; charset=latin1",
    ]) {
      const other = await post("/identity/job/list", "{}", { "content-type": type });
      expect(other.status).toBe(415);
    }
  });

  it("an unknown path under /identity/: 404 ERROR_UNSUPPORTED_API", async () => {
    const res = await post("/identity/v2/job/nope", "{}", json);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      detail: { code: "ERROR_UNSUPPORTED_API", message: "Unsupported API. (path = /identity/v2/job/nope)" },
    });
  });

  it("a body over the limit: 429 ERROR_RESOURCE_EXHAUSTED, declared or chunked", async () => {
    const big = JSON.stringify({ job_id: "x".repeat(readMaxBytes) });
    const declared = await post("/identity/job/get", big, json);
    expect(declared.status).toBe(429);
    expect(await declared.json()).toMatchObject({ detail: { code: "ERROR_RESOURCE_EXHAUSTED" } });
    // Without a content-length the limit is enforced by connect-node while reading; same answer.
    const chunked = await fetch(`${url}/identity/job/get`, {
      method: "POST",
      headers: json,
      body: new Blob([big]).stream(),
      duplex: "half",
    } as RequestInit);
    expect(chunked.status).toBe(429);
    expect(await chunked.json()).toMatchObject({ detail: { code: "ERROR_RESOURCE_EXHAUSTED" } });
  });

  it("a gzip body that expands past the limit: 429", async () => {
    const res = await post(
      "/identity/job/get",
      gzipSync(JSON.stringify({ job_id: "a".repeat(readMaxBytes * 8) })),
      {
        ...json,
        "content-encoding": "gzip",
      },
    );
    expect(res.status).toBe(429);
    expect(await res.json()).toMatchObject({ detail: { code: "ERROR_RESOURCE_EXHAUSTED" } });
  });

  it("decompresses a gzip-compressed Connect error body before rewriting it", async () => {
    // The message holds the 3000-character id, so connect-node gzips the error body (>= 1 KiB).
    const id = "z".repeat(3_000);
    const res = await rawPost("/identity/job/get", JSON.stringify({ job_id: id }), {
      "accept-encoding": "gzip",
    });
    expect(res.status).toBe(404);
    expect(res.headers["content-encoding"]).toBeUndefined();
    expect(JSON.parse(res.body)).toEqual({
      detail: {
        code: "ERROR_NOT_FOUND",
        message: `Resource cannot be found or access is denied. (job_id = ${id})`,
      },
    });
  });
});

describe("health and fallbacks", () => {
  it("GET /healthz is 200 ok without auth", async () => {
    const res = await fetch(`${url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("ok");
  });

  it("Connect paths still work next to REST, and other paths get a 404", async () => {
    const res = await post("/spaceone.api.identity.v2.Job/get", JSON.stringify({ job_id: "job-1" }), json);
    expect(res.status).toBe(200);
    const other = await fetch(`${url}/favicon.ico`);
    expect(other.status).toBe(404);
  });
});

describe("error mapping (unit)", () => {
  it("maps every Connect code to the console-api-v2 HTTP status", () => {
    const expected: Record<number, number> = {
      [Code.Canceled]: 499,
      [Code.Unknown]: 500,
      [Code.InvalidArgument]: 400,
      [Code.DeadlineExceeded]: 504,
      [Code.NotFound]: 404,
      [Code.AlreadyExists]: 409,
      [Code.PermissionDenied]: 403,
      [Code.ResourceExhausted]: 429,
      [Code.FailedPrecondition]: 400,
      [Code.Aborted]: 409,
      [Code.OutOfRange]: 400,
      [Code.Unimplemented]: 501,
      [Code.Internal]: 500,
      [Code.Unavailable]: 503,
      [Code.DataLoss]: 500,
      [Code.Unauthenticated]: 401,
    };
    for (const [code, status] of Object.entries(expected))
      expect(httpStatusForCode(Number(code))).toBe(status);
  });

  it("takes a SpaceOneError's code and message as they are and names other errors after their status", () => {
    const notFound = new SpaceOneError("ERROR_NOT_FOUND", "not_found", "gone. (a = b: c)");
    expect(restErrorOf(toConnectError(notFound))).toEqual({
      status: 404,
      body: { detail: { code: "ERROR_NOT_FOUND", message: "gone. (a = b: c)" } },
    });
    // The message is never parsed: a colon in a message that is not SpaceONE's stays where it is.
    expect(restErrorOf(new ConnectError("ERROR_X: y", Code.InvalidArgument))).toEqual({
      status: 400,
      body: { detail: { code: "ERROR_INVALID_ARGUMENT", message: "ERROR_X: y" } },
    });
    expect(
      restErrorOf(
        new ConnectError("message size 9 is larger than configured readMaxBytes 1", Code.ResourceExhausted),
      ),
    ).toEqual({
      status: 429,
      body: {
        detail: {
          code: "ERROR_RESOURCE_EXHAUSTED",
          message: "message size 9 is larger than configured readMaxBytes 1",
        },
      },
    });
  });

  it("toConnectError: SpaceOneError keeps its code, ConnectError passes, anything else is hidden", () => {
    const spaceOne = toConnectError(errors.notFound("job_id", "j"));
    expect(spaceOne.code).toBe(Code.NotFound);
    expect(spaceOne.rawMessage).toBe(
      "ERROR_NOT_FOUND: Resource cannot be found or access is denied. (job_id = j)",
    );
    expect(spaceOne.metadata.get(errorCodeHeader)).toBe("ERROR_NOT_FOUND");
    const connect = new ConnectError("x", Code.Aborted);
    expect(toConnectError(connect)).toBe(connect);
    const hidden = toConnectError(new Error("password=hunter2"));
    expect(hidden.code).toBe(Code.Internal);
    expect(hidden.rawMessage).toBe("ERROR_UNKNOWN: internal error");
    expect(toConnectError("a string").rawMessage).toBe("ERROR_UNKNOWN: internal error");
  });

  it("minimal percent-encoding keeps ':' and '=' and encodes '%' and non-ASCII", () => {
    expect(minimalPercentEncode("ERROR_X: a = 100% ü")).toBe("ERROR_X: a = 100%25 %C3%BC");
  });
});

/** node:http, so the response is seen exactly as sent (fetch would transparently decompress). */
function rawPost(
  path: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}${path}`,
      { method: "POST", headers: { "content-type": "application/json", ...headers } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
