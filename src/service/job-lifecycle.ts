/**
 * The JobLifecycle operations (job_lifecycle.proto): the orchestrator creates jobs, workers start,
 * report and finish them, users cancel them, anyone who may read a job reads its timeline.
 *
 * Each operation authorizes the caller against `job-rules.ts`, validates the request, and makes its
 * change in one write transaction of the store through `applyTransition`, which consults the state machine,
 * bumps the version and records the event. Requests arrive as proto JSON with proto field names.
 */
import { randomBytes } from "node:crypto";
import type { Principal } from "../auth/principal.js";
import { RESOURCE_GROUPS, type ResourceGroup } from "../catalogue/job-fields.js";
import { errors, type SpaceOneError } from "../errors.js";
import { whenReady } from "../maybe-promise.js";
import type { JobEventRow, JobRow } from "../storage/schema.js";
import type { JobPatch, JobStore, LockedJob, ReadOptions, WriteTx } from "../storage/store.js";
import { missingJob, requireJobId } from "./job-missing.js";
import { authorize, DOMAIN_WORKSPACE, type JobMethod, type Scope, scopeConditions } from "./job-rules.js";
import type { JobAction } from "./job-state.js";
import { applyTransition, type TransitionOptions } from "./job-transition.js";
import { type JobView, type JsonObject, type JsonValue, toJobView } from "./job-view.js";

export interface JobLifecycleOptions {
  /** Upstream's duplicate window (docs/compatibility.md, "Jobs and their lifecycle": 10 minutes). */
  readonly duplicateWindowMs: number;
  /** Injected clock: every timestamp the lifecycle writes comes from here. */
  readonly now?: () => Date;
}

interface VersionedRequest {
  job_id?: string;
  expected_version?: number;
}

export interface CreateJobRequest {
  trusted_account_id?: string;
  plugin_id?: string;
  resource_group?: string;
  options?: JsonObject;
  idempotency_key?: string;
  workspace_id?: string;
}

export type StartJobRequest = VersionedRequest;

export interface Counters {
  records_processed?: number;
  records_total?: number;
  records_created?: number;
  records_updated?: number;
  records_deleted?: number;
}

export interface ReportJobProgressRequest extends VersionedRequest, Counters {
  progress_percent?: number;
  current_step?: string;
}

export interface SucceedJobRequest extends VersionedRequest, Counters {}

export interface FailJobRequest extends VersionedRequest {
  error_code?: string;
  error_message?: string;
}

export interface CancelJobRequest extends VersionedRequest {
  reason?: string;
}

export interface ListJobEventsRequest {
  job_id?: string;
}

export interface JobEventView {
  job_id: string;
  seq: number;
  action: string;
  from_status?: string;
  to_status: string;
  reason?: string;
  actor: string;
  created_at: string;
}

export interface JobEvents {
  results: JobEventView[];
  total_count: number;
}

/** Actor names of the service's own changes, as they appear in the timeline. */
export const DUPLICATE_RULE_ACTOR = "service:duplicate-rule";

const MAX_ID = 64;
const MAX_IDEMPOTENCY_KEY = 128;
const MAX_STEP = 256;
const MAX_REASON = 1024;
const MAX_ERROR_MESSAGE = 4096;
const ERROR_CODE = /^[A-Z][A-Z0-9_]{0,63}$/;
const UINT32_MAX = 4_294_967_295;

/** Counters that only grow: a lower value (a late retry of an older report) keeps the stored one. */
const MONOTONIC_COUNTERS = [
  "records_processed",
  "records_created",
  "records_updated",
  "records_deleted",
] as const;

export class JobLifecycleService {
  private readonly now: () => Date;

