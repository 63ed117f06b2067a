/**
 * `npx tsx bench/ab-list.ts --build base=/path/to/other/checkout --build new=. [--jobs N] [--data-dir DIR]
 * [--seconds S] [--limit L] [--env NAME:KEY=VALUE ...] [--flag NAME:--v8-or-node-flag ...] [--floors]`: the `list` scenario's request through two (or more) builds of the service
 * at once, interleaved request by request with the raw SQL page + count, so a shared, noisy machine
 * slows every side alike. Each build is a checkout with its own `npm run build` (this one is built
 * here); all serve the same seeded database, pinned to the server CPU. Prints each build's p50, its
 * ratio to the raw SQL alongside, its server CPU per call (all threads), and the load average. Two
 * names may share a checkout with different settings (`--env`) or Node flags after `npm start`'s (`--flag`). `--floors` adds, in the same rotation,
 * the floors any server of this runtime has (bench/servers/bare-list.ts, pinned the same way, answering
 * the first build's bytes): HTTP alone, + the raw SQL on its event loop, + the raw SQL in a worker.
 */
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { openDatabase } from "../src/storage/database.js";
import { h1Post, keepAliveAgent } from "../test/support/http-client.js";
import { startBareList } from "./core/bare-list.js";
import { fmt } from "./core/figure.js";
import { listStatements, makeReplay } from "./core/inprocess.js";
import { percentile } from "./core/measure.js";
import { cpuTimeMs } from "./core/proc.js";
import { type RealServer, startRealServer } from "./core/service.js";
import { toolRunState } from "./core/tool-run.js";
import { LIST_PATH, LIST_REQUEST } from "./core/workload.js";

function badFlag(flag: string): never {
  throw new Error(`--flag NAME:--flag (got ${flag})`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      jobs: { type: "string", default: "20000" },
      seconds: { type: "string", default: "20" },
      limit: { type: "string", default: "100" },
      build: { type: "string", multiple: true, default: [] },
      env: { type: "string", multiple: true, default: [] },
      flag: { type: "string", multiple: true, default: [] },
      "data-dir": { type: "string" },
      floors: { type: "boolean", default: false },
    },
  });
  const builds = (values.build ?? []).map((b) => {
    const [name, dir] = b.split("=", 2) as [string, string | undefined];
    if (!dir) throw new Error(`--build NAME=DIR (got ${b})`);
    const env: Record<string, string> = {};
    for (const e of values.env ?? []) {
      const m = /^([^:]+):([^=]+)=(.*)$/.exec(e);
      if (!m) throw new Error(`--env NAME:KEY=VALUE (got ${e})`);
      if (m[1] === name) env[m[2] as string] = m[3] as string;
    }
    const nodeFlags = (values.flag ?? [])
      .map((f) => /^([^:]+):(--.+)$/.exec(f) ?? badFlag(f))
      .filter((m) => m[1] === name)
      .map((m) => m[2] as string);
    return { name, root: path.resolve(dir), env, nodeFlags };
  });
  if (builds.length === 0) throw new Error("give at least one --build NAME=DIR");
  const tool = await toolRunState({ jobs: String(values.jobs), dataDir: values["data-dir"] });
  if (tool === null) return;
  const { run, pinning, log } = tool;
  const db = openDatabase({ file: run.largest.file, readonly: true });
  const agent = keepAliveAgent();
  try {
    const request = {
      query: { ...LIST_REQUEST.query, page: { ...LIST_REQUEST.query.page, limit: Number(values.limit) } },
    };
    const statements = listStatements(db, request);
    const raw = makeReplay(db, statements);
    const servers: { name: string; server: RealServer; samples: number[]; cpu0: number }[] = [];
    for (const b of builds) {
      const server = await startRealServer({
        dataDir: run.workDir,
        dbFile: run.largest.file,
        pinning,
        root: b.root,
        env: b.env,
        nodeFlags: b.nodeFlags,
      });
      run.track(server.child);
      servers.push({ name: b.name, server, samples: [], cpu0: 0 });
    }
    const headers = { authorization: `Bearer ${run.token}`, "content-type": "application/json" };
    const body = JSON.stringify(request);
    if (values.floors) {
      const first = servers[0] as (typeof servers)[number];
      const answer = await h1Post(`${first.server.baseUrl}${LIST_PATH}`, headers, body, agent);
      for (const sql of ["none", "main", "worker"] as const) {
        const server = await startBareList({
          dbFile: run.largest.file,
          statements,
          sql,
          answer: {
            body: answer.body,
            contentType: String(answer.headers["content-type"] ?? "application/json"),
          },
          pinning,
          track: run.track,
        });
        servers.push({ name: `floor:${sql}`, server, samples: [], cpu0: 0 });
      }
    }
    const call = async (server: RealServer): Promise<number> => {
      const t0 = performance.now();
      const r = await h1Post(`${server.baseUrl}${LIST_PATH}`, headers, body, agent);
      const ms = performance.now() - t0;
      if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.body.toString("utf8").slice(0, 300)}`);
      return ms;
    };
    // Warm-up: every server's workers, caches and JIT, and the raw statements.
    for (let i = 0; i < 50; i++) {
      for (const s of servers) await call(s.server);
      raw();
    }
    const rawSamples: number[] = [];
    for (const s of servers) s.cpu0 = cpuTimeMs(s.server.child.pid) ?? Number.NaN;
    const load0 = os.loadavg();
    const until = performance.now() + Number(values.seconds) * 1000;
    let round = 0;
    while (performance.now() < until) {
      // Rotate who goes first, so no build always follows the raw SQL (or another build).
      for (let k = 0; k < servers.length; k++) {
        const s = servers[(round + k) % servers.length] as (typeof servers)[number];
        s.samples.push(await call(s.server));
      }
      const t0 = performance.now();
      raw();
      rawSamples.push(performance.now() - t0);
      round++;
    }
    const load1 = os.loadavg();
    const rawP50 = percentile(rawSamples, 50);
    log(
      `\nlist ${values.limit} of ${run.sizeText}, ${round} interleaved rounds; load average ${load0.map((l) => l.toFixed(2)).join(" ")} -> ${load1.map((l) => l.toFixed(2)).join(" ")}`,
    );
    log(`  raw SQL page + count alongside: p50 ${fmt(rawP50)} ms`);
    const first = servers[0] as (typeof servers)[number];
    for (const s of servers) {
      const p50 = percentile(s.samples, 50);
      const cpu = ((cpuTimeMs(s.server.child.pid) ?? Number.NaN) - s.cpu0) / s.samples.length;
      log(
        `  ${s.name.padEnd(8)} p50 ${fmt(p50)} ms (${fmt(p50 / rawP50)} x raw; ${fmt(p50 / percentile(first.samples, 50))} x ${first.name}), ` +
          `p90 ${fmt(percentile(s.samples, 90))} ms, server CPU ${fmt(cpu * 1000)} µs/call`,
      );
    }
  } finally {
    agent.destroy();
    db.close();
    await run.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`ab-list failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
