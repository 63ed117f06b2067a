/**
 * The generated OpenAPI document (gen/openapi/openapi.json, from the protos by `buf generate`) and
 * the reference page, over a real server: valid OpenAPI 3.1, one operation per REST route the
 * server serves, proto JSON schemas, SpaceONE's error body, both auth headers, the streaming watch
 * as text/event-stream; /docs is self-contained (every script and style from this origin).
 */
import fs from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobLifecycle } from "../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import { Job } from "../gen/spaceone/api/identity/v2/job_pb.js";
import { restRoutes } from "../src/wire/rest.js";
import { startTestServer, type TestServer } from "./support/server.js";

// biome-ignore lint/suspicious/noExplicitAny: the test walks an arbitrary JSON document
type Json = Record<string, any>;

let server: TestServer;
let doc: Json;

beforeAll(async () => {
  server = await startTestServer();
  const res = await fetch(`${server.url}/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("application/json");
  doc = (await res.json()) as Json;
});
afterAll(async () => server?.close());

/** Follow a local `$ref`. */
function resolve(node: Json): Json {
  if (typeof node.$ref !== "string") return node;
  const parts = (node.$ref as string).replace(/^#\//, "").split("/");
  return parts.reduce<Json>((at, key) => at[key] as Json, doc);
}

describe("GET /openapi.json", () => {
  it("is the committed generated document, and valid OpenAPI 3.1", async () => {
    expect(doc).toEqual(JSON.parse(fs.readFileSync("gen/openapi/openapi.json", "utf8")));
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("has one POST operation per REST route the server answers, and for the streaming watch", () => {
    const routes = [...restRoutes(Job, JobLifecycle).entries()].filter(([path]) => /\/v2\//.test(path));
    expect(routes.length).toBeGreaterThanOrEqual(12);
    // restRoutes forwards unary calls; the server-streaming watch has its own (SSE) REST handler.
    const streaming = JobLifecycle.methods.filter((m) => m.methodKind === "server_streaming");
    expect(streaming.map((m) => m.name)).toEqual(["watch"]);
    expect(Object.keys(doc.paths).sort()).toEqual(
      [...routes.map(([path]) => path), "/identity/v2/job/watch"].sort(),
    );
    for (const [path, method] of routes) {
      const op = doc.paths[path].post as Json;
      expect(op.operationId).toBe(`${method.parent.name}_${method.name}`);
      expect(resolve(op.requestBody.content["application/json"].schema)).toMatchObject({ type: "object" });
      for (const status of ["400", "401", "404", "500"]) {
        const error = resolve(op.responses[status]);
        expect(resolve(error.content["application/json"].schema)).toMatchObject({
          required: ["detail"],
          properties: { detail: { required: ["code", "message"] } },
        });
      }
    }
  });

  it("describes proto JSON: field names, enums as strings, Struct as an object, comments kept", () => {
    const jobInfo = doc.components.schemas["spaceone.api.identity.v2.JobInfo"] as Json;
    expect(Object.keys(jobInfo.properties)).toContain("job_id");
    expect(Object.keys(jobInfo.properties)).toContain("progress_percent");
    expect(Object.keys(jobInfo.properties)).not.toContain("jobId");
    expect(resolve(jobInfo.properties.status)).toEqual({
      type: "string",
      enum: ["NONE", "PENDING", "IN_PROGRESS", "FAILURE", "SUCCESS", "CANCELED"],
    });
    expect(jobInfo.properties.options).toEqual({ type: "object", additionalProperties: true });
    expect(jobInfo.properties.started_at.description).toMatch(/^When a worker started the job/);
    const list = doc.paths["/identity/v2/job/list"].post as Json;
    expect(resolve(list.responses["200"].content["application/json"].schema).properties).toHaveProperty(
      "total_count",
    );
  });

  it("the watch stream answers text/event-stream with JobWatchEvent data", () => {
    const watch = doc.paths["/identity/v2/job/watch"].post as Json;
    const content = watch.responses["200"].content as Json;
    expect(Object.keys(content)).toEqual(["text/event-stream"]);
    expect(resolve(content["text/event-stream"]["x-event-data-schema"]).properties).toHaveProperty("cursor");
    expect(watch.description).toMatch(/Last-Event-ID/);
  });

  it("declares the bearer and token header schemes, either of which authenticates", () => {
    expect(doc.security).toEqual([{ bearer: [] }, { token: [] }]);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.components.securitySchemes.token).toMatchObject({
      type: "apiKey",
      in: "header",
      name: "token",
    });
  });
});

describe("GET /docs", () => {
  it("is a page whose scripts and styles all come from this server, under a strict CSP", async () => {
    const res = await fetch(`${server.url}/docs`);
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toMatch(/script-src 'self'/);
    expect(csp).toMatch(/default-src 'none'/);
    const html = await res.text();
    expect(html).not.toMatch(/https?:\/\//);
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
    expect(assets.length).toBeGreaterThanOrEqual(4);
    for (const asset of assets) {
      expect(asset).toMatch(/^\/docs\//);
      const served = await fetch(`${server.url}${asset}`);
      expect(served.status, asset).toBe(200);
      expect((await served.arrayBuffer()).byteLength, asset).toBeGreaterThan(0);
    }
    const init = await (await fetch(`${server.url}/docs/init.js`)).text();
    expect(init).toMatch(/url: "\/openapi\.json"/);
  });

  it("serves only the renderer's files: anything else under /docs is 404, and writes are 405", async () => {
    expect((await fetch(`${server.url}/docs/../package.json`)).status).not.toBe(200);
    expect((await fetch(`${server.url}/docs/package.json`)).status).toBe(404);
    expect((await fetch(`${server.url}/docs/index.html`)).status).toBe(404);
    expect((await fetch(`${server.url}/openapi.json`, { method: "POST" })).status).toBe(405);
  });
});
