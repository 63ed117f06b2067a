/**
 * Connection and stream limits on the real service in its own process (issue 9.4, 9.8): stalled
 * HTTP/2 streams are reset once the request read time is over and the server's memory comes back,
 * a connection flood past MAX_CONNECTIONS is refused while the service keeps answering, and
 * HTTP/1.0 without Host is a 400 with nothing logged at error level.
 */
import { type ChildProcess, fork } from "node:child_process";
import fs from "node:fs";
import http2 from "node:http2";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChildServer, startChildServer } from "./support/child-server.js";

const READ_TIMEOUT_MS = 2_000;
const SESSIONS = 40;
const STREAMS_PER_SESSION = 256;
const MAX_CONNECTIONS = 60;

let dataDir: string;
let server: ChildServer;

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function healthz(): Promise<number> {
  const res = await fetch(`${server.url}/healthz`);
  await res.text();
  return res.status;
}

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wire-limits-"));
  server = await startChildServer(dataDir, {
    REQUEST_TIMEOUT_MS: String(READ_TIMEOUT_MS),
    H2_MAX_CONCURRENT_STREAMS: String(STREAMS_PER_SESSION),
    MAX_CONNECTIONS: String(MAX_CONNECTIONS),
  });
}, 60_000);

afterAll(async () => {
  server?.process.kill("SIGKILL");
  await server?.exited;
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** The app in a child with --expose-gc (support/expensive-server.ts), to read its heap after a full GC. */
async function startGcChild(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string; heapMb(): Promise<number> }> {
  const child = fork(
    path.join(path.dirname(fileURLToPath(import.meta.url)), "support/expensive-server.ts"),
    [],
    {
      execArgv: ["--expose-gc", "--import", "tsx"],
      env: { ...process.env, EXPENSIVE_JOBS: "200", ...env },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    },
  );
  const ready = await new Promise<{ url: string }>((resolve, reject) => {
    child.on("message", (m: { ready?: boolean; url: string }) => m.ready && resolve(m));
    child.once("exit", (code) => reject(new Error(`server exited (${code})`)));
  });
  const heapMb = () =>
    new Promise<number>((resolve) => {
      const onMessage = (m: { mem?: { heapUsed: number } }) => {
        if (!m.mem) return;
        child.off("message", onMessage);
        resolve(m.mem.heapUsed / 1024 / 1024);
      };
      child.on("message", onMessage);
      child.send("mem");
    });
  return { child, url: ready.url, heapMb };
}

describe("stalled HTTP/2 streams", () => {
  it(`${SESSIONS * STREAMS_PER_SESSION} streams that send headers and no body are reset in time, and memory comes back`, async () => {
    const gcChild = await startGcChild({
      REQUEST_TIMEOUT_MS: String(READ_TIMEOUT_MS),
      H2_MAX_CONCURRENT_STREAMS: String(STREAMS_PER_SESSION),
    });
    const pid = gcChild.child.pid as number;
    const heapBefore = await gcChild.heapMb();
    const before = rssMb(pid);
    const sessions: http2.ClientHttp2Session[] = [];
    const closed: Promise<number>[] = [];
    const closeTimes: number[] = [];
    const started = Date.now();
    for (let s = 0; s < SESSIONS; s++) {
      const session = http2.connect(gcChild.url);
      session.on("error", () => {});
      sessions.push(session);
      for (let i = 0; i < STREAMS_PER_SESSION; i++) {
        const stream = session.request(
          {
            ":method": "POST",
            ":path": "/spaceone.api.identity.v2.Job/get",
            "content-type": "application/json",
          },
          { endStream: false },
        );
        stream.on("error", () => {});
        stream.on("response", () => {});
        closed.push(
          new Promise((resolve) =>
            stream.once("close", () => {
              closeTimes.push(Date.now() - started);
              resolve(stream.rstCode ?? -1);
            }),
          ),
        );
      }
    }
    await sleep(READ_TIMEOUT_MS / 2);
    const peak = rssMb(pid);
    const codes = await Promise.all(closed);
    const elapsed = Date.now() - started;
    closeTimes.sort((a, b) => a - b);
    console.log(
      `close times ms: first ${closeTimes[0]}, p50 ${closeTimes[closeTimes.length >> 1]}, p90 ${closeTimes[Math.floor(closeTimes.length * 0.9)]}, last ${closeTimes.at(-1)}`,
    );
    // Every stream was ended by the server (CANCEL), none left open, within the read time plus slack.
    expect(codes.length).toBe(SESSIONS * STREAMS_PER_SESSION);
    expect(codes.every((code) => code === http2.constants.NGHTTP2_CANCEL)).toBe(true);
    // Reset by the read-time limit, not earlier. The upper bound is loose: on a loaded 2-core machine
    // the server takes seconds just to accept 10k streams (measured figures in docs/limits.md).
    expect(closeTimes[0]).toBeGreaterThanOrEqual(READ_TIMEOUT_MS - 100);
    expect(elapsed).toBeLessThan(READ_TIMEOUT_MS + 100_000);
    const peak2 = rssMb(pid);
    for (const session of sessions) session.close();
    await sleep(1_000);
    const after = rssMb(pid);
    const heapAfter = await gcChild.heapMb();
    console.log(
      `stalled streams: heap after GC ${heapBefore.toFixed(1)} -> ${heapAfter.toFixed(1)} MB; RSS before ${before.toFixed(0)} MB, peak ${Math.max(peak, peak2).toFixed(0)} MB, after ${after.toFixed(0)} MB; all reset after ${elapsed} ms`,
    );
    // Nothing of the streams is kept: the heap after a full GC is back to its level. (RSS stays near
    // its peak for a while: V8 keeps the pages of an idle heap; docs/limits.md.)
    expect(heapAfter).toBeLessThan(heapBefore + 10);
    const res = await fetch(`${gcChild.url}/healthz`);
    expect(res.status).toBe(200);
    gcChild.child.kill("SIGKILL");
  }, 180_000);
});

describe("connection flood", () => {
  it(`connections over MAX_CONNECTIONS (${MAX_CONNECTIONS}) are refused; the service keeps answering`, async () => {
    const sockets: net.Socket[] = [];
    const closedEarly: Promise<boolean>[] = [];
    for (let i = 0; i < MAX_CONNECTIONS * 3; i++) {
      const socket = net.connect(server.port, "127.0.0.1");
      socket.on("error", () => {});
      sockets.push(socket);
      closedEarly.push(
        new Promise((resolve) => {
          const timer = setTimeout(() => resolve(false), 1_000);
          socket.once("close", () => {
            clearTimeout(timer);
            resolve(true);
          });
        }),
      );
    }
    const refused = (await Promise.all(closedEarly)).filter(Boolean).length;
    // At most MAX_CONNECTIONS were kept; the rest were closed at once.
    expect(refused).toBeGreaterThanOrEqual(MAX_CONNECTIONS * 2);
    for (const socket of sockets) socket.destroy();
    await sleep(200);
    expect(await healthz()).toBe(200);
  }, 30_000);
});

describe("HTTP/1.0 without Host", () => {
  it("is a 400 and logs nothing at error level", async () => {
    for (const target of ["/spaceone.api.identity.v2.Job/get", "/identity/v2/job/get"]) {
      const response = await new Promise<string>((resolve) => {
        const socket = net.connect(server.port, "127.0.0.1", () =>
          socket.write(
            `POST ${target} HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`,
          ),
        );
        let data = "";
        socket.on("data", (chunk) => {
          data += chunk;
        });
        socket.on("close", () => resolve(data));
      });
      expect(response).toMatch(/^HTTP\/1\.1 400 /);
      expect(response).toContain("a Host header is required");
    }
    await sleep(100);
    expect(server.log()).not.toMatch(/"level":(50|60)/);
  });
});
