/**
 * Lifecycle writes (progress reports) are another issue's work. This finds them at run time in the
 * generated descriptors (`gen/**\/*_pb.ts`): a service other than `Job` with an rpc whose name says
 * progress or heartbeat, and its `create`/`start` rpcs if any. Requests are built from the input message's
 * fields by name (job id, counters that only grow, percent capped at 100...). Anything that does not
 * fit is reported as "not measurable yet" with the reason, never as a failed run.
 */
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { type DescField, type DescMethod, type DescService, ScalarType } from "@bufbuild/protobuf";
import Database from "better-sqlite3";
import { seedWorld } from "../../src/seed/generate.js";
import { h1Post } from "../../test/support/http-client.js";
import type { WriteLoadSpec } from "../load/writes.js";
import { REPO_ROOT } from "./proc.js";
import { BENCH_DOMAIN, JOB_SERVICE, WRITER_ACCOUNT_PREFIX } from "./workload.js";

export type LifecycleProbe =
  | { found: false; reason: string }
  | {
      found: true;
      service: DescService;
      progress: DescMethod;
      create: DescMethod | null;
      start: DescMethod | null;
      succeed: DescMethod | null;
    };

function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full));
    else if (entry.name.endsWith("_pb.ts")) out.push(full);
  }
  return out;
}

export async function findLifecycle(): Promise<LifecycleProbe> {
  const services: DescService[] = [];
  for (const file of listFiles(path.join(REPO_ROOT, "gen"))) {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch {
      continue;
    }
    for (const value of Object.values(mod)) {
      const desc = value as { kind?: unknown; typeName?: unknown } | null;
      if (desc && typeof desc === "object" && desc.kind === "service" && desc.typeName !== JOB_SERVICE) {
        services.push(value as DescService);
      }
    }
  }
  for (const service of services) {
    const progress = service.methods.find(
      (m) => /progress|heartbeat/i.test(m.name) && m.methodKind === "unary",
    );
    if (!progress) continue;
    const byName = (re: RegExp) =>
      service.methods.find((m) => re.test(m.name) && m.methodKind === "unary") ?? null;
    return {
      found: true,
      service,
      progress,
      create: byName(/^create$/i),
      start: byName(/^start$/i),
      succeed: byName(/^(succeed|complete|finish)$/i),
    };
  }
  return {
    found: false,
    reason:
      services.length === 0
        ? "no lifecycle service in gen/ yet (issue 4)"
        : `no progress/heartbeat rpc in ${services.map((s) => s.typeName).join(", ")}`,
  };
}

/** Placeholders in a request template, replaced per request by the write load generator. */
export const COUNTER = 987_654_321;
export const PERCENT = 987_654_322;

const NUMERIC = new Set<ScalarType>([
  ScalarType.DOUBLE,
  ScalarType.FLOAT,
  ScalarType.INT32,
  ScalarType.INT64,
  ScalarType.UINT32,
  ScalarType.UINT64,
  ScalarType.SINT32,
  ScalarType.SINT64,
  ScalarType.FIXED32,
  ScalarType.FIXED64,
  ScalarType.SFIXED32,
  ScalarType.SFIXED64,
]);

interface Context {
  jobId: string | null;
  unique: string;
  trustedAccountId: string;
  pluginId: string;
  workspaceId: string;
}

/** A JSON request for `method` from its fields' names; `counters` puts placeholders in growing fields. */
export function buildRequest(method: DescMethod, ctx: Context, counters: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of method.input.fields) {
    const v = valueFor(field, ctx, counters);
    if (v !== undefined) out[field.name] = v;
  }
  return out;
}

function valueFor(field: DescField, ctx: Context, counters: boolean): unknown {
  const name = field.name.toLowerCase();
  if (field.fieldKind === "scalar" && field.scalar === ScalarType.STRING) {
    if (name === "job_id") return ctx.jobId ?? undefined;
    if (/idempot|request_id|client_token/.test(name)) return ctx.unique;
    if (name.includes("trusted_account")) return ctx.trustedAccountId;
    if (name.includes("plugin")) return ctx.pluginId;
    if (name.includes("workspace")) return ctx.workspaceId;
    if (name === "resource_group") return "WORKSPACE";
    if (/step|stage|message|description/.test(name)) return "collecting";
    return undefined;
  }
  if (field.fieldKind === "enum" && name === "resource_group") return "WORKSPACE";
  if (field.fieldKind === "scalar" && NUMERIC.has(field.scalar) && counters) {
    if (/percent|progress/.test(name)) return PERCENT;
    // Only the processed count grows: totals and created/updated/deleted stay unset (all optional),
    // so no consistency rule between them can refuse a report.
    if (/processed|done/.test(name)) return COUNTER;
    return undefined;
  }
  if (field.fieldKind === "message" && name === "options") return {};
  return undefined;
}

function findJobId(value: unknown): string | null {
  if (value === null || typeof value !== "object") return null;
  const o = value as Record<string, unknown>;
  for (const key of ["job_id", "jobId"]) if (typeof o[key] === "string") return o[key] as string;
  for (const v of Object.values(o)) {
    const found = findJobId(v);
    if (found) return found;
  }
  return null;
}

export interface WriterSetup {
  jobIds: string[];
  /** Which of the offered tokens the service accepted. */
  tokenLabel: string;
  /** Connect path of the progress rpc. */
  path: string;
  headers: Record<string, string>;
  /** One JSON body template per writer (one job each), with COUNTER / PERCENT placeholders. */
  bodies: string[];
}

