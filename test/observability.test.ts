/**
 * Metrics and access logs over a real server: one log line per call on every protocol (request id
 * accepted or generated and echoed, trace id, caller, never the token), the call metrics with
 * bounded labels, job counts, transitions, housekeeping, the internal-error log, and /metrics on
 * its own port.
 */
import { Writable } from "node:stream";
import { createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobLifecycle } from "../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import { Job, JobInfo_ResourceGroup } from "../gen/spaceone/api/identity/v2/job_pb.js";
import { signToken } from "../src/auth/token.js";
import { createLogger } from "../src/log.js";
import { instrumentPass } from "../src/observability/housekeeping-metrics.js";
import { registerJobCounts } from "../src/observability/job-counts.js";
import { createMetrics } from "../src/observability/metrics.js";
import { startMetricsServer } from "../src/observability/metrics-endpoint.js";
import { JOBS } from "./support/fixture.js";
import { metricSample, scrapeMetrics } from "./support/metrics.js";
import { startTestServer, type TestServer } from "./support/server.js";

type Line = Record<string, unknown> & { msg: string; level: number };

let server: TestServer;
let token: string;
const lines: Line[] = [];
const rawLog: string[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      const text = String(chunk);
      rawLog.push(text);
      for (const line of text.split("\n").filter(Boolean)) lines.push(JSON.parse(line) as Line);
      done();
    },
  });
  server = await startTestServer({ logger: createLogger("info", sink) });
  token = await server.token("WORKSPACE_OWNER", "domain-a", "ws-1");
});
afterAll(async () => server?.close());

const transports: Record<string, () => Transport> = {
  connect: () => createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
  grpc: () => createGrpcTransport({ baseUrl: server.url }),
  "grpc-web": () => createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1" }),
};

const scrape = (url = server.url) => scrapeMetrics(url);
const sample = metricSample;

const waitFor = async (predicate: () => boolean) => {
  for (let i = 0; i < 100 && !predicate(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(predicate()).toBe(true);
};

describe("access log", () => {
  it.each(Object.keys(transports))(
    "one line per %s call, with the caller and a generated request id",
    async (protocol) => {
      const client = createClient(Job, (transports[protocol] as () => Transport)());
      let echoed: string | null = null;
      await client.get(
        { jobId: "job-a01" },
        { headers: { token }, onHeader: (h) => (echoed = h.get("x-request-id")) },
      );
      expect(echoed).toMatch(/^[0-9a-f-]{36}$/);
      await waitFor(() => lines.some((l) => l.request_id === echoed));
      const line = lines.filter((l) => l.request_id === echoed);
      expect(line).toHaveLength(1);
      expect(line[0]).toMatchObject({
        level: 30,
        msg: "call",
        protocol,
        rpc_service: "spaceone.api.identity.v2.Job",
        rpc_method: "get",
        code: "ok",
        caller: {
          domain_id: "domain-a",
          workspace_id: "ws-1",
          role: "WORKSPACE_OWNER",
          token_type: "ACCESS_TOKEN",
        },
      });
      expect(line[0]?.duration_ms).toEqual(expect.any(Number));
      // HTTP/2 (gRPC here) streams have no declared length and no per-stream byte counter in Node.
      if (protocol !== "grpc") expect(line[0]?.bytes_in).toBeGreaterThan(0);
      if (protocol !== "grpc") expect(line[0]?.bytes_out).toBeGreaterThan(0);
    },
  );

  it("a REST call keeps the client's x-request-id and traceparent, and logs its not_found code", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const res = await fetch(`${server.url}/identity/v2/job/get`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        "x-request-id": "req-rest-1",
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
      },
      body: JSON.stringify({ job_id: "job-b01" }),
    });
    expect(res.status).toBe(404);
    expect(res.headers.get("x-request-id")).toBe("req-rest-1");
    await res.text();
    await waitFor(() => lines.some((l) => l.request_id === "req-rest-1"));
    expect(lines.find((l) => l.request_id === "req-rest-1")).toMatchObject({
      protocol: "rest",
      rpc_method: "get",
      code: "not_found",
      status: 404,
      trace_id: traceId,
      parent_span_id: "00f067aa0ba902b7",
      http_version: "1.1",
    });
  });

  it("replaces a request id it cannot log safely, and ignores a malformed traceparent", async () => {
    const res = await fetch(`${server.url}/identity/v2/job/list`, {
      method: "POST",
      headers: { token, "x-request-id": "bad id\twith spaces", traceparent: "00-zz-yy-01" },
      body: "{}",
    });
    await res.text();
    const id = res.headers.get("x-request-id") ?? "";
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await waitFor(() => lines.some((l) => l.request_id === id));
    const line = lines.find((l) => l.request_id === id);
    expect(line?.trace_id).toBeUndefined();
    expect(line).toMatchObject({ code: "ok", rpc_method: "list" });
  });

  it("an unauthenticated call has no caller and code unauthenticated; no token reaches the log", async () => {
    const client = createClient(Job, createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }));
    await expect(
      client.list({}, { headers: { token: "not-a-valid-token-SECRET", "x-request-id": "req-anon" } }),
    ).rejects.toThrow();
    await waitFor(() => lines.some((l) => l.request_id === "req-anon"));
    const line = lines.find((l) => l.request_id === "req-anon");
    expect(line).toMatchObject({ code: "unauthenticated", rpc_method: "list" });
    expect(line?.caller).toBeUndefined();
    const all = rawLog.join("");
    expect(all).not.toContain("not-a-valid-token-SECRET");
    expect(all).not.toContain(token);
  });

  it("an unknown method is counted once as unknown/unimplemented, with its path in the log", async () => {
    const res = await fetch(`${server.url}/spaceone.api.identity.v2.Job/nope`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "req-unknown" },
      body: "{}",
    });
    await res.text();
    await waitFor(() => lines.some((l) => l.request_id === "req-unknown"));
    expect(lines.find((l) => l.request_id === "req-unknown")).toMatchObject({
      protocol: "connect",
      rpc_service: "unknown",
      rpc_method: "unknown",
      code: "unimplemented",
      path: "/spaceone.api.identity.v2.Job/nope",
    });
  });
});

