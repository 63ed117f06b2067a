/**
 * Two server processes on one database, two writers and four watchers spread over both: every watcher
 * receives every committed change exactly once (as many change events as acknowledged writes, each
 * cursor once, in increasing order), each job's versions never go down along a stream, and the last
 * event of every job carries the version its last acknowledged write returned. SQLite (two processes on
 * one WAL file) here; the PostgreSQL run uses the same scenario.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, describe, expect, it } from "vitest";
import { JobLifecycle } from "../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import { ensureLocalSecret } from "../src/auth/keys.js";
import { signToken } from "../src/auth/token.js";
import { loadConfig } from "../src/config.js";
import { type ChildServer, startChildServer } from "./support/child-server.js";
import { connectWatch, type OpenStream, type WireEvent } from "./support/watch-client.js";

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "job-watch-instances-"));
const servers: ChildServer[] = [];
afterAll(async () => {
  for (const s of servers) {
    s.process.kill("SIGTERM");
    await s.exited;
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** The writes of one writer: create, start, progress reports, succeed, on jobs of its own. */
async function writer(url: string, token: string, name: string, jobs: number, reports: number) {
  const client = createClient(JobLifecycle, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
  const headers = { token };
  const acknowledged = new Map<string, number>();
  let writes = 0;
  const ack = (job: { jobId: string; version: number }) => {
    acknowledged.set(job.jobId, Math.max(acknowledged.get(job.jobId) ?? 0, job.version));
    writes++;
  };
  const ids: string[] = [];
  for (let i = 0; i < jobs; i++) {
    const job = await client.create(
      { trustedAccountId: `${name}-${i}`, workspaceId: "ws-1", resourceGroup: 2 },
      { headers },
    );
    ack(job);
    ids.push(job.jobId);
    ack(await client.start({ jobId: job.jobId }, { headers }));
  }
  for (let r = 0; r < reports; r++) {
    for (const jobId of ids) ack(await client.report_progress({ jobId, progressPercent: r }, { headers }));
  }
  for (const jobId of ids) ack(await client.succeed({ jobId }, { headers }));
  return { acknowledged, writes };
}

function check(stream: OpenStream, expectedWrites: number, finalVersions: Map<string, number>) {
  const changes = stream.changes();
  expect(changes.length).toBe(expectedWrites);
  const cursors = changes.map((e) => e.cursor);
  expect(new Set(cursors).size).toBe(cursors.length);
  const positions = cursors.map((c) => Number.parseInt(c.slice(3), 36));
  expect(positions).toEqual([...positions].sort((a, b) => a - b));
  const last = new Map<string, number>();
  for (const e of changes as WireEvent[]) {
    const id = e.job?.job_id as string;
    const version = e.job?.version ?? 0;
    expect(version).toBeGreaterThanOrEqual(last.get(id) ?? 0);
    last.set(id, version);
  }
  expect(last).toEqual(finalVersions);
}

describe("two instances on one SQLite file", () => {
  it("every watcher receives every change once, in an order consistent with each job's versions", async () => {
    servers.push(await startChildServer(dataDir));
    servers.push(await startChildServer(dataDir));
    const config = loadConfig({ DATA_DIR: dataDir });
    ensureLocalSecret(config);
    const system = await signToken(config, {
      role: "DOMAIN_ADMIN",
      domainId: "domain-w",
      ttlSeconds: 600,
      tokenType: "SYSTEM_TOKEN",
      subject: "writer",
    });
    const admin = await signToken(config, { role: "DOMAIN_ADMIN", domainId: "domain-w", ttlSeconds: 600 });
    const watchers = servers.flatMap((s) => [
      connectWatch(createConnectTransport({ baseUrl: s.url, httpVersion: "1.1" }), admin, {}),
      connectWatch(
        createConnectTransport({ baseUrl: s.url, httpVersion: "2", useBinaryFormat: true }),
        admin,
        {},
      ),
    ]);
    await Promise.all(watchers.map((w) => w.until((e) => e.length >= 1)));
    const [a, b] = servers as [ChildServer, ChildServer];
    const results = await Promise.all([writer(a.url, system, "a", 6, 8), writer(b.url, system, "b", 6, 8)]);
    const total = results.reduce((n, r) => n + r.writes, 0);
    const finalVersions = new Map([...results[0].acknowledged, ...results[1].acknowledged]);
    expect(total).toBe(2 * (6 * 2 + 6 * 8 + 6));
    await Promise.all(
      watchers.map((w) => w.until((e) => e.filter((x) => x.type !== "HEARTBEAT").length >= total, 15_000)),
    );
    await new Promise((r) => setTimeout(r, 200));
    for (const w of watchers) check(w, total, finalVersions);
    for (const w of watchers) w.cut();
  }, 60_000);
});
