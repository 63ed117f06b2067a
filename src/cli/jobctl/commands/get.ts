/** `jobctl get ID`: one job, every field. */
import { toJson } from "@bufbuild/protobuf";
import { Command, Option } from "commander";
import { JobInfoSchema } from "../../../../gen/spaceone/api/identity/v2/job_pb.js";
import { type CliIo, contextOf } from "../context.js";
import type { JobJson } from "../render/job-columns.js";
import { renderJobDetail } from "../render/job-detail.js";
import { formatData } from "../render/output.js";

export function getCommand(io: CliIo): Command {
  return new Command("get")
    .description("Show one job: every field, times also relative")
    .argument("<job_id>", "the job's id")
    .addOption(
      new Option("-o, --output <format>", "text, json or yaml")
        .choices(["text", "json", "yaml"])
        .default("text"),
    )
    .addHelpText(
      "after",
      `
Examples:
  jobctl get job-4f2c9a1e07b3
  jobctl get job-4f2c9a1e07b3 -o json | jq .options`,
    )
    .action(async (jobId: string, flags: { output: "text" | "json" | "yaml" }, cmd) => {
      const ctx = contextOf(cmd, io);
      const job = toJson(JobInfoSchema, await ctx.conn.jobs.get({ jobId }), {
        useProtoFieldName: true,
      }) as JobJson;
      if (flags.output !== "text") return ctx.print(formatData(flags.output, job));
      ctx.print(renderJobDetail(job, ctx.terminal, io.now()));
    });
}