describe("GET /metrics", () => {
  it("counts calls by service, method, protocol and code, with a latency histogram per method", async () => {
    const client = createClient(Job, createGrpcTransport({ baseUrl: server.url }));
    const before = sample(await scrape(), "job_service_calls_total", {
      service: "spaceone.api.identity.v2.Job",
      method: "get",
      protocol: "grpc",
      code: "ok",
    });
    await client.get({ jobId: "job-a01" }, { headers: { token } });
    await client.get({ jobId: "job-a01" }, { headers: { token } });
    await expect(client.get({ jobId: "job-zzz" }, { headers: { token } })).rejects.toThrow();
    const text = await scrape();
    const labels = { service: "spaceone.api.identity.v2.Job", method: "get", protocol: "grpc" };
    expect(sample(text, "job_service_calls_total", { ...labels, code: "ok" })).toBe((before ?? 0) + 2);
    expect(sample(text, "job_service_calls_total", { ...labels, code: "not_found" })).toBeGreaterThanOrEqual(
      1,
    );
    expect(
      sample(text, "job_service_call_duration_seconds_count", { service: labels.service, method: "get" }),
    ).toBeGreaterThanOrEqual(3);
    expect(sample(text, "job_service_calls_in_flight", { protocol: "grpc" })).toBe(0);
    // Scrapes of /metrics are not calls.
    expect(text).not.toMatch(/method="metrics"/);
  });

  it("every label value is bounded: no job id, token or request id", async () => {
    const text = await scrape();
    expect(text).not.toMatch(/job-a0|job-zzz|req-|eyJ/);
    for (const [, , value] of text.matchAll(/(\w+)="([^"]*)"/g))
      expect((value ?? "").length).toBeLessThan(64);
  });

  it("jobs by status and domains, from the store", async () => {
    const text = await scrape();
    for (const status of ["SUCCESS", "FAILURE", "IN_PROGRESS", "PENDING", "CANCELED"]) {
      expect(sample(text, "job_service_jobs", { status })).toBe(
        JOBS.filter((j) => j.status === status).length,
      );
    }
    expect(sample(text, "job_service_domains")).toBe(new Set(JOBS.map((j) => j.domain_id)).size);
  });

  it("lifecycle transitions by action and statuses, after they commit", async () => {
    const system = await server.systemToken("orchestrator");
    const lifecycle = createClient(
      JobLifecycle,
      createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
    );
    const headers = { token: system, x_workspace_id: "ws-1" };
    const job = await lifecycle.create(
      { trustedAccountId: "ta-metrics", workspaceId: "ws-1", resourceGroup: JobInfo_ResourceGroup.WORKSPACE },
      { headers },
    );
    await lifecycle.start({ jobId: job.jobId }, { headers });
    await expect(lifecycle.start({ jobId: job.jobId }, { headers })).rejects.toThrow();
    const text = await scrape();
    expect(
      sample(text, "job_service_job_transitions_total", { action: "create", from: "none", to: "PENDING" }),
    ).toBe(1);
    expect(
      sample(text, "job_service_job_transitions_total", {
        action: "start",
        from: "PENDING",
        to: "IN_PROGRESS",
      }),
    ).toBe(1);
  });

  it("process and event-loop metrics, and the watch registry the watch streams feed", async () => {
    server.app.metrics.watch.streams.inc();
    const text = await scrape();
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    expect(text).toMatch(/^process_resident_memory_bytes /m);
    expect(sample(text, "job_service_watch_streams")).toBe(1);
    // Store calls are timed at the store interface, per operation.
    expect(
      sample(text, "job_service_db_statement_duration_seconds_count", {
        backend: "sqlite",
        operation: "get",
      }),
    ).toBeGreaterThan(0);
    expect(
      sample(text, "job_service_db_statement_duration_seconds_count", {
        backend: "sqlite",
        operation: "write",
      }),
    ).toBeGreaterThan(0);
    expect(sample(text, "job_service_waiters")).toBe(0);
    server.app.metrics.watch.streams.dec();
  });

  it("an internal error logs its cause once, at error, with the request id", async () => {
    // Break the timeline table under the running server: the next list_events is a server fault.
    server.db.exec("ALTER TABLE job_events RENAME TO job_events_gone");
    try {
      const res = await fetch(`${server.url}/identity/v2/job/list-events`, {
        method: "POST",
        headers: { token, "x-request-id": "req-internal" },
        body: JSON.stringify({ job_id: "job-a01" }),
      });
      expect(res.status).toBe(500);
      expect(await res.text()).not.toMatch(/job_events/);
    } finally {
      server.db.exec("ALTER TABLE job_events_gone RENAME TO job_events");
    }
    await waitFor(() => lines.some((l) => l.request_id === "req-internal" && l.msg === "call"));
    const mine = lines.filter((l) => l.request_id === "req-internal");
    const errors = mine.filter((l) => l.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      msg: "internal error",
      procedure: "spaceone.api.identity.v2.JobLifecycle/list_events",
    });
    expect(JSON.stringify(errors[0]?.err)).toMatch(/job_events/);
    expect(mine.find((l) => l.msg === "call")).toMatchObject({ code: "internal", level: 30 });
  });
});