/** The first `writers` IN_PROGRESS jobs of the bench's domain in a seeded database (`prepareWriters`' fallback). */
export function seededRunningJobs(file: string, writers: number): () => Promise<string[]> {
  return async () => {
    const db = new Database(file, { readonly: true });
    try {
      const rows = db
        .prepare("SELECT job_id FROM jobs WHERE domain_id = ? AND status = 'IN_PROGRESS' LIMIT ?")
        .all(BENCH_DOMAIN, writers) as { job_id: string }[];
      return rows.map((r) => r.job_id);
    } finally {
      db.close();
    }
  };
}

/** The writes load generator's spec for a prepared set of writers. */
export function writeLoadSpec(
  baseUrl: string,
  setup: WriterSetup,
  timing: { durationS: number; warmupS: number },
): WriteLoadSpec {
  return {
    url: `${baseUrl}${setup.path}`,
    headers: setup.headers,
    bodies: setup.bodies,
    counterPlaceholder: String(COUNTER),
    percentPlaceholder: String(PERCENT),
    durationS: timing.durationS,
    warmupS: timing.warmupS,
  };
}

async function call(
  baseUrl: string,
  method: DescMethod,
  headers: Record<string, string>,
  body: unknown,
): Promise<{ ok: boolean; json: unknown; text: string }> {
  const r = await h1Post(
    `${baseUrl}/${method.parent.typeName}/${method.name}`,
    headers,
    JSON.stringify(body),
  );
  const text = r.body.toString("utf8");
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { ok: r.status === 200, json, text: `HTTP ${r.status} ${text.slice(0, 300)}` };
}

/**
 * Create and start `writers` jobs through the lifecycle API with the first token that the service
 * accepts, and return the progress request templates. Throws with the reason when it does not work.
 */
export async function prepareWriters(
  baseUrl: string,
  probe: Extract<LifecycleProbe, { found: true }>,
  tokens: readonly { label: string; token: string }[],
  writers: number,
  existingInProgress: () => Promise<string[]>,
): Promise<WriterSetup> {
  const world = seedWorld();
  const domain = world.find((d) => d.domainId === BENCH_DOMAIN) ?? world[0];
  const account = domain?.workspaceAccounts[0];
  if (!account) throw new Error("no seeded trusted account to create jobs for");
  const problems: string[] = [];
  for (const { label, token } of tokens) {
    const headers = {
      "content-type": "application/json",
      authorization: `Bearer ${token}`,
      x_domain_id: BENCH_DOMAIN,
    };
    try {
      let jobIds: string[] = [];
      if (probe.create) {
        for (let i = 0; i < writers; i++) {
          // A trusted account per writer that no seeded job has: the duplicate-job rule then finds no
          // running job to supersede. A seeded account's would make it cancel that account's running
          // seeded jobs (1,658 of them at 1M jobs), changing what `list` and `stat` count in every
          // later run on the same data set.
          const own = domain?.workspaceAccounts[i % (domain?.workspaceAccounts.length ?? 1)] ?? account;
          const ctx: Context = {
            jobId: null,
            unique: `bench-${process.pid}-${Date.now()}-${i}`,
            trustedAccountId: `${WRITER_ACCOUNT_PREFIX}${i}`,
            pluginId: own.pluginId,
            workspaceId: own.workspaceId,
          };
          const created = await call(baseUrl, probe.create, headers, buildRequest(probe.create, ctx, false));
          if (!created.ok) throw new Error(`${probe.create.name}: ${created.text}`);
          const jobId = findJobId(created.json);
          if (!jobId) throw new Error(`${probe.create.name}: no job_id in the answer`);
          jobIds.push(jobId);
        }
      } else {
        jobIds = (await existingInProgress()).slice(0, writers);
        if (jobIds.length === 0) throw new Error("no create rpc and no IN_PROGRESS job to report on");
      }
      if (probe.start) {
        for (const jobId of jobIds) {
          const ctx = { jobId, unique: jobId, trustedAccountId: "", pluginId: "", workspaceId: "" };
          const started = await call(baseUrl, probe.start, headers, buildRequest(probe.start, ctx, false));
          if (!started.ok) throw new Error(`${probe.start.name}: ${started.text}`);
        }
      }
      const bodies = jobIds.map((jobId) =>
        JSON.stringify(
          buildRequest(
            probe.progress,
            { jobId, unique: jobId, trustedAccountId: "", pluginId: "", workspaceId: "" },
            true,
          ),
        ),
      );
      // One real report per job, to know the template is accepted before loading.
      for (const body of bodies) {
        const first = await call(
          baseUrl,
          probe.progress,
          headers,
          JSON.parse(body.replaceAll(String(COUNTER), "1").replaceAll(String(PERCENT), "0")),
        );
        if (!first.ok) throw new Error(`${probe.progress.name}: ${first.text}`);
      }
      return {
        jobIds,
        tokenLabel: label,
        path: `/${probe.service.typeName}/${probe.progress.name}`,
        headers,
        bodies,
      };
    } catch (error) {
      problems.push(`${label}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new Error(problems.join("; "));
}

/** Best effort: finish the benchmark's jobs, so a reused data set has no job of ours left running. */
export async function finishWriters(
  baseUrl: string,
  probe: Extract<LifecycleProbe, { found: true }>,
  setup: WriterSetup,
): Promise<void> {
  if (!probe.succeed) return;
  for (const jobId of setup.jobIds) {
    const ctx = { jobId, unique: jobId, trustedAccountId: "", pluginId: "", workspaceId: "" };
    await call(baseUrl, probe.succeed, setup.headers, buildRequest(probe.succeed, ctx, false)).catch(
      () => undefined,
    );
  }
}
