/**
 * A purged job answers not_found with a reason that differs from "never existed", on every wire:
 * the message says it expired and the header (gRPC: trailer) `x-spaceone-error-reason` says EXPIRED.
 */

import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Job } from "../gen/spaceone/api/identity/v2/job_pb.js";
import { startTestServer, type TestServer } from "./support/server.js";

let server: TestServer;
let token: string;

beforeAll(async () => {
  server = await startTestServer();
  token = await server.token("DOMAIN_ADMIN");
  const db = new Database(server.config.databaseFile);
  db.prepare(
    "INSERT INTO job_tombstones (job_id, domain_id, workspace_id, status, finished_at, purged_at) VALUES (?, ?, ?, ?, ?, ?)",
  ).run(
    "job-purged00001",
    "domain-a",
    "ws-1",
    "SUCCESS",
    "2025-01-01T00:00:00.000Z",
    "2026-03-01T00:00:00.000Z",
  );
  db.close();
});
afterAll(async () => server?.close());

describe("expired vs never existed", () => {
  it("REST: 404 with an 'expired' message and the reason header", async () => {
    const get = (jobId: string) =>
      fetch(`${server.url}/identity/v2/job/get`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify({ job_id: jobId }),
      });
    const purged = await get("job-purged00001");
    expect(purged.status).toBe(404);
    expect(purged.headers.get("x-spaceone-error-reason")).toBe("EXPIRED");
    const body = (await purged.json()) as { detail: { code: string; message: string } };
    expect(body.detail.code).toBe("ERROR_NOT_FOUND");
    expect(body.detail.message).toMatch(/^Resource has expired/);

    const never = await get("job-neverexisted");
    expect(never.status).toBe(404);
    expect(never.headers.get("x-spaceone-error-reason")).toBe("NOT_FOUND");
  });

  it("Connect and gRPC: the reason is in the error metadata", async () => {
    for (const transport of [
      createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
      createGrpcTransport({ baseUrl: server.url }),
    ]) {
      const client = createClient(Job, transport);
      const error = await client
        .get({ jobId: "job-purged00001" }, { headers: { token } })
        .catch(ConnectError.from);
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as ConnectError).code).toBe(Code.NotFound);
      expect((error as ConnectError).metadata.get("x-spaceone-error-reason")).toBe("EXPIRED");
    }
  });

  it("outside the caller's scope a purged job is a plain not found", async () => {
    const other = await server.token("DOMAIN_ADMIN", "domain-b");
    const client = createClient(Job, createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }));
    const error = ConnectError.from(
      await client.get({ jobId: "job-purged00001" }, { headers: { token: other } }).catch((e) => e),
    );
    expect(error.metadata.get("x-spaceone-error-reason")).toBe("NOT_FOUND");
    expect(error.rawMessage).toMatch(/^ERROR_NOT_FOUND: Resource cannot be found/);
  });
});
