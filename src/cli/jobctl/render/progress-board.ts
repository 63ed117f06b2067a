/**
 * The live view of `jobctl watch` on a terminal: one progress bar per running job (percent, step,
 * records, records per second, ETA), added when a job appears and replaced by a one-line result when
 * it finishes, all redrawn in place by cli-progress's MultiBar.
 */
import cliProgress from "cli-progress";
import type { JobJson } from "./job-columns.js";
import type { Terminal } from "./terminal.js";
import { humanDuration, shortDuration } from "./time.js";

/** A running job's bar and its first sighting, from which rate and ETA are averaged. */
interface Tracked {
  readonly bar: cliProgress.SingleBar;
  readonly percent0: number;
  readonly records0: number;
  readonly at0: number;
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
        format: `{job} ${p.cyan("{bar}")} {percentage}% | {step} | {records} | {rate} | ETA {remaining}`,
        // cli-progress cuts each line at the terminal width, counting colour codes: leave room.
        barsize: Math.max(10, Math.min(30, terminal.width - 100)),
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
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
    const now = this.now();
    const payload = (t: Tracked | undefined) => {
      const seconds = t ? (now - t.at0) / 1000 : 0;
      const rate = t && seconds > 0 && records > t.records0 ? (records - t.records0) / seconds : 0;
      const speed = t && seconds > 0 && percent > t.percent0 ? (percent - t.percent0) / seconds : 0;
      return {
        job: job.job_id,
        step: (job.current_step as string | undefined) || status.toLowerCase(),
        records: job.records_total ? `${records}/${num(job.records_total)} records` : `${records} records`,
        rate: rate > 0 ? `${rate.toFixed(1)}/s` : "-/s",
        remaining: speed > 0 ? shortDuration((100 - percent) / speed) : "-",
      };
    };
    if (!tracked) {
      const entry: Tracked = {
        bar: this.bars.create(100, percent, payload(undefined)),
        percent0: percent,
        records0: records,
        at0: now,
      };
      this.jobs.set(job.job_id, entry);
      return;
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
