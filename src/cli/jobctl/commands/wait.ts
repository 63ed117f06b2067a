/**
 * `jobctl wait ID [--timeout]`: block until the job finishes; exit 0 on SUCCESS, 10 on FAILURE or
 * CANCELED, 11 when the timeout passes first. Each server `wait` call holds at most its cap
 * (WAIT_MAX_SECONDS); a dropped connection is retried until the timeout.
 */
import { toJson } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { Command, Option } from "commander";
import { JobInfoSchema } from "../../../../gen/spaceone/api/identity/v2/job_pb.js";
import { type CliIo, contextOf } from "../context.js";
import { EXIT } from "../exit-codes.js";
import { ExitWith } from "../exit-with.js";
import { type JobJson, statusPainter } from "../render/job-columns.js";
import { formatData } from "../render/output.js";
import { humanDuration } from "../render/time.js";
import { toPositiveInt } from "./list.js";

export const FINAL_STATUSES = new Set(["SUCCESS", "FAILURE", "CANCELED"]);
/** One server call holds at most this long (the service caps it too). */
const CALL_SECONDS = 60;

export function exitCodeForFinal(status: string | undefined): number {
  if (status === "SUCCESS") return EXIT.ok;
  return FINAL_STATUSES.has(status ?? "") ? EXIT.jobFailed : EXIT.timedOut;
}

export function waitCommand(io: CliIo): Command {
  return new Command("wait")
    .description("Wait until a job finishes: exit 0 on SUCCESS, 10 on FAILURE or CANCELED, 11 on timeout")
    .argument("<job_id>", "the job's id")
    .option("--timeout <seconds>", "give up after this long", toPositiveInt, 3600)
    .addOption(
      new Option("-o, --output <format>", "text, json or yaml")
        .choices(["text", "json", "yaml"])
        .default("text"),
    )
    .addHelpText(
      "after",
      `
Examples:
  jobctl wait job-4f2c9a1e07b3 && echo collected
  jobctl wait "$(jobctl create -a ta-1 -w ws-1)" --timeout 600 -o json`,
    )
    .action(async (jobId: string, flags: { timeout: number; output: "text" | "json" | "yaml" }, cmd) => {
      const ctx = contextOf(cmd, io);
      // Real time, not io.now (the clock relative times are shown against).
      const deadline = Date.now() + flags.timeout * 1000;
      let job: JobJson | undefined;
      for (;;) {
        const left = Math.ceil((deadline - Date.now()) / 1000);
        if (left <= 0) break;
        try {
          const info = await ctx.conn.lifecycle.wait({ jobId, timeoutSeconds: Math.min(left, CALL_SECONDS) });
          job = toJson(JobInfoSchema, info, { useProtoFieldName: true }) as JobJson;
          if (FINAL_STATUSES.has(job.status ?? "")) break;
        } catch (err) {
          // A dropped connection or a restarting server: try again until the timeout.
          if (ConnectError.from(err).code !== Code.Unavailable) throw err;
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
      if (!job) throw new ConnectError(`job ${jobId} could not be read before the timeout`, Code.Unavailable);
      if (flags.output !== "text") ctx.print(formatData(flags.output, job));
      else {
        const status = statusPainter(ctx.terminal)(String(job.status), job.status);
        const done = FINAL_STATUSES.has(job.status ?? "");
        const took =
          typeof job.duration_seconds === "number" ? ` in ${humanDuration(job.duration_seconds)}` : "";
        ctx.print(
          done ? `${job.job_id} ${status}${took}` : `${job.job_id} still ${status} after ${flags.timeout}s`,
        );
      }
      const code = exitCodeForFinal(job.status);
      if (code !== EXIT.ok) throw new ExitWith(code);
    });
}
