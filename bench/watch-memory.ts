/**
 * `npx tsx bench/watch-memory.ts [--streams N] [--connections C] [--heap] [--no-build] [--flags "..."]
 * [--stream lean|connect]`: what idle
 * watch streams cost the service. The built service (SQLite, one worker) on an empty database; N watch
 * streams of one job each (Connect binary over h2c, spread over C HTTP/2 connections, as
 * `watch_delivery` opens them), nothing written. Reports the server's RSS before and 1 s after the
 * streams open (what `watch_delivery.rss_growth_mb` measures), then diffs two heap snapshots (streams
 * open, then closed with the HTTP/2 sessions kept; each snapshot runs a full GC first) by constructor
 * and closure name, divided by N: the bytes and objects one open stream holds on the JavaScript heap.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { JobLifecycle } from "../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import { ensureLocalSecret } from "../src/auth/keys.js";
import { signToken } from "../src/auth/token.js";
import { loadConfig } from "../src/config.js";
import { fmt } from "./core/figure.js";
import { type HeapSummary, summarize } from "./core/heap-snapshot.js";
import { sleep } from "./core/measure.js";
import { detectPinning, memoryOf, pinSelf, waitHttpOk } from "./core/proc.js";
import { buildService, startRealServer } from "./core/service.js";
import { h2Sessions, openWatchStreams, type WatchStreams } from "./core/watch-streams.js";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      streams: { type: "string", default: "1000" },
      connections: { type: "string", default: "10" },
      jobs: { type: "string", default: "20" },
      "no-build": { type: "boolean", default: false },
      flags: { type: "string", default: "" },
      heap: { type: "boolean", default: false },
      stream: { type: "string", default: "lean" },
    },
  });
  const STREAMS = Number(values.streams);
  const CONNECTIONS = Number(values.connections);
  const JOBS = Number(values.jobs);
  const log = (line: string) => process.stdout.write(`${line}\n`);
  if (!values["no-build"]) buildService();
  const pinning = detectPinning(false);
  pinSelf(pinning.clientCpu);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "watch-memory-"));
  const snapDir = path.join(dataDir, "snapshots");
  fs.mkdirSync(snapDir);
  const config = loadConfig({ DATA_DIR: dataDir, JWT_ALGORITHM: "HS256" });
  ensureLocalSecret(config);
  const real = await startRealServer({
    dataDir,
    dbFile: path.join(dataDir, "jobs.db"),
    pinning,
    env: { WORKERS: "1", WIRE_STREAM: values.stream },
    nodeFlags: [
      ...values.flags.split(" ").filter(Boolean),
      "--heapsnapshot-signal=SIGUSR2",
      `--diagnostic-dir=${snapDir}`,
    ],
  });
  const server = real.child;
  const snapshot = async (): Promise<HeapSummary> => {
    const before = new Set(fs.readdirSync(snapDir));
    server.proc.kill("SIGUSR2");
    // Written on the main thread: once /healthz answers again, the file is complete.
    await sleep(500);
    await waitHttpOk(`${real.baseUrl}/healthz`, server, 300_000);
    const file = fs.readdirSync(snapDir).find((f) => f.endsWith(".heapsnapshot") && !before.has(f));
    if (!file) throw new Error("no heap snapshot written");
    const summary = summarize(path.join(snapDir, file));
    fs.rmSync(path.join(snapDir, file));
    return summary;
  };
  let streams: WatchStreams | undefined;
  try {
    const writer = createClient(
      JobLifecycle,
      createConnectTransport({ baseUrl: real.baseUrl, httpVersion: "2" }),
    );
    const headers = {
      token: await signToken(config, {
        role: "DOMAIN_ADMIN",
        domainId: "domain-bench",
        ttlSeconds: 3600,
        tokenType: "SYSTEM_TOKEN",
      }),
    };
    const reader = await signToken(config, {
      role: "DOMAIN_ADMIN",
      domainId: "domain-bench",
      ttlSeconds: 3600,
    });
    const jobIds: string[] = [];
    for (let i = 0; i < JOBS; i++) {
      const job = await writer.create(
        { trustedAccountId: `ta-${i}`, workspaceId: "ws-1", resourceGroup: 2 },
        { headers },
      );
      jobIds.push(job.jobId);
    }
    // The HTTP/2 sessions first (one unary call each), so the diff holds the streams, not the sessions.
    const sessions = await h2Sessions(real.baseUrl, CONNECTIONS, {
      jobId: jobIds[0] as string,
      token: reader,
    });
    await sleep(500);
    const rssBefore = memoryOf(server.pid).rssMb;

    streams = openWatchStreams({ sessions, streams: STREAMS, jobIds, token: reader, log });
    await streams.open;
    await sleep(1000);
    const rssOpen = memoryOf(server.pid).rssMb;
    log(
      `${STREAMS} idle watch streams over ${CONNECTIONS} HTTP/2 connections, WIRE_STREAM=${values.stream}${values.flags ? ` (node ${values.flags})` : ""}`,
    );
    log(
      `  RSS: before ${fmt(rssBefore)} MB, open ${fmt(rssOpen)} MB: growth ${fmt((rssOpen ?? 0) - (rssBefore ?? 0))} MB`,
    );
    if (!values.heap) return;

    const heapOpen = await snapshot();
    await streams.close();
    await sleep(1000);
    const heapClosed = await snapshot();
    log(
      `  JS heap live: ${fmt(heapOpen.total)} MB open, ${fmt(heapClosed.total)} MB closed: ` +
        `${fmt(((heapOpen.total - heapClosed.total) * 1048576) / STREAMS / 1024)} KB per stream`,
    );
    const heapBefore = heapClosed;
    const rows = [...heapOpen.all]
      .map(([name, v]) => {
        const was = heapBefore.all.get(name) ?? { mb: 0, count: 0 };
        return { name, bytes: ((v.mb - was.mb) * 1048576) / STREAMS, count: (v.count - was.count) / STREAMS };
      })
      .filter((r) => r.bytes > 16)
      .sort((a, b) => b.bytes - a.bytes)
      .slice(0, 40);
    log("  per stream, by constructor / closure (bytes, objects):");
    for (const r of rows) log(`    ${fmt(r.bytes).padStart(8)} B ${fmt(r.count).padStart(6)}  ${r.name}`);
  } finally {
    await streams?.close();
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`watch-memory failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
