/**
 * The run state a stand-alone tool (`bench/ab-*.ts`, `memory.ts`, `profile.ts`) starts from: the bench's
 * options for one data set of `jobs` jobs (seeded in `dataDir` once and reused, or in a scratch directory),
 * this process pinned to the client's core, and lines to stdout. `null` when the options asked for help.
 */
import path from "node:path";
import { createRunState, type RunState } from "./context.js";
import { parseOptions } from "./options.js";
import { detectPinning, type Pinning, pinSelf } from "./proc.js";

export interface ToolRun {
  readonly run: RunState;
  readonly pinning: Pinning;
  readonly log: (line: string) => void;
}

export async function toolRunState(args: {
  readonly jobs: string | number;
  readonly dataDir: string | undefined;
  /** More of the bench's own options, e.g. `["--quick", "--duration", "5"]`. */
  readonly options?: readonly string[];
}): Promise<ToolRun | null> {
  const jobs = String(args.jobs);
  const opts = parseOptions(["--sizes", jobs, "--jobs", jobs, ...(args.options ?? [])]);
  if (opts === "help") return null;
  const pinning = detectPinning(false);
  pinSelf(pinning.clientCpu);
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const dataDir = args.dataDir ? path.resolve(args.dataDir) : null;
  const run = await createRunState({ ...opts, dataDir }, pinning, log);
  return { run, pinning, log };
}
