/**
 * The one way a job's state is written: check the caller's expected version, ask the state machine
 * (`job-state.ts`) what the action does, then write the patch, bump the version and record the
 * event, all inside the caller's write transaction (`JobStore.write`). The rpcs, the
 * duplicate rule and the reaper all come through here, so none of them can skip a rule or forget
 * the timeline.
 */
import { SpaceOneError } from "../errors.js";
import { type MaybePromise, whenReady } from "../maybe-promise.js";
import type { JobRow } from "../storage/schema.js";
import type { JobPatch, LockedJob, WriteTx } from "../storage/store.js";
import { isFinal, type JobAction, type Outcome, transition } from "./job-state.js";

export interface TransitionOptions {
  /** ISO-8601 time of the change (from the injected clock). */
  readonly now: string;
  /** Who makes the change: `user:<id>`, `system:<id>`, `service:<name>`. */
  readonly actor: string;
  /** Why, for the timeline (a cancel reason, an error message, the reaper's finding). */
  readonly reason?: string | null;
  /** When set, the write is refused unless the job is still at this version. */
  readonly expectedVersion?: number | undefined;
  /** Columns the action sets besides status, timestamps and version, given what it turned out to do. */
  readonly patch?: (outcome: Outcome, row: LockedJob) => JobPatch;
}

export interface TransitionResult<R extends LockedJob> {
  /** The job after the action: the row written, or `row` as given when the action wrote nothing. */
  readonly row: R | JobRow;
  /** The row written; undefined when the action wrote nothing (`noop`). */
  readonly written: JobRow | undefined;
  readonly outcome: Outcome;
}

/**
 * Apply `action` to `row` (read in the same transaction: the whole row, or `WriteTx.lock`'s columns).
 * Throws ERROR_JOB_STATE or ERROR_VERSION_MISMATCH. Answers at once when the transaction does (SQLite):
 * every lifecycle write comes through here, so it chains with `whenReady` rather than awaiting.
 */
export function applyTransition<R extends LockedJob>(
  tx: WriteTx,
  row: R,
  action: Exclude<JobAction, "create">,
  options: TransitionOptions,
): MaybePromise<TransitionResult<R>> {
  const version = row.version ?? 1;
  if (options.expectedVersion !== undefined && options.expectedVersion !== version) {
    throw versionMismatch(row.job_id, options.expectedVersion, version);
  }
  const outcome = transition(
    row.job_id,
    { status: row.status, cancelRequested: !!row.cancel_requested_at },
    action,
  );
  if (outcome.kind === "noop") return { row, written: undefined, outcome };

  const patch: JobPatch = { ...options.patch?.(outcome, row), updated_at: options.now };
  if (outcome.kind === "move") {
    patch.status = outcome.to;
    if (outcome.to === "IN_PROGRESS") patch.started_at = options.now;
    if (isFinal(outcome.to)) patch.finished_at = options.now;
  }
  return whenReady(tx.update(row.job_id, version, patch), (updated) => {
    const result: TransitionResult<R> = { row: updated, written: updated, outcome };
    if (outcome.kind === "stay") return result;
    const appended = tx.appendEvent({
      job_id: row.job_id,
      action: outcome.kind === "request_cancel" ? "cancel_request" : action,
      from_status: row.status,
      to_status: updated.status,
      reason: options.reason ?? null,
      actor: options.actor,
      created_at: options.now,
    });
    return whenReady(appended, () => result);
  });
}

export function versionMismatch(jobId: string, expected: number, current: number): SpaceOneError {
  return new SpaceOneError(
    "ERROR_VERSION_MISMATCH",
    "aborted",
    `The job was changed by another writer; read it again and retry. (job_id = ${jobId}, expected_version = ${expected}, current_version = ${current})`,
    { reason: "VERSION_MISMATCH", current_version: String(current) },
  );
}