  constructor(
    private readonly store: JobStore,
    private readonly options: JobLifecycleOptions,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /**
   * A new PENDING job, or with an idempotency key already used in the same domain and workspace,
   * the job that key created (nothing is written). Keys of other workspaces are invisible: the same
   * key there makes a new job. Upstream's duplicate rule then runs on the new job.
   */
  async create(principal: Principal, request: CreateJobRequest): Promise<JobView> {
    const scope = authorize(principal, "create");
    const trustedAccountId = requiredText(request.trusted_account_id, "trusted_account_id", MAX_ID);
    const pluginId = optionalText(request.plugin_id, "plugin_id", MAX_ID);
    const key = optionalText(request.idempotency_key, "idempotency_key", MAX_IDEMPOTENCY_KEY);
    const options = request.options ?? {};
    if (typeof options !== "object" || options === null || Array.isArray(options)) {
      throw errors.invalidParameterType("options", "object");
    }
    const resourceGroup = request.resource_group;
    if (resourceGroup === undefined || resourceGroup === "" || resourceGroup === "RESOURCE_GROUP_NONE") {
      throw errors.requiredParameter("resource_group");
    }
    if (!(RESOURCE_GROUPS as readonly string[]).includes(resourceGroup)) {
      throw errors.invalidParameter(
        "resource_group",
        `${resourceGroup} is not one of ${RESOURCE_GROUPS.join(", ")}`,
      );
    }
    const workspaceId = this.workspaceFor(
      resourceGroup as ResourceGroup,
      request.workspace_id?.trim() ?? "",
      scope.workspaceId,
    );
    const wanted = {
      trusted_account_id: trustedAccountId,
      plugin_id: pluginId,
      resource_group: resourceGroup as ResourceGroup,
      workspace_id: workspaceId,
      options: canonicalJson(options),
    };
    const actor = actorOf(principal);
    const row = await this.store.write(async (tx) => {
      for (;;) {
        if (key !== null) {
          const existing = await tx.findByIdempotencyKey(scope.domainId, workspaceId, key);
          if (existing) {
            assertSameRequest(existing, wanted, key);
            return existing;
          }
        }
        const now = this.now().toISOString();
        const inserted = await tx.insert({
          job_id: await this.newJobId(tx),
          status: "PENDING",
          options: JSON.stringify(options),
          resource_group: wanted.resource_group,
          error_message: null,
          domain_id: scope.domainId,
          workspace_id: workspaceId,
          trusted_account_id: trustedAccountId,
          plugin_id: pluginId,
          created_at: now,
          updated_at: now,
          finished_at: null,
          idempotency_key: key,
        });
        // Another instance committed the same key between our lookup and our insert: read its job.
        if (inserted.kind === "key_taken") continue;
        const row = inserted.row;
        await tx.appendEvent({
          job_id: row.job_id,
          action: "create",
          from_status: null,
          to_status: "PENDING",
          reason: null,
          actor,
          created_at: now,
        });
        return this.applyDuplicateRule(tx, row, now);
      }
    });
    return toJobView(row);
  }

  /** PENDING -> IN_PROGRESS; the start is the first heartbeat. */
  start(principal: Principal, request: StartJobRequest): Promise<JobView> {
    return this.change(principal, "start", request, "start", (now) => ({
      patch: () => ({ heartbeat_at: now }),
    })).then(toJobView);
  }

  /** A heartbeat with progress. Monotonic fields keep their highest value (documented, not an error). */
  reportProgress(principal: Principal, request: ReportJobProgressRequest): Promise<JobView> {
    return this.reportProgressRow(principal, request).then(toJobView);
  }

  /**
   * `reportProgress`'s job as stored, before the view: the hottest write's answer, which a wire that
   * writes the bytes from the row (`jobRowJson`, as `get` does) need not build as a view first.
   */
  reportProgressRow(principal: Principal, request: ReportJobProgressRequest): Promise<JobRow> {
    const percent = optionalPercent(request.progress_percent);
    const step = optionalText(request.current_step, "current_step", MAX_STEP);
    const counters = validCounters(request);
    return this.change(principal, "report_progress", request, "report_progress", (now) => ({
      patch: (_outcome, row) => {
        const patch: JobPatch = { heartbeat_at: now, ...grownCounters(row, counters) };
        if (percent !== undefined) patch.progress_percent = Math.max(row.progress_percent ?? 0, percent);
        if (step !== null) patch.current_step = step;
        return patch;
      },
    }));
  }

  /** IN_PROGRESS -> SUCCESS, with optional final counters; progress becomes 100. */
  succeed(principal: Principal, request: SucceedJobRequest): Promise<JobView> {
    const counters = validCounters(request);
    return this.change(principal, "succeed", request, "succeed", () => ({
      patch: (_outcome, row) => ({ progress_percent: 100, ...grownCounters(row, counters) }),
    })).then(toJobView);
  }

  /** IN_PROGRESS -> FAILURE; with a cancel pending, the worker's confirmation: -> CANCELED. */
  fail(principal: Principal, request: FailJobRequest): Promise<JobView> {
    const code = optionalText(request.error_code, "error_code", 64);
    if (code !== null && !ERROR_CODE.test(code)) {
      throw errors.invalidParameter(
        "error_code",
        "use upper-case letters, digits and underscores (ERROR_...)",
      );
    }
    const message = optionalText(request.error_message, "error_message", MAX_ERROR_MESSAGE);
    return this.change(principal, "fail", request, "fail", () => ({
      reason: message ?? code,
      patch: (outcome) =>
        outcome.kind === "move" && outcome.to === "FAILURE"
          ? { error_code: code ?? "ERROR_JOB_FAILED", error_message: message }
          : { error_code: code, error_message: message },
    })).then(toJobView);
  }

  /** PENDING -> CANCELED; IN_PROGRESS -> cancel requested; again, or CANCELED: unchanged. */
  cancel(principal: Principal, request: CancelJobRequest): Promise<JobView> {
    const reason = optionalText(request.reason, "reason", MAX_REASON);
    const actor = actorOf(principal);
    return this.change(principal, "cancel", request, "cancel", (now) => ({
      reason: reason ?? "cancel requested",
      patch: () => ({ cancel_requested_at: now, cancel_reason: reason, canceled_by: actor }),
    })).then(toJobView);
  }

  /** The job's timeline, oldest first. */
  async listEvents(
    principal: Principal,
    request: ListJobEventsRequest,
    read?: ReadOptions,
  ): Promise<JobEvents> {
    const scope = authorize(principal, "list_events");
    const jobId = requireJobId(request.job_id);
    const events = await this.store.events(jobId, scopeConditions(scope), read);
    if (!events) throw await this.missing(jobId, scope);
    return { results: events.map(toEventView), total_count: events.length };
  }

  /**
   * One state change by a caller: authorize, find the job in the caller's scope (or explain why it
   * is missing), apply the action. `build` gets the transaction's timestamp.
   */
  private async change(
    principal: Principal,
    method: JobMethod,
    request: VersionedRequest,
    action: Exclude<JobAction, "create">,
    build: (now: string) => Pick<TransitionOptions, "reason" | "patch">,
  ): Promise<JobRow> {
    const scope = authorize(principal, method);
    const jobId = requireJobId(request.job_id);
    const expectedVersion = optionalVersion(request.expected_version);
    const actor = actorOf(principal);
    const conditions = scopeConditions(scope);
    // Chained with `whenReady`, not awaited: on SQLite the whole write runs at once inside its group.
    const row = await this.store.write((tx) =>
      // What the change reads (a few columns); the answer is the row the update returns, or, when the
      // action writes nothing, the whole row read under the same lock.
      whenReady(tx.lock(jobId, conditions), (locked) => {
        if (!locked) return undefined;
        const now = this.now().toISOString();
        const changed = applyTransition(tx, locked, action, {
          now,
          actor,
          expectedVersion,
          ...build(now),
        });
        return whenReady(changed, ({ written }) => written ?? tx.find(jobId, conditions));
      }),
    );
    // Explained outside the transaction: the tombstone lookup is a plain read.
    if (!row) throw await this.missing(jobId, scope);
    return row;
  }

  /** Not found, or expired when retention purged it (job-missing.ts). */
  private missing(jobId: string, scope: Scope): Promise<SpaceOneError> {
    return missingJob(jobId, scope, (id, conditions) => this.store.tombstone(id, conditions));
  }

  /**
   * Upstream's duplicate rule (docs/compatibility.md, "Jobs and their lifecycle"), on a job just created: if another job of the same
   * trusted account, workspace and domain has been IN_PROGRESS for less than the window, the new job
   * is a duplicate (FAILURE, ERROR_DUPLICATE_JOB) and nothing else changes; otherwise every such older
   * job is CANCELED (superseded). "IN_PROGRESS for" counts from started_at (upstream had no start time
   * and used created_at, which we fall back to).
   */
  private async applyDuplicateRule(tx: WriteTx, job: JobRow, now: string): Promise<JobRow> {
    const running = await tx.runningFor(job);
    if (running.length === 0) return job;
    const nowMs = Date.parse(now);
    const since = (row: JobRow) => row.started_at ?? row.created_at;
    const recent = running.filter((row) => nowMs - Date.parse(since(row)) < this.options.duplicateWindowMs);
    if (recent.length > 0) {
      const message = `The same job is already running. (trusted_account_id = ${job.trusted_account_id})`;
      const duplicate = await applyTransition(tx, job, "duplicate", {
        now,
        actor: DUPLICATE_RULE_ACTOR,
        reason: `${message} Running: ${recent.map((r) => r.job_id).join(", ")}`,
        patch: () => ({ error_code: "ERROR_DUPLICATE_JOB", error_message: message }),
      });
      return duplicate.row;
    }
    const windowSeconds = Math.round(this.options.duplicateWindowMs / 1000);
    for (const old of running) {
      const reason = `Superseded by ${job.job_id}: IN_PROGRESS since ${since(old)}, longer than the duplicate window (${windowSeconds} s).`;
      await applyTransition(tx, old, "supersede", {
        now,
        actor: DUPLICATE_RULE_ACTOR,
        reason,
        patch: () => ({ cancel_reason: reason, canceled_by: DUPLICATE_RULE_ACTOR }),
      });
    }
    return job;
  }

  /** The workspace a new job belongs to, from its resource group, the request and the caller's pin. */
  private workspaceFor(group: ResourceGroup, requested: string, pinned: string | null): string {
    if (group === "DOMAIN") {
      // DOMAIN jobs carry workspace_id "*" (docs/compatibility.md, "Jobs and their lifecycle"); only a domain-wide caller may create them.
      if (pinned !== null) throw errors.permissionDenied();
      if (requested !== "" && requested !== DOMAIN_WORKSPACE) {
        throw errors.invalidParameter("workspace_id", "a DOMAIN job has no workspace (it is stored as '*')");
      }
      return DOMAIN_WORKSPACE;
    }
    const workspace = requested || pinned;
    if (!workspace) throw errors.requiredParameter("workspace_id");
    if (workspace === DOMAIN_WORKSPACE) {
      throw errors.invalidParameter("workspace_id", "'*' is for DOMAIN jobs; name the workspace");
    }
    if (workspace.length > MAX_ID)
      throw errors.invalidParameter("workspace_id", `longer than ${MAX_ID} characters`);
    // A workspace-scoped caller creates jobs in its own workspace only.
    if (pinned !== null && workspace !== pinned) throw errors.permissionDenied();
    return workspace;
  }

  /** `job-` + 12 lowercase hex characters, as upstream (`utils.generate_id("job")`), never reused. */
  private async newJobId(tx: WriteTx): Promise<string> {
    for (;;) {
      const id = `job-${randomBytes(6).toString("hex")}`;
      if (!(await tx.idTaken(id))) return id;
    }
  }
}

/** Who made a change, for the timeline and `canceled_by`. */
export function actorOf(principal: Principal): string {
  if (principal.tokenType === "SYSTEM_TOKEN") return `system:${principal.subject ?? "unknown"}`;
  // An app's token (own: APP, e.g. CLIENT_SECRET) names the app in `aud`.
  if (principal.owner === "APP") return `app:${principal.audience ?? principal.subject ?? "unknown"}`;
  return `user:${principal.subject ?? "unknown"}`;
}

export function toEventView(event: JobEventRow): JobEventView {
  const view: JobEventView = {
    job_id: event.job_id,
    seq: event.seq,
    action: event.action,
    to_status: event.to_status,
    actor: event.actor,
    created_at: event.created_at,
  };
  if (event.from_status !== null) view.from_status = event.from_status;
  if (event.reason !== null) view.reason = event.reason;
  return view;
}

function requiredText(value: string | undefined, key: string, max: number): string {
  const text = optionalText(value, key, max);
  if (text === null) throw errors.requiredParameter(key);
  return text;
}

/** Trimmed (upstream strips strings), bounded; empty is absent. */
function optionalText(value: string | undefined, key: string, max: number): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") throw errors.invalidParameterType(key, "string");
  const text = value.trim();
  if (text.length > max) throw errors.invalidParameter(key, `longer than ${max} characters`);
  // PostgreSQL text cannot carry NUL: refused alike on both backends.
  if (text.includes("\u0000")) throw errors.invalidParameter(key, "contains a NUL character");
  return text === "" ? null : text;
}

