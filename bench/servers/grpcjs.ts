/**
 * What a user would pick instead (its own process): an `@grpc/grpc-js` server for Job.get, the protos
 * loaded with `@grpc/proto-loader`, the token verified with jose (HS256, same secret file), and the same
 * scoped SQLite lookup with better-sqlite3 (`job_id` and the token's domain). Only `get` is served.
 *
 * Argument: one JSON object (`GrpcJsSpec`). Prints `listening <port>` when ready.
 */
import fs from "node:fs";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import Database from "better-sqlite3";
import { jwtVerify } from "jose";
import type { JobRow } from "../../src/storage/schema.js";

export interface GrpcJsSpec {
  port: number;
  databaseFile: string;
  secretFile: string;
  repoRoot: string;
}

type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** The columns it reads: the service's own row type (types only; no service code runs here). */
type Row = Omit<JobRow, "seq">;

/** google.protobuf.Value in proto-loader's object form (keepCase). */
function toValue(v: JsonValue): Record<string, unknown> {
  if (v === null) return { null_value: "NULL_VALUE" };
  if (typeof v === "boolean") return { bool_value: v };
  if (typeof v === "number") return { number_value: v };
  if (typeof v === "string") return { string_value: v };
  if (Array.isArray(v)) return { list_value: { values: v.map(toValue) } };
  return { struct_value: toStruct(v) };
}

function toStruct(o: { [key: string]: JsonValue }): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) fields[k] = toValue(v);
  return { fields };
}

function main(): void {
  const spec = JSON.parse(process.argv[2] ?? "{}") as GrpcJsSpec;
  const definition = protoLoader.loadSync("spaceone/api/identity/v2/job.proto", {
    includeDirs: [path.join(spec.repoRoot, "proto"), path.join(spec.repoRoot, "third_party")],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    spaceone: { api: { identity: { v2: { Job: { service: grpc.ServiceDefinition } } } } };
  };
  const secret = new TextEncoder().encode(fs.readFileSync(spec.secretFile, "utf8").trim());
  const db = new Database(spec.databaseFile, { readonly: true });
  db.pragma("busy_timeout = 5000");
  const byId = db.prepare("SELECT * FROM jobs WHERE job_id = ? AND domain_id = ?");

  const get: grpc.handleUnaryCall<{ job_id?: string }, Record<string, unknown>> = (call, callback) => {
    const auth = String(call.metadata.get("authorization")[0] ?? call.metadata.get("token")[0] ?? "");
    const token = auth.replace(/^Bearer\s+/i, "");
    jwtVerify(token, secret, { algorithms: ["HS256"], requiredClaims: ["exp"] }).then(
      ({ payload }) => {
        const domainId = typeof payload.did === "string" ? payload.did : "";
        if (payload.rol !== "DOMAIN_ADMIN" || domainId === "") {
          callback({ code: grpc.status.PERMISSION_DENIED, details: "permission denied" });
          return;
        }
        const jobId = call.request.job_id ?? "";
        const row = byId.get(jobId, domainId) as Row | undefined;
        if (!row) {
          callback({ code: grpc.status.NOT_FOUND, details: `job ${jobId} not found` });
          return;
        }
        const info: Record<string, unknown> = {
          job_id: row.job_id,
          status: row.status,
          resource_group: row.resource_group,
          domain_id: row.domain_id,
          workspace_id: row.workspace_id,
          trusted_account_id: row.trusted_account_id,
          created_at: row.created_at,
          updated_at: row.updated_at,
        };
        if (row.options !== null)
          info.options = toStruct(JSON.parse(row.options) as { [key: string]: JsonValue });
        if (row.error_message !== null) info.error_message = row.error_message;
        if (row.plugin_id !== null) info.plugin_id = row.plugin_id;
        if (row.finished_at !== null) info.finished_at = row.finished_at;
        callback(null, info);
      },
      () => callback({ code: grpc.status.UNAUTHENTICATED, details: "invalid token" }),
    );
  };

  const server = new grpc.Server();
  server.addService(loaded.spaceone.api.identity.v2.Job.service, { get });
  server.bindAsync(`127.0.0.1:${spec.port}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) {
      process.stderr.write(`bind failed: ${err.message}\n`);
      process.exit(1);
    }
    process.stdout.write(`listening ${port}\n`);
  });
  const stop = () => {
    server.forceShutdown();
    db.close();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main();
