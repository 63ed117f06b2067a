/**
 * The live view of `jobctl watch` on a terminal: one progress bar per running job (percent, step,
 * records, records per second, ETA), added when a job appears and replaced by a one-line result when
 * it finishes, all redrawn in place by cli-progress's MultiBar.
 */
import cliProgress from "cli-progress";
import type { JobJson } from "./job-columns.js";
import type { Terminal } from "./terminal.js";
import { humanDuration } from "./time.js";

interface Tracked {
  readonly bar: cliProgress.SingleBar;
  records: number;
  at: number;
  rate: number;
}

const num = (v: unknown) => (typeof v === "number" ? v : typeof v === "string" && v !== "" ? Number(v) : 0);

export class ProgressBoard {
  private readonly bars: cliProgress.MultiBar;
  private readonly jobs = new Map<string, Tracked>();

  constructor(
    private readonly terminal: Terminal,
    stream: NodeJS.WritableStream,
    private readonly now: () => number,
  ) {
    const p = terminal.paint;
    this.bars = new cliProgress.MultiBar(
      {
        stream,
        format: `{job} ${p.cyan("{bar}")} {percentage}% | {step} | {records} | {rate} | ETA {eta_formatted}`,
        barsize: Math.max(10, Math.min(30, terminal.width - 90)),
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        etaBuffer: 20,
        fps: 10,
        autopadding: true,
        forceRedraw: true,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  /** A job as it now is: a bar while it runs, a line when it finished. */
  update(job: JobJson): void {
    const tracked = this.jobs.get(job.job_id);
    const status = job.status ?? "";
    if (status === "SUCCESS" || status === "FAILURE" || status === "CANCELED") {
      if (tracked) {
        this.bars.remove(tracked.bar);
        this.jobs.delete(job.job_id);
      }
      this.log(job);
      return;
    }
    const percent = Math.floor(num(job.progress_percent));
    const records = num(job.records_processed);
    const payload = (t: Tracked | undefined) => ({
      job: job.job_id,
      step: (job.current_step as string | undefined) || status.toLowerCase(),
      records: job.records_total ? `${records}/${num(job.records_total)} records` : `${records} records`,
      rate: t && t.rate > 0 ? `${t.rate.toFixed(1)}/s` : "-/s",
    });
    if (!tracked) {
      const entry: Tracked = {
        bar: this.bars.create(100, percent, payload(undefined)),
        records,
        at: this.now(),
        rate: 0,
      };
      this.jobs.set(job.job_id, entry);
      return;
    }
    const t = this.now();
    if (records > tracked.records && t > tracked.at) {
      const instant = ((records - tracked.records) * 1000) / (t - tracked.at);
      tracked.rate = tracked.rate === 0 ? instant : 0.7 * tracked.rate + 0.3 * instant;
      tracked.records = records;
      tracked.at = t;
    }
    tracked.bar.update(percent, payload(tracked));
  }

  /** A line above the bars. */
  log(job: JobJson): void {
    const p = this.terminal.paint;
    const status = job.status ?? "";
    const mark = status === "SUCCESS" ? p.green("✔") : status === "FAILURE" ? p.red("✖") : p.gray("■");
    const took = job.duration_seconds !== undefined ? ` in ${humanDuration(num(job.duration_seconds))}` : "";
    const why = job.error_message ? `: ${job.error_message}` : "";
    this.bars.log(`${mark} ${job.job_id} ${status}${took}${why}\n`);
  }

  message(text: string): void {
    this.bars.log(`${text}\n`);
  }

  stop(): void {
    this.bars.stop();
  }
}
