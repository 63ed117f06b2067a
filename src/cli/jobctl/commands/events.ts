/** `jobctl events ID`: the job's timeline, oldest first. */
import { toJson } from "@bufbuild/protobuf";
import { Command, Option } from "commander";
import { JobEventsInfoSchema } from "../../../../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import { type CliIo, contextOf } from "../context.js";
import { statusPainter } from "../render/job-columns.js";
import { formatData } from "../render/output.js";
import { renderTable } from "../render/table.js";
import { relativeTime } from "../render/time.js";

type EventJson = Record<string, string | number | undefined>;

export function eventsCommand(io: CliIo): Command {
  return new Command("events")
    .description("Show a job's timeline: every state change and cancel request, oldest first")
    .argument("<job_id>", "the job's id")
    .addOption(
      new Option("-o, --output <format>", "table, json or yaml")
        .choices(["table", "json", "yaml"])
        .default("table"),
    )
    .addHelpText(
      "after",
      `
Examples:
  jobctl events job-4f2c9a1e07b3
  jobctl events job-4f2c9a1e07b3 -o yaml`,
    )
    .action(async (jobId: string, flags: { output: "table" | "json" | "yaml" }, cmd) => {
      const ctx = contextOf(cmd, io);
      const response = await ctx.conn.lifecycle.list_events({ jobId });
      const json = toJson(JobEventsInfoSchema, response, { useProtoFieldName: true }) as {
        results?: EventJson[];
      };
      if (flags.output !== "table") return ctx.print(formatData(flags.output, json));
      const status = statusPainter(ctx.terminal);
      const now = io.now();
      const events = json.results ?? [];
      if (events.length === 0)
        return ctx.print("No events (jobs created before the lifecycle API have none).");
      ctx.print(
        renderTable<EventJson>(
          [
            { header: "SEQ", text: (e) => String(e.seq ?? ""), align: "right" },
            { header: "TIME", text: (e) => String(e.created_at ?? "") },
            { header: "AGE", text: (e) => relativeTime(String(e.created_at ?? ""), now), dropOrder: 2 },
            { header: "ACTION", text: (e) => String(e.action ?? "") },
            {
              header: "STATUS",
              text: (e) => (e.from_status ? `${e.from_status} → ${e.to_status}` : String(e.to_status ?? "")),
              paint: (t, e) => status(t, String(e.to_status)),
            },
            { header: "ACTOR", text: (e) => String(e.actor ?? ""), flex: { min: 8 }, dropOrder: 1 },
            { header: "REASON", text: (e) => String(e.reason ?? ""), flex: { min: 10 }, dropOrder: 3 },
          ],
          events,
          ctx.terminal.width,
        ),
      );
    });
}
