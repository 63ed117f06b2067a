/** The jobctl command tree (commander): global options, every command, and the help around them. */
import { Command, Option } from "commander";
import { cancelCommand } from "./commands/cancel.js";
import { completionCommand } from "./commands/completion.js";
import { createCommand } from "./commands/create.js";
import { eventsCommand } from "./commands/events.js";
import { getCommand } from "./commands/get.js";
import { listCommand } from "./commands/list.js";
import { statCommand } from "./commands/stat.js";
import { waitCommand } from "./commands/wait.js";
import { watchCommand } from "./commands/watch.js";
import { DEFAULT_URL } from "./connection.js";
import type { CliIo } from "./context.js";
import { EXIT } from "./exit-codes.js";

export function buildProgram(io: CliIo): Command {
  const program: Command = new Command("jobctl")
    .description("Follow and manage the jobs of the SpaceONE job service from a terminal")
    .addOption(
      new Option("-u, --url <url>", `the service's base URL (env JOB_SERVICE_URL, default ${DEFAULT_URL})`),
    )
    .addOption(
      new Option("-t, --token <token>", "the access token (env TOKEN); sent as Authorization: Bearer"),
    )
    .option("--no-color", "no colours (also when NO_COLOR is set or stdout is not a terminal)")
    .showHelpAfterError()
    .addHelpText(
      "after",
      `
Environment:
  JOB_SERVICE_URL, TOKEN, NO_COLOR

Exit codes:
  ${EXIT.ok} ok, ${EXIT.failure} error, ${EXIT.usage} usage, ${EXIT.auth} auth (unauthenticated, permission denied),
  ${EXIT.notFound} not found, ${EXIT.invalid} invalid request, ${EXIT.unavailable} unavailable (retry later),
  ${EXIT.jobFailed} wait: job FAILURE or CANCELED, ${EXIT.timedOut} wait: timed out

Examples:
  export TOKEN=$(npm run -s token -- --domain domain-seed0001 --role DOMAIN_ADMIN)
  jobctl list --status FAILURE
  jobctl get job-4f2c9a1e07b3
  jobctl stat failures-per-plugin
  jobctl watch --status IN_PROGRESS
  jobctl wait job-4f2c9a1e07b3 && echo done`,
    );
  for (const command of [
    listCommand(io),
    getCommand(io),
    eventsCommand(io),
    statCommand(io),
    watchCommand(io),
    waitCommand(io),
    cancelCommand(io),
    createCommand(io),
    completionCommand(io, () => program),
  ]) {
    program.addCommand(command);
  }
  // addCommand() does not pass settings down: every command writes to the given streams.
  for (const command of [program, ...program.commands]) {
    command.configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
  }
  return program;
}
