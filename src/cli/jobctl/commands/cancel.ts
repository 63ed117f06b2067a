/** `jobctl cancel ID [--reason]`: a PENDING job ends at once, a running one is asked to stop. */
import { toJson } from "@bufbuild/protobuf";
import { Command, Option } from "commander";
import { JobInfoSchema } from "../../../../gen/spaceone/api/identity/v2/job_pb.js";
import { type CliIo, contextOf } from "../context.js";
import type { JobJson } from "../render/job-columns.js";
import { statusPainter } from "../render/job-columns.js";
import { formatData } from "../render/output.js";

export function cancelCommand(io: CliIo): Command {
  return new Command("cancel")
    .description(
      "Cancel a job: PENDING ends CANCELED at once; IN_PROGRESS is asked to stop (its worker confirms)",
    )
    .argument("<job_id>", "the job's id")
    .option("-r, --reason <text>", "why; kept in the job and its timeline")
    .addOption(
      new Option("-o, --output <format>", "text, json or yaml")
        .choices(["text", "json", "yaml"])
        .default("text"),
    )
    .addHelpText(
      "after",
      `
Examples:
  jobctl cancel job-4f2c9a1e07b3 --reason "wrong account"
  jobctl list -s PENDING -o ids | xargs -n1 jobctl cancel`,
    )
    .action(async (jobId: string, flags: { reason?: string; output: "text" | "json" | "yaml" }, cmd) => {
      const ctx = contextOf(cmd, io);
      const job = toJson(
        JobInfoSchema,
        await ctx.conn.lifecycle.cancel({ jobId, reason: flags.reason ?? "" }),
        {
          useProtoFieldName: true,
        },
      ) as JobJson;
      if (flags.output !== "text") return ctx.print(formatData(flags.output, job));
      const status = statusPainter(ctx.terminal)(String(job.status), job.status);
      const pending =
        job.status === "IN_PROGRESS" ? " (cancel requested; the worker stops and confirms)" : "";
      ctx.print(`${job.job_id} ${status}${pending}`);
    });
}
