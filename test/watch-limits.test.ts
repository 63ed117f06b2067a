/**
 * The limits of a watch on the real server: a client that stops reading is cut off with
 * resource_exhausted after a bounded buffer (and the server lets go of it at once; on both backends), and SIGTERM ends
 * open streams cleanly, well within the drain deadline, with waits answered with the job as it is.
 */
import fs from "node:fs";
import http2 from "node:http2";
import os from "node:os";
import path from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, describe, expect, it } from "vitest";
import { JobLifecycle } from "../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import { JobInfo_Status } from "../gen/spaceone/api/identity/v2/job_pb.js";
import { ensureLocalSecret } from "../src/auth/keys.js";
import { signToken } from "../src/auth/token.js";
import { loadConfig } from "../src/config.js";
import { BACKENDS } from "./support/backends.js";
import { startChildServer } from "./support/child-server.js";
import { startTestServer, type TestServer } from "./support/server.js";
import { connectWatch, sseWatch } from "./support/watch-client.js";

const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

/** A Connect streaming request body: one envelope (flags 0, big-endian length, JSON). */
function envelope(json: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(json));
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

describe.each(BACKENDS)("a client that does not read, on $name", (backend) => {
  if (backend.skip) {
    it.skip(`skipped: ${backend.skip}`, () => {});
    return;
  }
  it("is cut off with resource_exhausted after WATCH_BUFFER_EVENTS, and the server drops it at once", async () => {
    const server: TestServer = await startTestServer({
      backend,
      jobs: [],
      env: { WATCH_BUFFER_EVENTS: "5" },
    });
    cleanup.push(() => server.close());
    const admin = await server.token("DOMAIN_ADMIN");
    const worker = await server.systemToken("collector-1");
    // A tiny flow-control window: the server can send a few hundred bytes, then must wait for us.
    const session = http2.connect(server.url, { settings: { initialWindowSize: 256 } });
    cleanup.push(() => void session.destroy());
    const stream = session.request({
      ":method": "POST",
      ":path": "/spaceone.api.identity.v2.JobLifecycle/watch",
      "content-type": "application/connect+json",
      token: admin,
    });
    stream.end(envelope({}));
    stream.pause();
    await until(() => server.app.watch.hub.counts.watchers === 1);
    const lifecycle = createClient(
      JobLifecycle,
      createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
    );
    const big = { note: "x".repeat(2000) };
    for (let i = 0; i < 40 && server.app.watch.hub.counts.watchers > 0; i++) {
      await lifecycle.create(
        { trustedAccountId: `ta-${i}`, resourceGroup: 1, options: big },
        { headers: { token: worker } },
      );
    }
    // The server let go of the stream's buffer without waiting for the client.
    await until(() => server.app.watch.hub.counts.watchers === 0);
    // When the client reads again: what was in flight, then the end-of-stream with the error.
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.resume();
    await new Promise((resolve) => stream.on("end", resolve));
    const text = Buffer.concat(chunks).toString("utf8");
    expect(text).toContain('"resource_exhausted"');
    expect(text).toContain("ERROR_WATCH_TOO_SLOW");
  });
});

describe("SIGTERM", () => {
  it("ends open streams cleanly at once and answers waits with the job as it is", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "job-watch-shutdown-"));
    cleanup.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const child = await startChildServer(dataDir, { SHUTDOWN_GRACE_MS: "10000" });
    const config = loadConfig({ DATA_DIR: dataDir });
    ensureLocalSecret(config);
    const admin = await signToken(config, { role: "DOMAIN_ADMIN", domainId: "domain-s", ttlSeconds: 600 });
    const worker = await signToken(config, {
      role: "DOMAIN_ADMIN",
      domainId: "domain-s",
      ttlSeconds: 600,
      tokenType: "SYSTEM_TOKEN",
    });
    const lifecycle = createClient(
      JobLifecycle,
      createConnectTransport({ baseUrl: child.url, httpVersion: "1.1" }),
    );
    const job = await lifecycle.create(
      { trustedAccountId: "ta-1", resourceGroup: 1 },
      { headers: { token: worker } },
    );
    const grpc = connectWatch(createGrpcTransport({ baseUrl: child.url }), admin, {});
    const sse = sseWatch(child.url, admin, {});
    await grpc.until((e) => e.length >= 1);
    await sse.until((e) => e.length >= 1);
    const waiting = lifecycle.wait({ jobId: job.jobId, timeoutSeconds: 60 }, { headers: { token: admin } });
    await new Promise((r) => setTimeout(r, 200));
    const signalled = Date.now();
    child.process.kill("SIGTERM");
    await grpc.until(() => grpc.ended, 5000);
    await sse.until(() => sse.ended, 5000);
    const answer = await waiting;
    expect(grpc.errorCode).toBeNull();
    expect(sse.errorCode).toBeNull();
    expect(answer.status).toBe(JobInfo_Status.PENDING);
    expect(await child.exited).toBe(0);
    // Well before the 10 s grace period: streams do not hold the drain up.
    expect(Date.now() - signalled).toBeLessThan(5000);
  }, 30_000);
});

async function until(predicate: () => boolean, ms = 5000): Promise<void> {
  const stop = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > stop) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}
