/**
 * jobctl's entry: run the command line, and turn every failure into one line on stderr and the exit
 * code of its kind (exit-codes.ts). The server's own error code and message are shown as sent.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { CommanderError } from "commander";
import type { CliIo } from "./context.js";
import { EXIT, exitCodeFor } from "./exit-codes.js";
import { ExitWith } from "./exit-with.js";
import { buildProgram } from "./program.js";
import { UsageError } from "./usage-error.js";

export async function runJobctl(argv: string[], io: CliIo): Promise<number> {
  const program = buildProgram(io).exitOverride();
  for (const command of program.commands) command.exitOverride();
  try {
    await program.parseAsync(argv, { from: "user" });
    return process.exitCode === undefined ? EXIT.ok : Number(process.exitCode);
  } catch (err) {
    if (err instanceof ExitWith) return err.code;
    if (err instanceof CommanderError) {
      // --help and --version "fail" with exit code 0.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof UsageError) {
      io.stderr.write(`jobctl: ${err.message}\n`);
      return EXIT.usage;
    }
    const connectError = ConnectError.from(err);
    io.stderr.write(`jobctl: ${describe(connectError)}\n`);
    return exitCodeFor(connectError.code);
  }
}

/** `not_found: ERROR_NOT_FOUND: Resource cannot be found ... (job_id = x)`; network causes spelled out. */
function describe(err: ConnectError): string {
  const name = Code[err.code]
    ?.replace(/[A-Z]/g, (c, i) => (i === 0 ? c.toLowerCase() : `_${c.toLowerCase()}`))
    .toString();
  const causeText = err.cause instanceof Error ? err.cause.message : "";
  const cause = causeText && !err.rawMessage.includes(causeText) ? ` (${causeText})` : "";
  return `${name}: ${err.rawMessage}${cause}`;
}
