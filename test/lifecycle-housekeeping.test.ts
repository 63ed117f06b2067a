/**
 * The housekeeping timers (fake timers, no sleeps): passes run on their interval, never overlap, a
 * failing pass is logged and retried, a disabled task never runs, and stop() aborts the running pass
 * and waits for it, so the database can be closed afterwards.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type HousekeepingLogger, startHousekeeping } from "../src/service/housekeeping.js";

function logger() {
  const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  const log: HousekeepingLogger = {
    info: (fields, message) => lines.push({ level: "info", fields, message }),
    error: (fields, message) => lines.push({ level: "error", fields, message }),
  };
  return { log, lines };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("housekeeping", () => {
  it("runs each pass on its interval without overlapping, and stop() waits for the running pass", async () => {
    let release: () => void = () => undefined;
    const signals: AbortSignal[] = [];
    const run = vi.fn((signal: AbortSignal) => {
      signals.push(signal);
      return new Promise<{ reaped: number }>((resolve) => {
        release = () => resolve({ reaped: 1 });
      });
    });
    const disabled = vi.fn(async () => ({}));
    const { log, lines } = logger();
    const housekeeping = startHousekeeping(
      [
        { name: "reaper", intervalMs: 1000, run },
        { name: "off", intervalMs: 0, run: disabled },
      ],
      log,
    );
    await vi.advanceTimersByTimeAsync(999);
    expect(run).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(run).toHaveBeenCalledTimes(1);
    // Still running: no second pass however long it takes.
    await vi.advanceTimersByTimeAsync(5000);
    expect(run).toHaveBeenCalledTimes(1);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(lines).toMatchObject([{ level: "info", fields: { task: "reaper", result: { reaped: 1 } } }]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(run).toHaveBeenCalledTimes(2);

    let stopped = false;
    const stopping = housekeeping.stop().then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(signals[1]?.aborted).toBe(true);
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(stopped).toBe(true);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(run).toHaveBeenCalledTimes(2);
    expect(disabled).not.toHaveBeenCalled();
  });

  it("logs a failing pass and tries again at the next interval; idle passes are not logged", async () => {
    const run = vi
      .fn<(signal: AbortSignal) => Promise<unknown>>()
      .mockRejectedValueOnce(new Error("disk full"))
      .mockResolvedValue({ purged: 0, tombstonesDropped: 0 });
    const { log, lines } = logger();
    const housekeeping = startHousekeeping([{ name: "retention", intervalMs: 100, run }], log);
    await vi.advanceTimersByTimeAsync(300);
    expect(run).toHaveBeenCalledTimes(3);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: "error",
      fields: { task: "retention" },
      message: "housekeeping pass failed",
    });
    await housekeeping.stop();
  });
});
