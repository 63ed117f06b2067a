/**
 * Child processes of the benchmark: CPU pinning with `taskset` (detected at run time), starting a
 * TypeScript entry point under tsx, waiting for a port, reading a process's CPU time and peak RSS.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sleep } from "./measure.js";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface Pinning {
  readonly enabled: boolean;
  /** CPU list for the server under test (and the baseline servers). */
  readonly serverCpu: string | null;
  /** CPU list for the load generators and the in-process measurements. */
  readonly clientCpu: string | null;
  readonly note: string;
}

/** Pin servers and load generators to different CPUs when `taskset` works and two CPUs are allowed. */
export function detectPinning(disabled: boolean): Pinning {
  if (disabled) return { enabled: false, serverCpu: null, clientCpu: null, note: "disabled by --no-pin" };
  if (process.platform !== "linux") {
    return { enabled: false, serverCpu: null, clientCpu: null, note: `not on linux (${process.platform})` };
  }
  const probe = spawnSync("taskset", ["-cp", String(process.pid)], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    return { enabled: false, serverCpu: null, clientCpu: null, note: "taskset not available" };
  }
  const list = probe.stdout.split(":").pop()?.trim() ?? "";
  const cpus = expandCpuList(list);
  if (cpus.length < 2) {
    return {
      enabled: false,
      serverCpu: null,
      clientCpu: null,
      note: `only CPU ${list} allowed: cannot separate`,
    };
  }
  const serverCpu = String(cpus[0]);
  const clientCpu = String(cpus[1]);
  const check = spawnSync("taskset", ["-c", clientCpu, "true"]);
  if (check.status !== 0) {
    return { enabled: false, serverCpu: null, clientCpu: null, note: "taskset refused to pin" };
  }
  const extra = cpus.length > 2 ? ` (${cpus.length} CPUs allowed; the others stay idle)` : "";
  return {
    enabled: true,
    serverCpu,
    clientCpu,
    note: `servers on CPU ${serverCpu}, load generators and in-process measurements on CPU ${clientCpu}${extra}`,
  };
}

function expandCpuList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.split(",")) {
    const [a, b] = part.split("-").map((s) => Number.parseInt(s, 10));
    if (a === undefined || Number.isNaN(a)) continue;
    const end = b === undefined || Number.isNaN(b) ? a : b;
    for (let i = a; i <= end; i++) out.push(i);
  }
  return out;
}

/** Pin this process (all threads) to a CPU list; returns whether it worked. */
export function pinSelf(cpu: string | null): boolean {
  if (cpu === null) return false;
  return spawnSync("taskset", ["-a", "-cp", cpu, String(process.pid)]).status === 0;
}

export interface Child {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Everything written to stdout and stderr so far (bounded). */
  output(): string;
  exited(): { code: number | null; signal: NodeJS.Signals | null } | null;
  stop(): Promise<void>;
  /** Resolves with stdout once the process exits 0, rejects otherwise. */
  result(): Promise<string>;
}

/**
 * Start `node --import tsx <script> ...args` (or plain `node <script>` for a `.js` script, such as the
 * built service), pinned to `cpu` when given. The pid is node's own (taskset execs), so /proc/<pid>
 * reads the measured process.
 */
export function startNode(
  script: string,
  args: readonly string[],
  options: {
    cpu: string | null;
    env?: NodeJS.ProcessEnv;
    name: string;
    nodeFlags?: readonly string[] | undefined;
  },
): Child {
  const flags = options.nodeFlags ?? [];
  const nodeArgs = script.endsWith(".js")
    ? [...flags, script, ...args]
    : [...flags, "--import", "tsx", script, ...args];
  const [cmd, argv] =
    options.cpu === null
      ? [process.execPath, nodeArgs]
      : ["taskset", ["-c", options.cpu, process.execPath, ...nodeArgs]];
  const proc = spawn(cmd, argv, {
    cwd: REPO_ROOT,
    env: options.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const cap = 4_000_000;
  proc.stdout?.on("data", (c: Buffer) => {
    if (stdout.length < cap) stdout += c.toString("utf8");
  });
  proc.stderr?.on("data", (c: Buffer) => {
    if (stderr.length < 200_000) stderr += c.toString("utf8");
  });
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exitPromise = new Promise<void>((resolve) => {
    proc.once("exit", (code, signal) => {
      exit = { code, signal };
      resolve();
    });
    proc.once("error", (err) => {
      stderr += `\nspawn error: ${err.message}`;
      exit = { code: -1, signal: null };
      resolve();
    });
  });
  if (proc.pid === undefined) throw new Error(`${options.name}: could not start ${cmd}`);
  return {
    proc,
    pid: proc.pid,
    output: () => `${stdout}${stderr ? `\n[stderr]\n${stderr}` : ""}`,
    exited: () => exit,
    async stop() {
      if (exit !== null) return;
      proc.kill("SIGTERM");
      const timer = sleep(8000).then(() => "timeout");
      if ((await Promise.race([exitPromise.then(() => "exited"), timer])) === "timeout") {
        proc.kill("SIGKILL");
        await exitPromise;
      }
    },
    async result() {
      await exitPromise;
      const e = exit as { code: number | null; signal: NodeJS.Signals | null } | null;
      if (e?.code !== 0) {
        throw new Error(
          `${options.name} exited with ${e?.code ?? e?.signal}: ${stderr.trim().slice(-2000) || stdout.slice(-2000)}`,
        );
      }
      return stdout;
    },
  };
}

/** A port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Wait until GET `url` answers 200, or fail when the child exits or the time is up. */
export async function waitHttpOk(url: string, child: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exited()) throw new Error(`exited before answering ${url}:\n${child.output().slice(-3000)}`);
    const ok = await new Promise<boolean>((resolve) => {
      const req = http.get(url, { agent: false, timeout: 1000 }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode === 200));
      });
      req.on("error", () => resolve(false));
      req.on("timeout", () => {
        req.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`no answer from ${url} within ${timeoutMs} ms:\n${child.output().slice(-3000)}`);
}

/** Wait until a TCP connection to the port succeeds. */
export async function waitTcp(port: number, child: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exited())
      throw new Error(`exited before listening on ${port}:\n${child.output().slice(-3000)}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`nothing listening on ${port} within ${timeoutMs} ms:\n${child.output().slice(-3000)}`);
}

/** Peak (VmHWM) and current (VmRSS) resident set of a process, in MB; null where /proc is missing. */
export function memoryOf(pid: number): { peakMb: number | null; rssMb: number | null } {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key: string) => {
      const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status);
      return m ? Number(m[1]) / 1024 : null;
    };
    return { peakMb: kb("VmHWM"), rssMb: kb("VmRSS") };
  } catch {
    return { peakMb: null, rssMb: null };
  }
}

const CLOCK_TICKS = 100;

/** User + system CPU time of a process (all threads) in ms; null where /proc is missing. */
export function cpuTimeMs(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

export function machineInfo(pinning: Pinning) {
  const cpus = os.cpus();
  return {
    cpu_model: cpus[0]?.model ?? "unknown",
    cores: os.availableParallelism(),
    memory_gb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${os.release()}`,
    pinning: {
      enabled: pinning.enabled,
      server_cpu: pinning.serverCpu,
      client_cpu: pinning.clientCpu,
      note: pinning.note,
    },
  };
}
