/**
 * grpc.health.v1.Health and GET /readyz over the wire: during normal service, while draining (in
 * process, and a real process on SIGTERM), and with the database gone.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterEach, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../gen/grpc/health/v1/health_pb.js";
import { type AppServer, startAppServer } from "./support/app-server.js";
import { startChildServer } from "./support/child-server.js";

const SERVICES = [
  "",
  "spaceone.api.identity.v2.Job",
  "spaceone.api.identity.v2.JobLifecycle",
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
];

const healthClient = (url: string) => createClient(Health, createGrpcTransport({ baseUrl: url }));

/** grpc-js's own client (the library Kubernetes-style probes and python's grpc mirror). */
function grpcJsHealth(url: string) {
  const definition = protoLoader.loadSync("grpc/health/v1/health.proto", {
    includeDirs: [path.resolve(import.meta.dirname, "../third_party")],
    enums: String,
  });
  // biome-ignore lint/suspicious/noExplicitAny: grpc-js package definitions are untyped
  const pkg = grpc.loadPackageDefinition(definition) as any;
  return new pkg.grpc.health.v1.Health(url.replace("http://", ""), grpc.credentials.createInsecure());
}

let servers: AppServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});
async function serve(): Promise<AppServer> {
  const server = await startAppServer({ jobs: [] });
  servers.push(server);
  return server;
}

describe("normal service", () => {
  it.each(SERVICES)("Check %j answers SERVING without a token", async (service) => {
    const server = await serve();
    expect((await healthClient(server.url).check({ service })).status).toBe(Status.SERVING);
  });

  it("Check of a service not served here is NOT_FOUND", async () => {
    const server = await serve();
    const err = await healthClient(server.url)
      .check({ service: "spaceone.api.identity.v2.Nope" })
      .catch((e: unknown) => e);
    expect(ConnectError.from(err).code).toBe(Code.NotFound);
  });

  it("grpc-js Check and List agree", async () => {
    const server = await serve();
    const client = grpcJsHealth(server.url);
    const check = await new Promise<{ status: string }>((resolve, reject) =>
      client.Check({ service: "" }, (err: unknown, res: { status: string }) =>
        err ? reject(err) : resolve(res),
      ),
    );
    expect(check.status).toBe("SERVING");
    const list = await healthClient(server.url).list({});
    expect(Object.keys(list.statuses).sort()).toEqual([...SERVICES].sort());
    client.close();
  });

  it("/readyz is 200 ready, /healthz stays 200", async () => {
    const server = await serve();
    const ready = await fetch(`${server.url}/readyz`);
    expect([ready.status, await ready.text()]).toEqual([200, "ready"]);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

describe("draining", () => {
  it("Check and /readyz say NOT_SERVING; an open Watch hears it at once", async () => {
    const server = await serve();
    const client = healthClient(server.url);
    const abort = new AbortController();
    const seen: Status[] = [];
    const watching = (async () => {
      for await (const res of client.watch(
        { service: "spaceone.api.identity.v2.Job" },
        { signal: abort.signal },
      )) {
        seen.push(res.status);
        if (res.status === Status.NOT_SERVING) return;
      }
    })();
    await expect.poll(() => seen).toEqual([Status.SERVING]);
    server.app.health.startDrain();
    await watching;
    expect(seen).toEqual([Status.SERVING, Status.NOT_SERVING]);
    expect((await client.check({ service: "" })).status).toBe(Status.NOT_SERVING);
    const ready = await fetch(`${server.url}/readyz`);
    expect([ready.status, await ready.text()]).toEqual([503, "not ready: draining"]);
    abort.abort();
  });

  it("a real process on SIGTERM tells its health watchers NOT_SERVING before it exits", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "job-service-health-"));
    const child = await startChildServer(dataDir, { SHUTDOWN_GRACE_MS: "3000" });
    try {
      const client = grpcJsHealth(child.url);
      const statuses: string[] = [];
      const call = client.Watch({ service: "" });
      const ended = new Promise<void>((resolve) => {
        call.on("data", (res: { status: string }) => {
          statuses.push(res.status);
          if (res.status === "SERVING") child.process.kill("SIGTERM");
          if (res.status === "NOT_SERVING") resolve();
        });
        call.on("error", () => resolve());
      });
      await ended;
      expect(statuses).toEqual(["SERVING", "NOT_SERVING"]);
      call.cancel();
      client.close();
      expect(await child.exited).toBe(0);
    } finally {
      if (child.process.exitCode === null) child.process.kill("SIGKILL");
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("database gone", () => {
  it("Check says NOT_SERVING and /readyz 503 names the database; /healthz stays up", async () => {
    const server = await serve();
    const client = healthClient(server.url);
    expect((await client.check({ service: "" })).status).toBe(Status.SERVING);
    server.db.close();
    expect((await client.check({ service: "" })).status).toBe(Status.NOT_SERVING);
    expect((await client.check({ service: "spaceone.api.identity.v2.Job" })).status).toBe(Status.NOT_SERVING);
    const ready = await fetch(`${server.url}/readyz`);
    expect([ready.status, await ready.text()]).toEqual([503, "not ready: database unreachable"]);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it("a database behind on migrations is not ready", async () => {
    const server = await serve();
    server.db.pragma("user_version = 1");
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).toMatch(/^not ready: schema version 1, migrations to \d+ not applied$/);
  });
});
