/**
 * `npx tsx bench/callgrind-grpc-get.ts before=DIR,after=DIR 300,1200 [DATA_DIR] [--json]`: instructions per gRPC `get` of each
 * checkout's built service (`dist/`, built beforehand), counted by callgrind, which a loaded machine does
 * not sway as it sways time. Each checkout runs twice under `valgrind --tool=callgrind`, asked N1 and N2
 * gets (the get scenario's request and token, one h2c session, 4 at a time; the bench's 1M-job set in
 * DATA_DIR, default /tmp/bench-data, seeded there when missing), all runs at once; per call = (I(N2) - I(N1)) / (N2 - N1), which leaves out start-up,
 * shutdown and the first N1 calls' warm-up. Output files in /tmp/callgrind-grpc-get/. `--json`: Connect JSON
 * `get`s over HTTP/1.1 instead (the get scenario's body and token, 4 keep-alive connections, one call at
 * a time on each), the path issue 15's CPU target is about. The four valgrind runs share the machine's
 * cores, so when V8's compiler threads finish (and how long code runs unoptimized) differs from run to
 * run: two runs of the same two builds have read −6.3 % and +6.2 % (docs/benchmarks.md, stop 27).
 * Repeat it, and trust a difference only beyond that spread.
 */

import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import path from "node:path";
import { grpcFrame } from "../test/support/http-client.js";
import { createRunState } from "./core/context.js";
import { parseOptions } from "./core/options.js";
import { detectPinning, freePort } from "./core/proc.js";
import { startCommand } from "./core/service.js";
import { GET_PATH } from "./core/workload.js";
import { getRequest } from "./scenarios/get.js";

const json = process.argv.includes("--json");
const [, , sidesArg, nsArg, dataDirArg] = process.argv.filter((a) => a !== "--json");
const sides = (sidesArg as string).split(",").map((s) => s.split("=") as [string, string]);
const ns = (nsArg as string).split(",").map(Number);
const opts = parseOptions(["--quick", "--sizes", "1000000", "--jobs", "1000000"]);
if (opts === "help") throw new Error();
fs.mkdirSync("/tmp/callgrind-grpc-get", { recursive: true });
const run = await createRunState(
  { ...opts, dataDir: dataDirArg ?? "/tmp/bench-data" },
  detectPinning(false),
  () => {},
);
const body = grpcFrame(getRequest(run.jobId));
const jsonBody = JSON.stringify({ job_id: run.jobId });

async function one(name: string, root: string, n: number): Promise<[string, number, number]> {
  const port = await freePort();
  const start = startCommand();
  const env = {
    ...process.env,
    ...start.env,
    HOST: "127.0.0.1",
    PORT: String(port),
    DATA_DIR: run.workDir,
    DATABASE_FILE: run.largest.file,
    JWT_ALGORITHM: "HS256",
    LOG_LEVEL: "warn",
    JOB_REAPER_INTERVAL_SECONDS: "0",
    JOB_RETENTION_INTERVAL_SECONDS: "0",
  };
  const child = spawn(
    "valgrind",
    [
      "--tool=callgrind",
      "--vgdb=no",
      "--smc-check=all-non-file",
      `--callgrind-out-file=/tmp/callgrind-grpc-get/${name}-${n}.out`,
      process.execPath,
      ...start.flags,
      path.join(root, "dist/src/main.js"),
    ],
    { env, stdio: ["ignore", "ignore", "pipe"] },
  );
  let err = "";
  child.stderr.on("data", (d) => {
    err += d;
  });
  const deadline = Date.now() + 600_000;
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (r.ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error("no start");
    await new Promise((r) => setTimeout(r, 1000));
  }
  if (json) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const callJson = () =>
      new Promise<void>((resolve, reject) => {
        const req = http.request(
          {
            host: "127.0.0.1",
            port,
            method: "POST",
            path: GET_PATH,
            agent,
            headers: {
              authorization: `Bearer ${run.token}`,
              "content-type": "application/json",
              "content-length": Buffer.byteLength(jsonBody),
            },
          },
          (res) => {
            res.on("data", () => {});
            res.on("end", () =>
              res.statusCode === 200 ? resolve() : reject(new Error(`${res.statusCode}`)),
            );
          },
        );
        req.on("error", reject);
        req.end(jsonBody);
      });
    let jsonLeft = n;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (jsonLeft-- > 0) await callJson();
      }),
    );
    agent.destroy();
    return finish(name, n, child, () => err);
  }
  const session = http2.connect(`http://127.0.0.1:${port}`);
  const call = () =>
    new Promise<void>((resolve, reject) => {
      const req = session.request({
        ":method": "POST",
        ":path": GET_PATH,
        authorization: `Bearer ${run.token}`,
        "content-type": "application/grpc",
        te: "trailers",
      });
      let ok = false;
      req.on("trailers", (t) => {
        ok = t["grpc-status"] === "0";
      });
      req.on("data", () => {});
      req.on("end", () => (ok ? resolve() : reject(new Error("not ok"))));
      req.on("error", reject);
      req.end(body);
    });
  let left = n;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (left-- > 0) await call();
    }),
  );
  session.close();
  return finish(name, n, child, () => err);
}

async function finish(
  name: string,
  n: number,
  child: ReturnType<typeof spawn>,
  stderr: () => string,
): Promise<[string, number, number]> {
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  const err = stderr();
  const m = /Collected : (\d+)/.exec(err) ?? /refs:\s+([\d,]+)/.exec(err);
  return [name, n, Number((m?.[1] ?? "NaN").replaceAll(",", ""))];
}

const results = await Promise.all(sides.flatMap(([name, root]) => ns.map((n) => one(name, root, n))));
for (const r of results) console.log(r.join(" "));
for (const [name] of sides) {
  const [a, b] = ns.map((n) => results.find((r) => r[0] === name && r[1] === n)?.[2] as number);
  console.log(
    name,
    "instructions per call",
    ((b as number) - (a as number)) / ((ns[1] as number) - (ns[0] as number)),
  );
}
await run.close();
process.exit(0);