describe("watch streams and waiters", () => {
  it("count open watch streams (Connect and SSE) and wait calls while they are open", async () => {
    const lifecycle = createClient(
      JobLifecycle,
      createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
    );
    const system = { token: await server.systemToken("orchestrator"), x_workspace_id: "ws-1" };
    const running = await lifecycle.create(
      { trustedAccountId: "ta-waiters", workspaceId: "ws-1", resourceGroup: JobInfo_ResourceGroup.WORKSPACE },
      { headers: system },
    );
    await lifecycle.start({ jobId: running.jobId }, { headers: system });
    const stop = new AbortController();
    const stream = (async () => {
      try {
        for await (const _ of lifecycle.watch(
          { jobId: running.jobId },
          { headers: { token }, signal: stop.signal },
        )) {
          // keep reading
        }
      } catch {
        // aborted
      }
    })();
    const sse = new AbortController();
    const sseResponse = await fetch(`${server.url}/identity/v2/job/watch`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: "{}",
      signal: sse.signal,
    });
    expect(sseResponse.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const waiting = lifecycle.wait({ jobId: running.jobId, timeoutSeconds: 2 }, { headers: { token } });
    await new Promise((r) => setTimeout(r, 300));
    const open = await scrape();
    expect(sample(open, "job_service_watch_streams")).toBe(2);
    expect(sample(open, "job_service_waiters")).toBe(1);
    stop.abort();
    sse.abort();
    await stream;
    await waiting;
    await waitFor(() => lines.filter((l) => l.rpc_method === "watch").length >= 2);
    const closed = await scrape();
    expect(sample(closed, "job_service_watch_streams")).toBe(0);
    expect(sample(closed, "job_service_waiters")).toBe(0);
    expect(lines.find((l) => l.rpc_method === "watch" && l.protocol === "rest")).toMatchObject({
      rpc_service: "spaceone.api.identity.v2.JobLifecycle",
    });
  });
});

