/** `jobctl list`: the jobs of the token's scope as a table fitted to the terminal, or json/yaml/ids. */
import { fromJson, type JsonObject, toJson } from "@bufbuild/protobuf";
import { Command, Option } from "commander";
import { JobsInfoSchema, JobsQuerySchema } from "../../../../gen/spaceone/api/identity/v2/job_pb.js";
import { JOB_STATUSES } from "../../../catalogue/job-fields.js";
import { type CliIo, contextOf } from "../context.js";
import { parseFilter } from "../filters.js";
import { type JobJson, jobColumns } from "../render/job-columns.js";
import { formatData, OUTPUT_FORMATS, type OutputFormat, parseOutputFormat } from "../render/output.js";
import { renderTable } from "../render/table.js";

export interface ListFlags {
  status?: string;
  account?: string;
  plugin?: string;
  workspace?: string;
  filter: string[];
  keyword?: string;
}

/** The shortcut flags and filters shared by `list` and `watch`. */
export function addJobFilterOptions(command: Command): Command {
  return command
    .addOption(new Option("-s, --status <status>", "only jobs in this status").choices(JOB_STATUSES))
    .option("-a, --account <trusted_account_id>", "only jobs of this trusted account")
    .option("-p, --plugin <plugin_id>", "only jobs of this plugin")
    .option("-w, --workspace <workspace_id>", "only jobs of this workspace")
    .option(
      "-f, --filter <'key op value'>",
      "a query filter, repeatable (ANDed); op is a query operator: eq, not, lt, gte, in, contain, regex, timediff_gte, ...",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option("-k, --keyword <text>", "free-text search over ids, plugin and error message");
}

/** The `JobsQuery`/`WatchJobsRequest` JSON those flags make (`query` gets filter and keyword). */
export function jobFilterRequest(flags: ListFlags): { request: JsonObject; query: JsonObject } {
  const request: JsonObject = {};
  if (flags.status) request.status = flags.status;
  if (flags.account) request.trusted_account_id = flags.account;
  if (flags.plugin) request.plugin_id = flags.plugin;
  if (flags.workspace) request.workspace_id = flags.workspace;
  const query: JsonObject = {};
  if (flags.filter.length > 0) query.filter = flags.filter.map((f) => ({ ...parseFilter(f) }));
  if (flags.keyword) query.keyword = flags.keyword;
  return { request, query };
}

export function listCommand(io: CliIo): Command {
  const command = new Command("list")
    .alias("ls")
    .description("List jobs, newest first (the token's scope: its domain or workspace)");
  addJobFilterOptions(command)
    .option("--sort <key>", "sort key; prefix with - for descending", "-created_at")
    .option("-l, --limit <n>", "jobs per page", toPositiveInt, 20)
    .option("--page <n>", "page number, from 1", toPositiveInt, 1)
    .addOption(
      new Option("-o, --output <format>", "table, wide, json, yaml or ids")
        .choices(OUTPUT_FORMATS)
        .default("table"),
    )
    .addHelpText(
      "after",
      `
Examples:
  jobctl list
  jobctl list --status FAILURE --plugin plugin-aws -o wide
  jobctl list --filter 'created_at timediff_gte now/d - 6d' --filter 'plugin_id in plugin-aws,plugin-gcp'
  jobctl list --sort duration_seconds --limit 5 -o json
  jobctl list -s IN_PROGRESS -o ids | xargs -n1 jobctl cancel --reason maintenance`,
    )
    .action(async (flags: ListFlags & { sort: string; limit: number; page: number; output: string }, cmd) => {
      const ctx = contextOf(cmd, io);
      const format: OutputFormat = parseOutputFormat(flags.output);
      const { request, query } = jobFilterRequest(flags);
      const desc = flags.sort.startsWith("-");
      const response = await ctx.conn.jobs.list(
        fromJson(JobsQuerySchema, {
          ...request,
          query: {
            ...query,
            sort: [{ key: desc ? flags.sort.slice(1) : flags.sort, desc }],
            page: { start: (flags.page - 1) * flags.limit + 1, limit: flags.limit },
          },
        }),
      );
      const json = toJson(JobsInfoSchema, response, { useProtoFieldName: true }) as {
        results?: JobJson[];
        total_count?: number;
      };
      const jobs = json.results ?? [];
      if (format === "json" || format === "yaml") return ctx.print(formatData(format, json));
      if (format === "ids") return ctx.print(jobs.map((j) => j.job_id).join("\n"));
      const now = io.now();
      if (jobs.length === 0) {
        ctx.print(`No jobs found (total ${response.totalCount}).`);
        return;
      }
      ctx.print(renderTable(jobColumns(ctx.terminal, now, format === "wide"), jobs, ctx.terminal.width));
      const first = (flags.page - 1) * flags.limit + 1;
      ctx.print(
        ctx.terminal.paint.dim(
          `${first}-${first + jobs.length - 1} of ${response.totalCount} jobs` +
            (first + jobs.length - 1 < response.totalCount ? ` (next: --page ${flags.page + 1})` : ""),
        ),
      );
    });
  return command;
}

export function toPositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${JSON.stringify(value)} is not a positive integer`);
  return n;
}
