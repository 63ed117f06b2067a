/**
 * The state machine table, cell by cell: every action in every state, allowed or refused. The
 * expected table is written out here independently of `job-state.ts`, from docs/lifecycle.md.
 */
import { describe, expect, it } from "vitest";
import { SpaceOneError } from "../src/errors.js";
import {
  type JobAction,
  type JobState,
  type Outcome,
  outcomeOf,
  transition,
} from "../src/service/job-state.js";

const STATES: Record<string, JobState> = {
  PENDING: { status: "PENDING", cancelRequested: false },
  IN_PROGRESS: { status: "IN_PROGRESS", cancelRequested: false },
  CANCEL_REQUESTED: { status: "IN_PROGRESS", cancelRequested: true },
  SUCCESS: { status: "SUCCESS", cancelRequested: false },
  FAILURE: { status: "FAILURE", cancelRequested: false },
  CANCELED: { status: "CANCELED", cancelRequested: false },
};

type Cell = Outcome | null;
const to = (status: JobState["status"]): Cell => ({ kind: "move", to: status });
const stay: Cell = { kind: "stay" };
const noop: Cell = { kind: "noop" };
const request: Cell = { kind: "request_cancel" };
const no = null;

// action: PENDING, IN_PROGRESS, CANCEL_REQUESTED, SUCCESS, FAILURE, CANCELED
const EXPECTED: Record<Exclude<JobAction, "create">, Cell[]> = {
  start: [to("IN_PROGRESS"), no, no, no, no, no],
  report_progress: [no, stay, stay, no, no, no],
  succeed: [no, to("SUCCESS"), to("SUCCESS"), no, no, no],
  fail: [no, to("FAILURE"), to("CANCELED"), no, no, no],
  cancel: [to("CANCELED"), request, noop, no, no, noop],
  duplicate: [to("FAILURE"), no, no, no, no, no],
  supersede: [no, to("CANCELED"), to("CANCELED"), no, no, no],
  time_out: [to("FAILURE"), to("FAILURE"), to("CANCELED"), no, no, no],
};

const cells = Object.entries(EXPECTED).flatMap(([action, row]) =>
  Object.keys(STATES).map(
    (state, i) => [action as Exclude<JobAction, "create">, state, row[i] ?? null] as const,
  ),
);

describe("job state machine", () => {
  it.each(cells)("%s in %s", (action, stateName, expected) => {
    const state = STATES[stateName] as JobState;
    expect(outcomeOf(state, action)).toEqual(expected);
    if (expected !== null) {
      expect(transition("job-x", state, action)).toEqual(expected);
      return;
    }
    let error: unknown;
    try {
      transition("job-x", state, action);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SpaceOneError);
    const e = error as SpaceOneError;
    expect(e.code).toBe("ERROR_JOB_STATE");
    expect(e.status).toBe("failed_precondition");
    // The message names the current state (and a pending cancel).
    expect(e.message).toContain(`is ${state.status}.`);
    expect(e.message).toContain(`status = ${state.status}`);
    if (stateName === "CANCEL_REQUESTED") expect(e.message).toContain("cancel_requested = true");
  });

  it("never leaves a final state", () => {
    for (const name of ["SUCCESS", "FAILURE"]) {
      for (const action of Object.keys(EXPECTED) as Exclude<JobAction, "create">[]) {
        expect(outcomeOf(STATES[name] as JobState, action)).toBeNull();
      }
    }
    for (const action of Object.keys(EXPECTED) as Exclude<JobAction, "create">[]) {
      const outcome = outcomeOf(STATES.CANCELED as JobState, action);
      expect(outcome === null || outcome.kind === "noop").toBe(true);
    }
  });
});
