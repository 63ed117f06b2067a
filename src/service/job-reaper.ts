/**
 * The reaper: no job stays stuck. Upstream leaves a job PENDING for ever when no worker picks it up,
 * and IN_PROGRESS until the next sync of the same account more than 10 minutes later (spec §3.4,
 * §5 quirk 6). On every pass, through the state machine like any other writer:
 *
 * - PENDING for longer than the pending timeout -> FAILURE, ERROR_JOB_NOT_STARTED. A failure, not a
 *   cancel: nobody decided to stop the job; the system failed to run it, and that belongs in failure
 *   counts and alerts (upstream also marks a job it could not queue FAILURE).
 * - IN_PROGRESS whose last heartbeat (or start) is older than the heartbeat timeout -> FAILURE,
 *   ERROR_HEARTBEAT_LOST ("heartbeat lost").
 * - IN_PROGRESS with a cancel requested longer ago than the grace, or whose heartbeat stopped after
 *   the request -> CANCELED (the cancel is what the user asked for; the worker just never confirmed).
 *
 * Work is done in small transactions (`batchSize` jobs each), yielding to the event loop between them,
 * so a backlog never holds the write lock or the event loop for long.
 */
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { JobRow } from "../storage/schema.js";
import type { JobStore } from "../storage/store.js";
import { applyTransition } from "./job-transition.js";

export const REAPER_ACTOR = "service:reaper";

export interface ReaperOptions {
  readonly heartbeatTimeoutMs: number;
  readonly pendingTimeoutMs: number;
  readonly cancelGraceMs: number;
  /** Jobs finished per transaction. */
  readonly batchSize: number;
  readonly now?: () => Date;
}

export interface ReapResult {
  /** PENDING jobs never started -> FAILURE. */
  readonly notStarted: number;
  /** IN_PROGRESS jobs whose heartbeat stopped -> FAILURE. */
  readonly heartbeatLost: number;
  /** Cancel-requested jobs the worker never confirmed -> CANCELED. */
  readonly canceled: number;
}

interface Finding {
  readonly reason: string;
  readonly errorCode: string | null;
}

export class JobReaper {
  private readonly now: () => Date;

  constructor(
    private readonly store: JobStore,
    private readonly options: ReaperOptions,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /** One pass over every stuck job. Stops early (between batches) when `signal` aborts. */
  async run(signal?: AbortSignal): Promise<ReapResult> {
    const totals = { notStarted: 0, heartbeatLost: 0, canceled: 0 };
    for (;;) {
      const batch = await this.reapBatch();
      totals.notStarted += batch.notStarted;
      totals.heartbeatLost += batch.heartbeatLost;
      totals.canceled += batch.canceled;
      const done = batch.notStarted + batch.heartbeatLost + batch.canceled < this.options.batchSize;
      if (done || signal?.aborted) return totals;
      await yieldToEventLoop();
    }
  }

  /** Finish up to `batchSize` stuck jobs in one transaction. */
  reapBatch(): Promise<ReapResult> {
    return this.store.write(async (tx) => {
      const nowDate = this.now();
      const now = nowDate.toISOString();
      const before = (ms: number) => new Date(nowDate.getTime() - ms).toISOString();
      const cutoffs = {
        pendingBefore: before(this.options.pendingTimeoutMs),
        heartbeatBefore: before(this.options.heartbeatTimeoutMs),
        cancelRequestedBefore: before(this.options.cancelGraceMs),
      };
      const result = { notStarted: 0, heartbeatLost: 0, canceled: 0 };
      for (const row of await tx.stale(cutoffs, this.options.batchSize)) {
        const finding = this.diagnose(row, cutoffs.cancelRequestedBefore);
        const { row: after } = await applyTransition(tx, row, "time_out", {
          now,
          actor: REAPER_ACTOR,
          reason: finding.reason,
          patch: (outcome) =>
            outcome.kind === "move" && outcome.to === "FAILURE" && finding.errorCode !== null
              ? { error_code: finding.errorCode, error_message: finding.reason }
              : {},
        });
        if (after.status === "CANCELED") result.canceled++;
        else if (row.status === "PENDING") result.notStarted++;
        else result.heartbeatLost++;
      }
      return result;
    });
  }

  private diagnose(row: JobRow, cancelRequestedBefore: string): Finding {
    const seconds = (ms: number) => Math.round(ms / 1000);
    if (row.status === "PENDING") {
      return {
        reason: `No worker started the job within ${seconds(this.options.pendingTimeoutMs)} s.`,
        errorCode: "ERROR_JOB_NOT_STARTED",
      };
    }
    if (row.cancel_requested_at) {
      return row.cancel_requested_at < cancelRequestedBefore
        ? {
            reason: `The worker did not confirm the cancel requested at ${row.cancel_requested_at} within ${seconds(this.options.cancelGraceMs)} s.`,
            errorCode: null,
          }
        : { reason: "Heartbeat lost after a cancel was requested.", errorCode: null };
    }
    const last = row.heartbeat_at ?? row.started_at ?? row.created_at;
    return {
      reason: `Heartbeat lost: no report from the worker since ${last} (timeout ${seconds(this.options.heartbeatTimeoutMs)} s).`,
      errorCode: "ERROR_HEARTBEAT_LOST",
    };
  }
}
