/** `jobctl get`: every field of one job, one per line, times with their relative form. */
import type { JobJson } from "./job-columns.js";
import { progressText, statusPainter } from "./job-columns.js";
import type { Terminal } from "./terminal.js";
import { humanDuration, relativeTime } from "./time.js";

const TIMES = new Set([
  "created_at",
  "updated_at",
  "started_at",
  "heartbeat_at",
  "finished_at",
  "cancel_requested_at",
]);

export function renderJobDetail(job: JobJson, terminal: Terminal, now: number): string {
  const p = terminal.paint;
  const lines: [string, string][] = [];
  for (const [key, value] of Object.entries(job)) {
    if (value === undefined || value === null || value === "") continue;
    let text: string;
    if (key === "status") text = statusPainter(terminal)(String(value), String(value));
    else if (TIMES.has(key)) text = `${value} ${p.dim(`(${relativeTime(String(value), now)})`)}`;
    else if (key === "duration_seconds") text = `${value} ${p.dim(`(${humanDuration(Number(value))})`)}`;
    else if (key === "progress_percent") text = progressText(job);
    else if (typeof value === "object") text = JSON.stringify(value);
    else text = String(value);
    lines.push([key, text]);
  }
  const width = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, v]) => `${p.bold(k.padEnd(width))}  ${v}`).join("\n");
}
