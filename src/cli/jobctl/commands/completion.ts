/** `jobctl completion bash|zsh`: print the completion script for a shell. */
import { Argument, Command } from "commander";
import { bashCompletion, zshCompletion } from "../completion.js";
import type { CliIo } from "../context.js";

export function completionCommand(io: CliIo, program: () => Command): Command {
  return new Command("completion")
    .description("Print a shell completion script (bash or zsh)")
    .addArgument(new Argument("<shell>", "the shell").choices(["bash", "zsh"]))
    .addHelpText(
      "after",
      `
Examples:
  source <(jobctl completion bash)                 # in ~/.bashrc
  jobctl completion zsh > "\${fpath[1]}/_jobctl"    # then restart zsh`,
    )
    .action((shell: "bash" | "zsh") => {
      io.stdout.write(shell === "bash" ? bashCompletion(program()) : zshCompletion(program()));
    });
}
