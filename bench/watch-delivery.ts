/**
 * Watch delivery under load (docs/watch.md, "Delivery under load"): one server process, N open watch
 * streams (Connect over h2c, spread over several HTTP/2 connections), a writer reporting progress at a
 * fixed rate, and for every delivered event the time from the write being issued to the event reaching
 * its stream. Also the server's CPU time per second of load and its RSS before the streams, with them
 * open and idle, and under load.
 *
 *   npx tsx bench/watch-delivery.ts [--streams 1000] [--jobs 20] [--rate 100] [--seconds 20]
 *                                   [--match job|all]
 *
 * `--match job` (default): each stream watches one job (`job_id`), as a console page following a job;
 * each write reaches streams/jobs streams. `--match all`: every stream watches the whole domain, so each
 * write reaches every stream. `delivery_ms` runs from the job's `updated_at` (set by the write's
 * transaction, on the server's clock, on this machine) to the event's arrival in the client process;
 * `issued_to_delivery_ms` from the moment the client sent the write (stamped in `current_step`).
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
import { percentile, sleep } from "./core/measure.js";
import { cpuTimeMs, freePort, memoryOf, startNode, waitHttpOk } from "./core/proc.js";

const { values } = parseArgs({
  options: {
    streams: { type: "string", default: "1000" },
    jobs: { type: "string", default: "20" },
    rate: { type: "string", default: "100" },
    seconds: { type: "string", default: "20" },
    match: { type: "string", default: "job" },
    connections: { type: "string", default: "10" },
  },
});
const STREAMS = Number(values.streams);
const JOBS = Number(values.jobs);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const MATCH = values.match === "all" ? "all" : "job";
const CONNECTIONS = Number(values.connections);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "watch-bench-"));
const port = await freePort();
const env = { ...process.env, DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: "warn", WORKERS: "1" };
const config = loadConfig(env);
ensureLocalSecret(config);
const server = startNode("src/main.ts", [], { cpu: null, env, name: "server" });
const url = `http://127.0.0.1:${port}`;
try {
  await waitHttpOk(`${url}/healthz`, server, 30_000);
  const worker = await signToken(config, {
    role: "DOMAIN_ADMIN",
    domainId: "domain-bench",
    ttlSeconds: 3600,
    tokenType: "SYSTEM_TOKEN",
    subject: "bench-writer",
  });
  const reader = await signToken(config, {
    role: "DOMAIN_ADMIN",
    domainId: "domain-bench",
    ttlSeconds: 3600,
  });
  const writer = createClient(JobLifecycle, createConnectTransport({ baseUrl: url, httpVersion: "2" }));
  const headers = { token: worker };
  const jobIds: string[] = [];
  for (let i = 0; i < JOBS; i++) {
    const job = await writer.create(
      { trustedAccountId: `ta-${i}`, workspaceId: "ws-1", resourceGroup: 2 },
      { headers },
    );
    await writer.start({ jobId: job.jobId }, { headers });
    jobIds.push(job.jobId);
  }
  await sleep(500);
  const rssBefore = memoryOf(server.pid).rssMb;

  const latencies: number[] = [];
  const issuedLatencies: number[] = [];
  let delivered = 0;
  let failures = 0;
  let recording = false;
  const aborts = new AbortController();
  const transports = Array.from({ length: CONNECTIONS }, () =>
    createConnectTransport({ baseUrl: url, httpVersion: "2", useBinaryFormat: true }),
  );
  const live: Promise<void>[] = [];
  let opened = 0;
  for (let i = 0; i < STREAMS; i++) {
    const client = createClient(JobLifecycle, transports[i % CONNECTIONS] as never);
    const request = MATCH === "job" ? { jobId: jobIds[i % JOBS] } : {};
    live.push(
      (async () => {
        try {
          for await (const event of client.watch(request, {
            headers: { token: reader },
            signal: aborts.signal,
          })) {
            if (event.type === 6) {
              opened++;
              continue;
            }
            const now = performance.timeOrigin + performance.now();
            const sent = Number(event.job?.currentStep?.slice(2));
            // updated_at is the time of the write's transaction (the server's clock, on this machine).
            const committed = Date.parse(event.job?.updatedAt ?? "");
            if (recording && Number.isFinite(sent) && Number.isFinite(committed)) {
              latencies.push(now - committed);
              issuedLatencies.push(now - sent);
              delivered++;
            }
          }
        } catch {
          if (!aborts.signal.aborted) failures++;
        }
      })(),
    );
  }
  while (opened < STREAMS) {
    if (failures > 0) throw new Error(`${failures} streams failed to open`);
    await sleep(50);
  }
  await sleep(1000);
  const rssIdle = memoryOf(server.pid).rssMb;

  recording = true;
  const writeRtts: number[] = [];
  const cpu0 = cpuTimeMs(server.pid);
  const started = Date.now();
  let writes = 0;
  const interval = 1000 / RATE;
  while (Date.now() - started < SECONDS * 1000) {
    const due = started + writes * interval;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    const jobId = jobIds[writes % JOBS] as string;
    const t = Date.now();
    writes++;
    void writer
      .report_progress({ jobId, currentStep: `t=${t}`, progressPercent: writes % 100 }, { headers })
      .then(() => writeRtts.push(Date.now() - t));
  }
  const elapsed = (Date.now() - started) / 1000;
  const cpu1 = cpuTimeMs(server.pid);
  const rssLoad = memoryOf(server.pid).rssMb;
  await sleep(1000);
  recording = false;
  aborts.abort();
  await Promise.allSettled(live);

  const expected = MATCH === "job" ? writes * (STREAMS / JOBS) : writes * STREAMS;
  const result = {
    streams: STREAMS,
    jobs: JOBS,
    match: MATCH,
    writes_per_second: Math.round(writes / elapsed),
    events_delivered: delivered,
    events_expected: Math.round(expected),
    stream_failures: failures,
    delivery_ms: {
      p50: Math.round(percentile(latencies, 50) * 10) / 10,
      p99: Math.round(percentile(latencies, 99) * 10) / 10,
      max: Math.round(latencies.reduce((a, b) => Math.max(a, b), 0)),
    },
    issued_to_delivery_ms: {
      p50: Math.round(percentile(issuedLatencies, 50) * 10) / 10,
      p99: Math.round(percentile(issuedLatencies, 99) * 10) / 10,
    },
    write_rtt_ms: { p50: percentile(writeRtts, 50), p99: percentile(writeRtts, 99) },
    load_average_1m: Math.round(os.loadavg()[0] * 10) / 10,
    server_cpu_ms_per_s: cpu0 === null || cpu1 === null ? null : Math.round((cpu1 - cpu0) / elapsed),
    server_rss_mb: { before_streams: rssBefore, streams_idle: rssIdle, under_load: rssLoad },
    rss_growth_for_streams_mb:
      rssBefore === null || rssIdle === null ? null : Math.round(rssIdle - rssBefore),
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  await server.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
