/**
 * The wire layer of watch and wait over an in-memory change feed: the real handlers, auth interceptor,
 * error mapping, SSE middleware and HTTP server, with the feed written directly, so every protocol's
 * framing, errors, resume and heartbeats are checked without the storage layer (test/watch-api.test.ts
 * runs the same protocols against the whole app). `watch` takes the stream path (src/wire/stream/), or
 * connect's router with `WIRE_STREAM=connect`.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobLifecycle } from "../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import { ensureLocalSecret } from "../src/auth/keys.js";
import { createTokenVerifier, signToken } from "../src/auth/token.js";
import { loadConfig } from "../src/config.js";
import { WatchHub } from "../src/service/watch/watch-hub.js";
import { WatchService } from "../src/service/watch/watch-service.js";
import { createErrorInterceptor } from "../src/wire/errors.js";
import { createAuthInterceptor } from "../src/wire/job-handlers.js";
import { jobWatchHandlers, watchStreamRoute } from "../src/wire/job-watch-handlers.js";
import { restRoutes } from "../src/wire/rest.js";
import { type RunningServer, startServer } from "../src/wire/server.js";
import { createSseWatchHandler } from "../src/wire/sse.js";
import { createWireHandler } from "../src/wire/wire-handler.js";
import { MemoryFeed } from "./support/memory-feed.js";
import {
  connectWatch,
  grpcJsWatch,
  type OpenStream,
  sseWatch,
  type WatchRequestJson,
  type WireEvent,
} from "./support/watch-client.js";
import { wireStream } from "./support/wire-env.js";

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "job-watch-wire-"));
const feed = new MemoryFeed();
let hub: WatchHub;
let server: RunningServer;
let url: string;
let admin: string;
let member1: string;
const unknown: unknown[] = [];

beforeAll(async () => {
  const config = loadConfig({ DATA_DIR: dataDir });
  ensureLocalSecret(config);
  const verifier = await createTokenVerifier(config);
  admin = await signToken(config, { role: "DOMAIN_ADMIN", domainId: "domain-a", ttlSeconds: 600 });
  member1 = await signToken(config, {
    role: "WORKSPACE_MEMBER",
    domainId: "domain-a",
    workspaceId: "ws-1",
    ttlSeconds: 600,
  });
  hub = new WatchHub(feed, { pollIntervalMs: 1000, batchSize: 100, heartbeatMs: 300 });
  const service = new WatchService(feed, hub, {
    maxPageSize: 1000,
    bufferEvents: 100,
    maxInitial: 100,
    waitDefaultSeconds: 30,
    waitMaxSeconds: 300,
  });
  const sse = createSseWatchHandler({
    service,
    verifier,
    maxBodyBytes: 1 << 20,
    onUnknown: (error) => unknown.push(error),
  });
  const { handler } = createWireHandler({
    services: [{ service: JobLifecycle, impl: jobWatchHandlers(service, (error) => unknown.push(error)) }],
    interceptors: [createErrorInterceptor((error) => unknown.push(error)), createAuthInterceptor(verifier)],
    readMaxBytes: 1 << 20,
    jsonOptions: { useProtoFieldName: true, ignoreUnknownFields: false },
    restRoutes: restRoutes(JobLifecycle),
    restStreams: sse,
    streamRoutes: [watchStreamRoute(service, (error) => unknown.push(error))],
    stream: wireStream(),
  });
  server = await startServer({
    handler,
    host: "127.0.0.1",
    port: 0,
    shutdownGraceMs: 1000,
  });
  url = server.url;
});
afterAll(async () => {
  hub.close();
  await server.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
  expect(unknown).toEqual([]);
});

type Opener = (token: string, request: WatchRequestJson) => OpenStream;
const connect =
  (make: () => Transport): Opener =>
  (token, request) =>
    connectWatch(make(), token, request);

const PROTOCOLS: Record<string, Opener> = {
  "Connect JSON / HTTP/1.1": connect(() => createConnectTransport({ baseUrl: url, httpVersion: "1.1" })),
  "Connect JSON / h2c": connect(() => createConnectTransport({ baseUrl: url, httpVersion: "2" })),
  "Connect binary / HTTP/1.1": connect(() =>
    createConnectTransport({ baseUrl: url, httpVersion: "1.1", useBinaryFormat: true }),
  ),
  "Connect binary / h2c": connect(() =>
    createConnectTransport({ baseUrl: url, httpVersion: "2", useBinaryFormat: true }),
  ),
  "gRPC (connect-node)": connect(() => createGrpcTransport({ baseUrl: url })),
  "gRPC (grpc-js)": (token, request) => grpcJsWatch(url, token, request),
  "gRPC-Web": connect(() => createGrpcWebTransport({ baseUrl: url, httpVersion: "1.1" })),
  "REST SSE": (token, request) => sseWatch(url, token, request),
};

let accounts = 0;
const summary = (e: WireEvent) =>
  `${e.type}:${e.job?.status ?? ""}${e.type === "UPDATED" && !e.matches ? ":gone" : ""}`;

describe.each(Object.entries(PROTOCOLS))("%s", (name, open) => {
  it("snapshot, live changes, leaving the filter; resume from a cursor with no gap and no duplicate", async () => {
    const account = `ta-wire-${++accounts}`;
    const id = (n: number) => `${account}-job-${n}`;
    feed.create(id(0), { trusted_account_id: account, status: "IN_PROGRESS" });
    const first = open(admin, { trusted_account_id: account, status: "IN_PROGRESS", send_initial: true });
    await first.until((e) => e.some((x) => x.type === "SYNCED"));
    feed.create(id(1), { trusted_account_id: account });
    // Let the hub deliver the create before the start: it reads the job when it delivers a change.
    await new Promise((r) => setTimeout(r, 20));
    feed.update(id(1), { status: "IN_PROGRESS" });
    await first.until((e) => e.filter((x) => x.type === "UPDATED").length >= 1);
    feed.update(id(1), { progress_percent: 30 });
    await first.until((e) => e.filter((x) => x.type === "UPDATED").length >= 2);
    first.cut();
    const seen = first.changes();
    expect(seen.map(summary), name).toEqual([
      "SNAPSHOT:IN_PROGRESS",
      "SYNCED:",
      "UPDATED:IN_PROGRESS",
      "UPDATED:IN_PROGRESS",
    ]);
    expect(seen[2]?.event).toMatchObject({ from_status: "PENDING", to_status: "IN_PROGRESS" });
    expect(seen[3]?.job?.progress_percent).toBe(30);
    feed.update(id(1), { progress_percent: 60 });
    feed.update(id(0), { status: "SUCCESS" });
    const resumed = open(admin, {
      trusted_account_id: account,
      status: "IN_PROGRESS",
      cursor: seen[3]?.cursor,
    });
    await resumed.until((e) => e.filter((x) => x.type !== "HEARTBEAT").length >= 2);
    expect(resumed.changes().map((e) => `${e.job?.job_id} ${summary(e)}`)).toEqual([
      `${id(1)} UPDATED:IN_PROGRESS`,
      `${id(0)} UPDATED:SUCCESS:gone`,
    ]);
    resumed.cut();
  });

  it("scoped: a workspace member never sees another workspace's job, not even deleted", async () => {
    const account = `ta-wire-${++accounts}`;
    const s = open(member1, { trusted_account_id: account });
    await s.until((e) => e.length >= 1);
    feed.create(`${account}-other`, { trusted_account_id: account, workspace_id: "ws-2" });
    feed.remove(`${account}-other`);
    feed.create(`${account}-mine`, { trusted_account_id: account });
    await s.until((e) => e.some((x) => x.job?.job_id === `${account}-mine`));
    expect(s.changes().map((e) => e.job?.job_id)).toEqual([`${account}-mine`]);
    s.cut();
  });

  it("heartbeats carry the current cursor", async () => {
    const s = open(admin, { trusted_account_id: "nobody" });
    await s.until((e) => e.filter((x) => x.type === "HEARTBEAT").length >= 3);
    const head = await hub.head();
    expect(s.events.at(-1)?.cursor).toBe(`w1.${head.toString(36)}`);
    s.cut();
  });

  it("errors: invalid_argument for a paged query, out_of_range for an expired cursor, unauthenticated", async () => {
    const paged = open(admin, { query: { page: { limit: 5 } } });
    await paged.until(() => paged.ended);
    expect(paged.errorCode).toMatch(/^(invalid_argument|http 400)$/);
    // Retention dropped the first changes: a cursor before them has expired.
    feed.dropThrough(2);
    const expired = open(admin, { cursor: "w1.0" });
    await expired.until(() => expired.ended);
    expect(expired.errorCode).toMatch(/^(out_of_range|http 400)$/);
    const anonymous = open("", {});
    await anonymous.until(() => anonymous.ended);
    expect(anonymous.errorCode).toMatch(/^(unauthenticated|http 401)$/);
  });
});

describe("REST", () => {
  it("SSE: id is the cursor; Last-Event-ID resumes after it and wins over send_initial", async () => {
    const account = `ta-wire-${++accounts}`;
    const s = sseWatch(url, admin, { trusted_account_id: account });
    expect(await s.status).toBe(200);
    feed.create(`${account}-a`, { trusted_account_id: account });
    await s.until((e) => e.some((x) => x.job?.job_id === `${account}-a`));
    const last = s.ids.at(-1) as string;
    expect(last).toBe(s.events.at(-1)?.cursor);
    s.cut();
    feed.create(`${account}-b`, { trusted_account_id: account });
    const resumed = sseWatch(
      url,
      admin,
      { trusted_account_id: account, send_initial: true },
      { "last-event-id": last },
    );
    await resumed.until((e) => e.some((x) => x.job?.job_id === `${account}-b`));
    expect(resumed.changes().map((e) => `${e.type}:${e.job?.job_id}`)).toEqual([`CREATED:${account}-b`]);
    resumed.cut();
  });

  it("SSE: a refused request is a REST error body with its status", async () => {
    const res = await fetch(`${url}/identity/v2/job/watch`, {
      method: "POST",
      headers: { token: admin, "content-type": "application/json" },
      body: JSON.stringify({ query: { sort: [{ key: "created_at" }] } }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ detail: { code: "ERROR_INVALID_PARAMETER" } });
    const get = await fetch(`${url}/identity/v2/job/watch`, { headers: { token: admin } });
    expect(get.status).toBe(405);
  });

  it("wait: POST /identity/v2/job/wait answers the finished job", async () => {
    feed.create("rest-wait");
    const answer = fetch(`${url}/identity/v2/job/wait`, {
      method: "POST",
      headers: { token: admin, "content-type": "application/json" },
      body: JSON.stringify({ job_id: "rest-wait", timeout_seconds: 10 }),
    });
    await new Promise((r) => setTimeout(r, 50));
    feed.update("rest-wait", { status: "SUCCESS" });
    const res = await answer;
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ job_id: "rest-wait", status: "SUCCESS" });
  });
});
