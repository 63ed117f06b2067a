/** The columns of `jobctl list` and `-o wide`, on proto-JSON jobs (`toJson(JobInfo)`, field names). */
import type { Column } from "./table.js";
import type { Terminal } from "./terminal.js";
import { humanDuration, relativeTime } from "./time.js";

/** A job as proto JSON (snake_case field names): what json/yaml print, and what tables read. */
export type JobJson = Record<string, unknown> & { job_id: string; status?: string };

export function statusPainter(terminal: Terminal): (text: string, status: string | undefined) => string {
  const p = terminal.paint;
  return (text, status) => {
    switch (status) {
      case "SUCCESS":
        return p.green(text);
      case "FAILURE":
        return p.red(text);
      case "CANCELED":
        return p.gray(text);
      case "IN_PROGRESS":
        return p.cyan(text);
      case "PENDING":
        return p.yellow(text);
      default:
        return text;
    }
  };
}

const str = (v: unknown) => (v === undefined || v === null ? "" : String(v));
const num = (v: unknown) =>
  typeof v === "number" ? v : typeof v === "string" && v !== "" ? Number(v) : undefined;

export function progressText(job: JobJson): string {
  const percent = num(job.progress_percent);
  if (job.status === "SUCCESS") return "100%";
  if (percent === undefined) return job.status === "IN_PROGRESS" ? "…" : "";
  return `${Math.floor(percent)}%`;
}

export function jobColumns(terminal: Terminal, now: number, wide: boolean): Column<JobJson>[] {
  const status = statusPainter(terminal);
  const columns: Column<JobJson>[] = [
    { header: "JOB_ID", text: (j) => j.job_id },
    {
      header: "STATUS",
      text: (j) =>
        str(j.status) + (j.cancel_requested_at && j.status === "IN_PROGRESS" ? " (canceling)" : ""),
      paint: (t, j) => status(t, j.status),
    },
    { header: "ACCOUNT", text: (j) => str(j.trusted_account_id), flex: { min: 10 }, dropOrder: 0 },
    { header: "PLUGIN", text: (j) => str(j.plugin_id), flex: { min: 10 }, dropOrder: 3 },
    { header: "WORKSPACE", text: (j) => str(j.workspace_id), flex: { min: 8 }, dropOrder: 4 },
    { header: "PROGRESS", text: progressText, align: "right", dropOrder: 2 },
    { header: "DURATION", text: (j) => humanDuration(num(j.duration_seconds)), dropOrder: 5 },
    { header: "CREATED", text: (j) => relativeTime(str(j.created_at), now), dropOrder: 1 },
  ];
  if (!wide) return columns;
  return [
    ...columns,
    { header: "DOMAIN", text: (j) => str(j.domain_id), flex: { min: 8 }, dropOrder: 9 },
    { header: "STEP", text: (j) => str(j.current_step), flex: { min: 8 }, dropOrder: 8 },
    {
      header: "RECORDS",
      text: (j) => {
        const done = num(j.records_processed);
        const total = num(j.records_total);
        if (done === undefined) return "";
        return total ? `${done}/${total}` : String(done);
      },
      align: "right",
      dropOrder: 7,
    },
    { header: "FINISHED", text: (j) => relativeTime(str(j.finished_at), now), dropOrder: 6 },
    {
      header: "ERROR",
      text: (j) => [str(j.error_code), str(j.error_message)].filter(Boolean).join(": "),
      flex: { min: 10 },
      dropOrder: 10,
    },
  ];
}
