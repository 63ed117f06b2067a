/**
 * Reaper and retention passes, counted: each numeric field of a pass's result (jobs finished per
 * finding, jobs and tombstones purged) becomes `job_service_housekeeping_actions_total{task,action}`,
 * and the pass's duration a histogram sample.
 */
import type { Metrics } from "./metrics.js";

export function instrumentPass<R extends object>(
  metrics: Metrics,
  task: "reaper" | "retention",
  run: (signal: AbortSignal) => Promise<R>,
): (signal: AbortSignal) => Promise<R> {
  return async (signal) => {
    const end = metrics.housekeepingDuration.startTimer({ task });
    try {
      const result = await run(signal);
      for (const [action, value] of Object.entries(result)) {
        if (typeof value === "number" && value > 0)
          metrics.housekeeping.inc({ task, action: snake(action) }, value);
      }
      return result;
    } finally {
      end();
    }
  };
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
