/** `jobctl create`: a PENDING job, for workers, tests and demos (needs a role that may create). */
import { fromJson, type JsonObject, toJson } from "@bufbuild/protobuf";
import { Command, Option } from "commander";
import { CreateJobRequestSchema } from "../../../../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import { JobInfoSchema } from "../../../../gen/spaceone/api/identity/v2/job_pb.js";
import { type CliIo, contextOf } from "../context.js";
import type { JobJson } from "../render/job-columns.js";
import { formatData } from "../render/output.js";
import { UsageError } from "../usage-error.js";

export function createCommand(io: CliIo): Command {
  return new Command("create")
    .description("Create a PENDING job")
    .requiredOption("-a, --account <trusted_account_id>", "the trusted account to collect")
    .option("-p, --plugin <plugin_id>", "the collector plugin")
    .option("-w, --workspace <workspace_id>", "the workspace (WORKSPACE jobs)")
    .addOption(
      new Option(
        "-g, --resource-group <group>",
        "DOMAIN or WORKSPACE (default: WORKSPACE with --workspace, else DOMAIN)",
      ).choices(["DOMAIN", "WORKSPACE"]),
    )
    .option("--options <json>", "the job's options, a JSON object")
    .option("--idempotency-key <key>", "retrying with the same key returns the same job")
    .addOption(
      new Option("-o, --output <format>", "id, json or yaml").choices(["id", "json", "yaml"]).default("id"),
    )
    .addHelpText(
      "after",
      `
Examples:
  jobctl create --account ta-1 --plugin plugin-aws --workspace ws-1
  jobctl create -a ta-1 -g DOMAIN --options '{"regions": ["us-east-1"]}' -o json`,
    )
    .action(
      async (
        flags: {
          account: string;
          plugin?: string;
          workspace?: string;
          resourceGroup?: string;
          options?: string;
          idempotencyKey?: string;
          output: "id" | "json" | "yaml";
        },
        cmd,
      ) => {
        const ctx = contextOf(cmd, io);
        const request: JsonObject = {
          trusted_account_id: flags.account,
          resource_group: flags.resourceGroup ?? (flags.workspace ? "WORKSPACE" : "DOMAIN"),
        };
        if (flags.plugin) request.plugin_id = flags.plugin;
        if (flags.workspace) request.workspace_id = flags.workspace;
        if (flags.idempotencyKey) request.idempotency_key = flags.idempotencyKey;
        if (flags.options !== undefined) request.options = parseJsonObject(flags.options, "--options");
        const job = toJson(
          JobInfoSchema,
          await ctx.conn.lifecycle.create(fromJson(CreateJobRequestSchema, request)),
          { useProtoFieldName: true },
        ) as JobJson;
        ctx.print(flags.output === "id" ? job.job_id : formatData(flags.output, job));
      },
    );
}

export function parseJsonObject(text: string, flag: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${flag}: not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UsageError(`${flag}: expected a JSON object`);
  }
  return value as JsonObject;
}