function optionalVersion(value: number | undefined): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Number.isInteger(value) || value < 1 || value > UINT32_MAX) {
    throw errors.invalidParameter("expected_version", "a job version is a whole number from 1");
  }
  return value;
}

function optionalPercent(value: number | undefined): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > 100) {
    throw errors.invalidParameter("progress_percent", "a number from 0 to 100");
  }
  return value;
}

function validCounters(request: Counters): Counters {
  const out: Counters = {};
  for (const key of [...MONOTONIC_COUNTERS, "records_total"] as const) {
    const value = request[key];
    if (value === undefined || value === null) continue;
    if (!Number.isInteger(value) || value < 0 || value > UINT32_MAX) {
      throw errors.invalidParameter(key, "a whole number from 0");
    }
    out[key] = value;
  }
  return out;
}

/** The counters to write: monotonic ones never below the stored value; the total as reported. */
function grownCounters(row: LockedJob, counters: Counters): JobPatch {
  const patch: JobPatch = {};
  for (const key of MONOTONIC_COUNTERS) {
    const value = counters[key];
    if (value !== undefined) patch[key] = Math.max(row[key] ?? 0, value);
  }
  if (counters.records_total !== undefined) patch.records_total = counters.records_total;
  return patch;
}

/** A retried create must ask for the same job: same account, plugin, group, workspace and options. */
function assertSameRequest(
  existing: JobRow,
  wanted: Pick<JobRow, "trusted_account_id" | "plugin_id" | "resource_group" | "workspace_id"> & {
    options: string;
  },
  key: string,
): void {
  const stored = {
    trusted_account_id: existing.trusted_account_id,
    plugin_id: existing.plugin_id,
    resource_group: existing.resource_group,
    workspace_id: existing.workspace_id,
    options: canonicalJson(JSON.parse(existing.options ?? "{}") as JsonValue),
  };
  const differing = (Object.keys(wanted) as (keyof typeof wanted)[]).filter((k) => stored[k] !== wanted[k]);
  if (differing.length > 0) {
    throw errors.invalidParameter(
      "idempotency_key",
      `${key} was already used for ${existing.job_id} with a different ${differing.join(", ")}; use a new key for a new job`,
    );
  }
}

/** JSON with object keys sorted, so two spellings of the same options compare equal. */
function canonicalJson(value: JsonValue): string {
  const sort = (v: JsonValue): JsonValue => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === "object") {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sort(v[k] as JsonValue)]),
      );
    }
    return v;
  };
  return JSON.stringify(sort(value));
}
