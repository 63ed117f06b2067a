/**
 * The job state machine as one table: which action may happen in which state, and what it leads
 * to. Pure (no storage, no clock), so every transition and every refusal is checked here and only
 * here; `job-transition.ts` writes what this decides.
 *
 * Upstream (docs/compatibility.md, "Jobs and their lifecycle") has the same five statuses but no rules: any writer sets any status. Ours:
 *
 *   PENDING ──start──► IN_PROGRESS ──succeed──► SUCCESS
 *      │                   │ ├──fail──► FAILURE
 *      │                   │ └──cancel──► IN_PROGRESS + cancel requested ──fail (confirm)──► CANCELED
 *      ├──cancel──► CANCELED                                       └──time_out (grace)──► CANCELED
 *      ├──duplicate (create) / time_out (never started)──► FAILURE
 *   IN_PROGRESS ──supersede (duplicate rule) ──► CANCELED;  ──time_out (heartbeat lost)──► FAILURE
 *
 * SUCCESS, FAILURE and CANCELED are final.
 */

import type { JobStatus } from "../catalogue/job-fields.js";
import { SpaceOneError } from "../errors.js";

export const FINAL_STATUSES: readonly JobStatus[] = ["SUCCESS", "FAILURE", "CANCELED"];

/**
 * What can happen to a job. The first six are rpcs of JobLifecycle; the rest are done by the
 * service itself: `duplicate` and `supersede` by upstream's duplicate rule at create, `time_out`
 * by the reaper.
 */
export type JobAction =
  | "create"
  | "start"
  | "report_progress"
  | "succeed"
  | "fail"
  | "cancel"
  | "duplicate"
  | "supersede"
  | "time_out";

/** A job's state as the machine sees it: the status, and for a running job whether a cancel is pending. */
export interface JobState {
  readonly status: JobStatus;
  readonly cancelRequested: boolean;
}

/**
 * What an allowed action does:
 * - `move`: the status changes (and the change is recorded as an event);
 * - `request_cancel`: the status stays IN_PROGRESS, the cancel request is recorded (an event);
 * - `stay`: a write that is not a state change (progress; no event);
 * - `noop`: nothing to write (a repeated cancel): the caller answers with the job as it is.
 */
export type Outcome =
  | { readonly kind: "move"; readonly to: JobStatus }
  | { readonly kind: "request_cancel" }
  | { readonly kind: "stay" }
  | { readonly kind: "noop" };

/** IN_PROGRESS with a cancel pending is its own row of the table. */
type StateKey = JobStatus | "CANCEL_REQUESTED";

const move = (to: JobStatus): Outcome => ({ kind: "move", to });
const STAY: Outcome = { kind: "stay" };
const NOOP: Outcome = { kind: "noop" };
const REQUEST_CANCEL: Outcome = { kind: "request_cancel" };

/** Action -> state -> outcome. A missing entry is an illegal transition. */
const TRANSITIONS: Record<Exclude<JobAction, "create">, Partial<Record<StateKey, Outcome>>> = {
  start: { PENDING: move("IN_PROGRESS") },
  report_progress: { IN_PROGRESS: STAY, CANCEL_REQUESTED: STAY },
  // A worker that finishes before it notices the cancel request reports the truth: SUCCESS.
  succeed: { IN_PROGRESS: move("SUCCESS"), CANCEL_REQUESTED: move("SUCCESS") },
  // With a cancel pending, the worker stopping (fail) is the confirmation: the job ends CANCELED.
  fail: { IN_PROGRESS: move("FAILURE"), CANCEL_REQUESTED: move("CANCELED") },
  // Cancelling again (a retry, a second click) changes nothing and is not an error.
  cancel: { PENDING: move("CANCELED"), IN_PROGRESS: REQUEST_CANCEL, CANCEL_REQUESTED: NOOP, CANCELED: NOOP },
  duplicate: { PENDING: move("FAILURE") },
  supersede: { IN_PROGRESS: move("CANCELED"), CANCEL_REQUESTED: move("CANCELED") },
  // Never started / heartbeat lost is a failure; a job whose cancel went unconfirmed ends CANCELED.
  time_out: { PENDING: move("FAILURE"), IN_PROGRESS: move("FAILURE"), CANCEL_REQUESTED: move("CANCELED") },
};

/** How each action reads in the refusal message. */
const VERBS: Record<Exclude<JobAction, "create">, string> = {
  start: "start",
  report_progress: "report progress on",
  succeed: "succeed",
  fail: "fail",
  cancel: "cancel",
  duplicate: "mark as duplicate",
  supersede: "supersede",
  time_out: "time out",
};

function keyOf(state: JobState): StateKey {
  return state.status === "IN_PROGRESS" && state.cancelRequested ? "CANCEL_REQUESTED" : state.status;
}

/** The outcome of `action` in `state`, or null when the state machine does not allow it. */
export function outcomeOf(state: JobState, action: Exclude<JobAction, "create">): Outcome | null {
  return TRANSITIONS[action][keyOf(state)] ?? null;
}

/**
 * The outcome of `action` in `state`; throws `failed_precondition` (ERROR_JOB_STATE) naming the
 * current state when it is not allowed.
 */
export function transition(jobId: string, state: JobState, action: Exclude<JobAction, "create">): Outcome {
  const outcome = outcomeOf(state, action);
  if (outcome === null) throw illegalTransition(jobId, state, action);
  return outcome;
}

export function illegalTransition(
  jobId: string,
  state: JobState,
  action: Exclude<JobAction, "create">,
): SpaceOneError {
  const pending = state.status === "IN_PROGRESS" && state.cancelRequested ? ", cancel_requested = true" : "";
  return new SpaceOneError(
    "ERROR_JOB_STATE",
    "failed_precondition",
    `Cannot ${VERBS[action]} a job that is ${state.status}. (job_id = ${jobId}, status = ${state.status}${pending})`,
    { reason: "JOB_STATE", status: state.status },
  );
}

export function isFinal(status: JobStatus): boolean {
  return FINAL_STATUSES.includes(status);
}
