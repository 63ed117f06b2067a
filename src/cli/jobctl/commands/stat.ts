/** `jobctl stat [REPORT] [--query FILE]`: a named report, or any StatisticsQuery, as a table. */
import fs from "node:fs";
import { fromJson, type JsonObject, toJson } from "@bufbuild/protobuf";
import { StructSchema } from "@bufbuild/protobuf/wkt";
import { Command, Option } from "commander";
import YAML from "yaml";
import { JobStatQuerySchema } from "../../../../gen/spaceone/api/identity/v2/job_pb.js";
import { type CliIo, contextOf } from "../context.js";
import { formatData } from "../render/output.js";
import { renderTable } from "../render/table.js";
import { genericColumns, STAT_REPORTS, type StatRow } from "../stat-reports.js";
import { UsageError } from "../usage-error.js";
import { toPositiveInt } from "./list.js";

export function statCommand(io: CliIo): Command {
  const reports = Object.entries(STAT_REPORTS)
    .map(([name, r]) => `  ${name.padEnd(22)}${r.description}`)
    .join("\n");
  return new Command("stat")
    .description("Statistics: a named report, or any stat pipeline from a file")
    .argument("[report]", `one of: ${Object.keys(STAT_REPORTS).join(", ")}`)
    .option("-q, --query <file>", "a StatisticsQuery as JSON or YAML (- for stdin), instead of a report")
    .option("-d, --days <n>", "reports: how many days back, today included", toPositiveInt, 7)
    .addOption(
      new Option("-o, --output <format>", "table, json or yaml")
        .choices(["table", "json", "yaml"])
        .default("table"),
    )
    .addHelpText(
      "after",
      `
Reports:
${reports}

Examples:
  jobctl stat status-per-day --days 14
  jobctl stat failures-per-plugin -o json
  jobctl stat --query by-account.json      # {"aggregate": [{"group": ...}], "page": {"limit": 10}}`,
    )
    .action(
      async (
        name: string | undefined,
        flags: { query?: string; days: number; output: "table" | "json" | "yaml" },
        cmd,
      ) => {
        const ctx = contextOf(cmd, io);
        const report = name === undefined ? undefined : STAT_REPORTS[name];
        if (name !== undefined && !report) {
          throw new UsageError(
            `unknown report ${JSON.stringify(name)}; one of ${Object.keys(STAT_REPORTS).join(", ")}`,
          );
        }
        if ((report === undefined) === (flags.query === undefined)) {
          throw new UsageError("give either a report name or --query FILE");
        }
        const query = report ? report.query(flags.days) : readQuery(flags.query as string);
        const response = await ctx.conn.jobs.stat(fromJson(JobStatQuerySchema, { query }));
        const json = toJson(StructSchema, response) as { results?: StatRow[]; total_count?: number };
        if (flags.output !== "table") return ctx.print(formatData(flags.output, json));
        const rowsIn = json.results ?? [];
        const { columns, rows } = report
          ? report.table(rowsIn)
          : { columns: genericColumns(rowsIn), rows: rowsIn };
        if (rows.length === 0) return ctx.print("No rows.");
        ctx.print(renderTable(columns, rows, ctx.terminal.width));
        if (json.total_count !== undefined)
          ctx.print(ctx.terminal.paint.dim(`${rows.length} of ${json.total_count} rows`));
      },
    );
}

function readQuery(file: string): JsonObject {
  let text: string;
  try {
    text = fs.readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (err) {
    throw new UsageError(`--query ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let value: unknown;
  try {
    value = YAML.parse(text); // YAML is a superset of JSON
  } catch (err) {
    throw new UsageError(
      `--query ${file}: not JSON or YAML (${err instanceof Error ? err.message : String(err)})`,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UsageError(`--query ${file}: expected an object (a StatisticsQuery)`);
  }
  // Accept the request body too ({"query": {...}}), as it is sent to /identity/v2/job/stat.
  const object = value as JsonObject;
  return (object.query && typeof object.query === "object" ? object.query : object) as JsonObject;
}
