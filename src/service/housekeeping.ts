/**
 * Runs the background passes (reaper, retention) on their intervals. A pass is never overlapped by
 * the next one (the next timer is set when a pass ends), a failing pass is logged and retried at the
 * next interval, and `stop()` aborts the running pass between batches and waits for it, so the
 * database can be closed safely afterwards. Timers are unref'd: they never keep the process alive.
 */

export interface HousekeepingTask {
  readonly name: string;
  /** 0 disables the task. */
  readonly intervalMs: number;
  readonly run: (signal: AbortSignal) => Promise<unknown>;
}

export interface HousekeepingLogger {
  info(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface Housekeeping {
  /** Stop scheduling, abort the running pass between batches, and wait for it to end. */
  stop(): Promise<void>;
}

export function startHousekeeping(
  tasks: readonly HousekeepingTask[],
  logger: HousekeepingLogger,
): Housekeeping {
  const abort = new AbortController();
  const timers = new Set<NodeJS.Timeout>();
  const running = new Set<Promise<void>>();

  const schedule = (task: HousekeepingTask) => {
    if (abort.signal.aborted) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      const pass = runOnce(task).finally(() => {
        running.delete(pass);
        schedule(task);
      });
      running.add(pass);
    }, task.intervalMs);
    timer.unref();
    timers.add(timer);
  };

  const runOnce = async (task: HousekeepingTask) => {
    const started = Date.now();
    try {
      const result = await task.run(abort.signal);
      // Quiet when there was nothing to do: a pass every 30 s must not flood the log.
      if (didSomething(result))
        logger.info({ task: task.name, result, ms: Date.now() - started }, "housekeeping pass");
    } catch (err) {
      logger.error({ task: task.name, err }, "housekeeping pass failed");
    }
  };

  for (const task of tasks) if (task.intervalMs > 0) schedule(task);

  return {
    async stop() {
      abort.abort();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.all([...running]);
    },
  };
}

/** True if a pass result (an object of counts) has any count above zero. */
function didSomething(result: unknown): boolean {
  if (typeof result !== "object" || result === null) return result !== undefined;
  return Object.values(result).some((v) => typeof v === "number" && v > 0);
}
