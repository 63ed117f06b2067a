/**
 * Throughput of one service instance vs two on one PostgreSQL database, and the CPU each side spends
 * per request: `get` over Connect JSON (HTTP/1.1, autocannon), each instance its own process, the
 * load generator in this process. Run against a seeded database:
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/jobs_bench npx tsx scripts/pg-instances-bench.ts
 *
 * CPU: the service processes' user+system ticks (/proc/PID/stat) and PostgreSQL's (every process
 * named postgres), divided by the requests served.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import pg from "pg";
import { ensureLocalSecret } from "../src/auth/keys.js";
import { signToken } from "../src/auth/token.js";
import { loadConfig } from "../src/config.js";
import { type ChildServer, startChildServer } from "../test/support/child-server.js";

const url = process.env.DATABASE_URL;
if (!url) throw new Error("set DATABASE_URL to a seeded PostgreSQL database");
const SECONDS = Number(process.env.SECONDS ?? 10);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 32);
const TICKS_PER_SECOND = 100;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pg-instances-"));
const config = loadConfig({ DATA_DIR: dir });
ensureLocalSecret(config);
const domain = "domain-seed0001";
const token = await signToken(config, { role: "DOMAIN_ADMIN", domainId: domain, ttlSeconds: 3600 });
const client = new pg.Client({ connectionString: url });
await client.connect();
const ids = (
  await client.query<{ job_id: string }>("SELECT job_id FROM jobs WHERE domain_id = $1 LIMIT 1000", [domain])
).rows.map((r) => r.job_id);
await client.end();

function ticks(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}
function postgresTicks(): number {
  const pids = execFileSync("pgrep", ["-x", "postgres"], { encoding: "utf8" })
    .trim()
    .split(/\s+/)
    .map(Number);
  return pids.reduce((sum, pid) => sum + ticks(pid), 0);
}

async function load(
  servers: ChildServer[],
): Promise<{ rps: number; serviceMs: number; postgresMs: number; p99: number }> {
  const body = (i: number) => JSON.stringify({ job_id: ids[i % ids.length] });
  const run = (s: ChildServer, duration: number) =>
    autocannon({
      url: `${s.url}/spaceone.api.identity.v2.Job/get`,
      method: "POST",
      connections: Math.ceil(CONNECTIONS / servers.length),
      duration,
      headers: { "content-type": "application/json", token },
      requests: [{ setupRequest: (req) => ({ ...req, body: body(Math.floor(Math.random() * ids.length)) }) }],
    });
  await Promise.all(servers.map((s) => run(s, 2))); // warm-up
  const service0 = servers.reduce((sum, s) => sum + ticks(s.process.pid as number), 0);
  const pg0 = postgresTicks();
  const results = await Promise.all(servers.map((s) => run(s, SECONDS)));
  const service = servers.reduce((sum, s) => sum + ticks(s.process.pid as number), 0) - service0;
  const postgres = postgresTicks() - pg0;
  const requests = results.reduce((sum, r) => sum + r.requests.total, 0);
  for (const r of results) if (r.non2xx > 0) throw new Error(`${r.non2xx} non-2xx answers`);
  return {
    rps: requests / SECONDS,
    serviceMs: ((service / TICKS_PER_SECOND) * 1000) / requests,
    postgresMs: ((postgres / TICKS_PER_SECOND) * 1000) / requests,
    p99: Math.max(...results.map((r) => r.latency.p99)),
  };
}

const env = {
  DATABASE_URL: url,
  JWT_SECRET_FILE: config.jwt.secretFile,
  JOB_REAPER_INTERVAL_SECONDS: "0",
  JOB_RETENTION_INTERVAL_SECONDS: "0",
};
const servers: ChildServer[] = [];
try {
  servers.push(await startChildServer(fs.mkdtempSync(path.join(dir, "a-")), env));
  const one = await load(servers);
  servers.push(await startChildServer(fs.mkdtempSync(path.join(dir, "b-")), env));
  const two = await load(servers);
  for (const [name, r] of [
    ["1 instance", one],
    ["2 instances", two],
  ] as const) {
    console.log(
      `${name.padEnd(12)} ${r.rps.toFixed(0).padStart(6)} get/s  p99 ${r.p99} ms  CPU per request: service ${r.serviceMs.toFixed(3)} ms, PostgreSQL ${r.postgresMs.toFixed(3)} ms`,
    );
  }
} finally {
  for (const s of servers) s.process.kill("SIGTERM");
  await Promise.all(servers.map((s) => s.exited));
  fs.rmSync(dir, { recursive: true, force: true });
}
