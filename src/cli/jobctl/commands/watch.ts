/**
 * `jobctl watch [ID] [filters]`: follow jobs live. On a terminal, a progress bar per running job
 * (render/progress-board.ts); otherwise one line per change (or JSON lines with -o json). After a
 * dropped connection it resumes from the last cursor it saw, so it misses no change and repeats none;
 * a cursor the service no longer keeps starts over from a fresh snapshot. With an ID it ends when
 * that job finishes, with `wait`'s exit codes.
 */
import { fromJson, type JsonObject, toJson } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { Command, Option } from "commander";
import {
  JobWatchEvent_Type,
  JobWatchEventSchema,
  WatchJobsRequestSchema,
} from "../../../../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import { type CliIo, type CommandContext, contextOf } from "../context.js";
import { ExitWith } from "../exit-with.js";
import { type JobJson, progressText, statusPainter } from "../render/job-columns.js";
import { ProgressBoard } from "../render/progress-board.js";
import { addJobFilterOptions, jobFilterRequest, type ListFlags } from "./list.js";
import { exitCodeForFinal, FINAL_STATUSES } from "./wait.js";

/**
 * Codes after which the stream resumes from its cursor: the server went away or drained
 * (unavailable), the connection broke (a reset reads as aborted, a premature end as unknown or
 * canceled), or the service cut a reader that fell behind (resource_exhausted, ERROR_WATCH_TOO_SLOW).
 */
const RESUMABLE: ReadonlySet<Code> = new Set([
  Code.Unavailable,
  Code.Unknown,
  Code.Canceled,
  Code.Aborted,
  Code.ResourceExhausted,
]);

type WatchFlags = ListFlags & { output: "live" | "lines" | "json"; reconnectMs: number };

export function watchCommand(io: CliIo): Command {
  const command = new Command("watch")
    .description("Follow jobs live: progress bars on a terminal, one line per change otherwise")
    .argument("[job_id]", "follow this job until it finishes (exit codes as wait)");
  return addJobFilterOptions(command)
    .addOption(
      new Option(
        "-o, --output <format>",
        "live (bars; lines when not a terminal), lines or json (one event per line)",
      )
        .choices(["live", "lines", "json"])
        .default("live"),
    )
    .addOption(
      new Option("--reconnect-ms <ms>", "wait before reconnecting")
        .argParser(Number)
        .default(1000)
        .hideHelp(),
    )
    .addHelpText(
      "after",
      `
Examples:
  jobctl watch                              # every job of the token's scope
  jobctl watch --status IN_PROGRESS --plugin plugin-aws
  jobctl watch job-4f2c9a1e07b3             # until it finishes; exit 0 on SUCCESS
  jobctl watch -o json | jq -c '{type, id: .job.job_id, p: .job.progress_percent}'`,
    )
    .action(async (jobId: string | undefined, flags: WatchFlags, cmd) => {
      const ctx = contextOf(cmd, io);
      const { request, query } = jobFilterRequest(flags);
      if (jobId) request.job_id = jobId;
      const live = flags.output === "live" && ctx.terminal.live;
      const board = live ? new ProgressBoard(ctx.terminal, io.stdout, io.now) : undefined;
      const printLine = lineWriter(ctx, flags.output === "json");
      const abort = new AbortController();
      const onSignal = () => abort.abort();
      process.once("SIGINT", onSignal);
      io.stop?.addEventListener("abort", onSignal, { once: true });
      let cursor = "";
      try {
        for (;;) {
          try {
            const body: JsonObject = { ...request, send_initial: cursor === "" };
            if (Object.keys(query).length > 0) body.query = query;
            if (cursor) body.cursor = cursor;
            for await (const event of ctx.conn.lifecycle.watch(fromJson(WatchJobsRequestSchema, body), {
              signal: abort.signal,
            })) {
              if (event.cursor) cursor = event.cursor;
              const json = toJson(JobWatchEventSchema, event, { useProtoFieldName: true }) as JsonObject;
              const job = json.job as JobJson | undefined;
              if (event.type === JobWatchEvent_Type.HEARTBEAT) continue;
              if (event.type === JobWatchEvent_Type.SYNCED) {
                if (board && !jobId)
                  board.message(ctx.terminal.paint.dim("watching for changes… (Ctrl-C to stop)"));
                continue;
              }
              if (board && job) {
                if (
                  event.type === JobWatchEvent_Type.DELETED ||
                  (event.type === JobWatchEvent_Type.UPDATED && !event.matches)
                ) {
                  board.update({ ...job, status: job.status ?? "CANCELED" });
                } else if (
                  !(
                    event.type === JobWatchEvent_Type.SNAPSHOT &&
                    FINAL_STATUSES.has(job.status ?? "") &&
                    !jobId
                  )
                ) {
                  board.update(job);
                }
              } else {
                printLine(json, job);
              }
              if (jobId && job?.job_id === jobId && FINAL_STATUSES.has(job.status ?? "")) {
                throw new ExitWith(exitCodeForFinal(job.status));
              }
            }
            // The server ended the stream (a drain): resume elsewhere or when it is back.
          } catch (err) {
            if (err instanceof ExitWith || abort.signal.aborted) throw err;
            const e = ConnectError.from(err);
            if (e.code === Code.OutOfRange) {
              cursor = ""; // expired: start over from a fresh snapshot
            } else if (!RESUMABLE.has(e.code)) {
              throw err;
            }
            const note = `connection lost (${e.rawMessage}); reconnecting${cursor ? " from the last cursor" : ""}…`;
            if (board) board.message(ctx.terminal.paint.yellow(note));
            else io.stderr.write(`jobctl: ${note}\n`);
          }
          await new Promise((r) => setTimeout(r, flags.reconnectMs));
        }
      } catch (err) {
        if (abort.signal.aborted && !(err instanceof ExitWith)) return;
        throw err;
      } finally {
        process.off("SIGINT", onSignal);
        board?.stop();
      }
    });
}

/** Not on a terminal: one line per change (time, type, job, status, progress, step), or JSON lines. */
function lineWriter(
  ctx: CommandContext,
  json: boolean,
): (event: JsonObject, job: JobJson | undefined) => void {
  const status = statusPainter(ctx.terminal);
  return (event, job) => {
    if (json) return ctx.print(JSON.stringify(event));
    if (!job) return;
    const parts = [
      new Date(ctx.io.now()).toISOString(),
      String(event.type).padEnd(8),
      job.job_id,
      status(String(job.status ?? ""), job.status),
      progressText(job),
      String(job.current_step ?? ""),
    ];
    ctx.print(parts.filter(Boolean).join("  "));
  };
}
