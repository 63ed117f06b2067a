/**
 * One load run: a load generator (bench/load/*.ts) in its own process on the client CPU, against a server
 * whose CPU time is read from /proc before and after, so each run also gives the server's CPU per request.
 */
import { CannotMeasure } from "./errors.js";
import { fmt } from "./figure.js";
import type { LoadResult } from "./load-result.js";
import { type Child, cpuTimeMs, type Pinning, startNode } from "./proc.js";
import type { RunRecord } from "./report.js";

export interface LoadSetup {
  readonly label: string;
  readonly serverPid: number;
  readonly pinning: Pinning;
  readonly log: (line: string) => void;
  /** Registers the generator's process, so an aborted run stops it. */
  readonly track: (child: Child) => Child;
}

/** The load generators; their argument is one JSON spec (see each file). */
export const LOAD_H1 = "bench/load/h1.ts";
export const LOAD_H2 = "bench/load/h2.ts";
export const LOAD_WRITES = "bench/load/writes.ts";

function checkLoad(setup: LoadSetup, r: LoadResult): void {
  setup.log(
    `    ${setup.label}: ${fmt(r.rps)} req/s, p50 ${fmt(r.p50Ms)} ms, p99 ${fmt(r.p99Ms)} ms, ${r.ok} ok, ` +
      `${r.errors} errors, load generator CPU ${fmt(r.generatorCpuPct)}%`,
  );
  if (r.errorSamples.length > 0) setup.log(`      errors: ${r.errorSamples.join("; ")}`);
  if (r.ok === 0)
    throw new CannotMeasure(
      `${setup.label}: no correct response (${r.errorSamples.join("; ") || "none at all"})`,
    );
  if (r.errors > 0.01 * (r.ok + r.errors)) {
    throw new CannotMeasure(
      `${setup.label}: ${r.errors} errors in ${r.ok + r.errors} responses (${r.errorSamples.join("; ")})`,
    );
  }
}

export async function runLoad(script: string, spec: unknown, setup: LoadSetup): Promise<RunRecord> {
  const cpu0 = cpuTimeMs(setup.serverPid);
  const wall0 = performance.now();
  const child = setup.track(
    startNode(script, [JSON.stringify(spec)], { cpu: setup.pinning.clientCpu, name: script }),
  );
  let stdout: string;
  try {
    stdout = await child.result();
  } catch (error) {
    throw new CannotMeasure(`load generator ${script} failed: ${(error as Error).message}`);
  }
  const cpu1 = cpuTimeMs(setup.serverPid);
  const wallMs = performance.now() - wall0;
  const last = stdout.trim().split("\n").pop() ?? "";
  let result: LoadResult;
  try {
    result = JSON.parse(last) as LoadResult;
  } catch {
    throw new CannotMeasure(`load generator ${script} printed no result: ${stdout.slice(-500)}`);
  }
  checkLoad(setup, result);
  const measured = cpu0 !== null && cpu1 !== null;
  return {
    label: setup.label,
    result,
    serverCpuUsPerRequest:
      measured && result.totalRequests > 0 ? ((cpu1 - cpu0) * 1000) / result.totalRequests : null,
    serverCpuPct: measured ? ((cpu1 - cpu0) / wallMs) * 100 : null,
  };
}

/** The run with the median requests/s of several rounds. */
export function medianRun(runs: readonly RunRecord[]): RunRecord | undefined {
  const sorted = [...runs].sort((a, b) => a.result.rps - b.result.rps);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}