describe("SSE watch log line", () => {
  it("names the caller (domain, workspace, role, token type, own, aud) like a Connect call", async () => {
    const userToken = await signToken(server.config, {
      role: "WORKSPACE_MEMBER",
      domainId: "domain-a",
      workspaceId: "ws-1",
      ttlSeconds: 600,
      owner: "USER",
      audience: "ops-user@example.com",
    });
    const abort = new AbortController();
    const res = await fetch(`${server.url}/identity/v2/job/watch`, {
      method: "POST",
      headers: { authorization: `Bearer ${userToken}`, "x-request-id": "req-sse-caller" },
      body: "{}",
      signal: abort.signal,
    });
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toMatch(/"type":"HEARTBEAT"/);
    abort.abort();
    await waitFor(() => lines.some((l) => l.request_id === "req-sse-caller"));
    const line = lines.find((l) => l.request_id === "req-sse-caller");
    expect(line).toMatchObject({
      msg: "call",
      protocol: "rest",
      rpc_service: "spaceone.api.identity.v2.JobLifecycle",
      rpc_method: "watch",
      // The client went away mid-stream.
      code: "canceled",
      caller: {
        domain_id: "domain-a",
        workspace_id: "ws-1",
        role: "WORKSPACE_MEMBER",
        token_type: "ACCESS_TOKEN",
        own: "USER",
        aud: "ops-user@example.com",
      },
    });
    expect(rawLog.join("")).not.toContain(userToken);
  });

  it("a watch refused before its stream logs the caller and the code the client got", async () => {
    const res = await fetch(`${server.url}/identity/v2/job/watch`, {
      method: "POST",
      headers: { token, "x-request-id": "req-sse-refused" },
      body: JSON.stringify({ cursor: "not-a-cursor" }),
    });
    expect(res.status).toBe(400);
    await res.text();
    await waitFor(() => lines.some((l) => l.request_id === "req-sse-refused"));
    expect(lines.find((l) => l.request_id === "req-sse-refused")).toMatchObject({
      rpc_method: "watch",
      code: "invalid_argument",
      status: 400,
      caller: { domain_id: "domain-a", workspace_id: "ws-1", role: "WORKSPACE_OWNER" },
    });
  });
});

describe("metrics pieces", () => {
  it("job counts are recounted at most once per max age, however often scraped", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    let counts = 0;
    let clock = 0;
    registerJobCounts({
      registry: metrics.registry,
      maxAgeMs: 30_000,
      now: () => clock,
      count: () => {
        counts++;
        return { byStatus: { SUCCESS: counts }, domains: 1 };
      },
    });
    const first = await metrics.scrape();
    await Promise.all([metrics.scrape(), metrics.scrape()]);
    clock = 29_999;
    const cached = await metrics.scrape();
    expect(counts).toBe(1);
    expect(sample(first, "job_service_jobs", { status: "SUCCESS" })).toBe(1);
    expect(sample(cached, "job_service_jobs", { status: "PENDING" })).toBe(0);
    expect(sample(cached, "job_service_job_counts_age_seconds")).toBeCloseTo(29.999);
    clock = 30_000;
    expect(sample(await metrics.scrape(), "job_service_jobs", { status: "SUCCESS" })).toBe(2);
    expect(counts).toBe(2);
  });

  it("reaper and retention passes count what they did", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const pass = instrumentPass(metrics, "reaper", async () => ({
      notStarted: 2,
      heartbeatLost: 0,
      canceled: 1,
    }));
    await pass(new AbortController().signal);
    const text = await metrics.scrape();
    expect(
      sample(text, "job_service_housekeeping_actions_total", { task: "reaper", action: "not_started" }),
    ).toBe(2);
    expect(
      sample(text, "job_service_housekeeping_actions_total", { task: "reaper", action: "canceled" }),
    ).toBe(1);
    expect(
      sample(text, "job_service_housekeeping_actions_total", { action: "heartbeat_lost" }),
    ).toBeUndefined();
    expect(sample(text, "job_service_housekeeping_pass_duration_seconds_count", { task: "reaper" })).toBe(1);
  });

  it("METRICS_PORT: /metrics on its own port, and not on the service's", async () => {
    const own = await startTestServer({ env: { METRICS_PORT: "0" } });
    const metricsServer = await startMetricsServer(own.app.metrics, "127.0.0.1", 0);
    try {
      expect((await fetch(`${own.url}/metrics`)).status).toBe(404);
      const text = await scrape(metricsServer.url);
      expect(text).toMatch(/^job_service_calls_in_flight/m);
      expect((await fetch(`${metricsServer.url}/other`)).status).toBe(404);
    } finally {
      await metricsServer.close();
      await own.close();
    }
  });
});
