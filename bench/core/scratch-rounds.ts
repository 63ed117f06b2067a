/**
 * The frame of an in-process writes tool (`bench/writes-hub.ts`, `bench/writes-handler.ts`): `--writers`,
 * `--reports` and `--rounds` from the command line, a scratch directory for each run's database files,
 * every round's lines printed as they come, the directory removed at the end, and a failure printed with
 * its stack and exit code 1.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";

export interface RoundArgs {
  readonly dir: string;
  readonly writers: number;
  readonly reports: number;
}

export function runScratchRounds(
  name: string,
  defaults: { readonly reports: number },
  round: (args: RoundArgs) => Promise<readonly string[]>,
): void {
  const main = async () => {
    const { values } = parseArgs({
      options: {
        writers: { type: "string", default: "6" },
        reports: { type: "string", default: String(defaults.reports) },
        rounds: { type: "string", default: "3" },
      },
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
    try {
      for (let r = 0; r < Number(values.rounds); r++) {
        const lines = await round({ dir, writers: Number(values.writers), reports: Number(values.reports) });
        for (const line of lines) process.stdout.write(`${line}\n`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
  main().catch((error: unknown) => {
    process.stderr.write(`${name} failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
