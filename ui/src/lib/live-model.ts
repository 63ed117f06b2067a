/**
 * The Live view's state, kept outside the components so it can be tested: the running jobs by id,
 * the ones that finished while the page watched, and the samples that give each job's rate and ETA.
 * Events come from `JobLifecycle.watch`; this module knows their meaning, not the wire.
 */

/** The fields of a job the Live view reads (the generated JobInfo fits). */
export interface LiveJob {
  readonly jobId: string;
  readonly status: string;
  readonly pluginId: string;
  readonly trustedAccountId: string;
  readonly workspaceId: string;
  readonly createdAt: string;
  readonly progressPercent?: number | undefined;
  readonly currentStep: string;
  readonly recordsProcessed?: number | undefined;
  readonly recordsTotal?: number | undefined;
  readonly cancelRequestedAt: string;
  readonly version: number;
}

export type LiveEventType = "SNAPSHOT" | "SYNCED" | "CREATED" | "UPDATED" | "DELETED" | "HEARTBEAT";

export interface LiveEvent<J extends LiveJob = LiveJob> {
  readonly type: LiveEventType;
  readonly job?: J | undefined;
  /** False when an UPDATED job stopped matching the watch (it finished). */
  readonly matches: boolean;
}

interface Sample {
  readonly at: number;
  readonly percent: number | undefined;
  readonly records: number | undefined;
}

export interface LiveRow<J extends LiveJob = LiveJob> {
  readonly job: J;
  /** Records per second over the recent samples, or null when it cannot be told yet. */
  readonly rate: number | null;
  /** Seconds left, from records (preferred) or from the progress percentage; null when unknown. */
  readonly etaSeconds: number | null;
  /** When the page saw it finish (finished rows only). */
  readonly finishedAt?: number;
}

/** How far back the rate looks: long enough to smooth bursts, short enough to follow changes. */
const RATE_WINDOW_MS = 30_000;
/** Most samples kept per job. */
const MAX_SAMPLES = 32;
/** Finished jobs shown below the running ones. */
export const MAX_FINISHED = 20;

const RUNNING = new Set(["PENDING", "IN_PROGRESS"]);

export class LiveModel<J extends LiveJob = LiveJob> {
  private readonly running = new Map<string, { job: J; samples: Sample[] }>();
  private finished: { job: J; finishedAt: number }[] = [];
  /** True once the snapshot is complete (SYNCED), until a restart. */
  synced = false;

  /** A fresh snapshot follows (first connection, or a cursor too old to resume). */
  reset(): void {
    this.running.clear();
    this.synced = false;
  }

  apply(event: LiveEvent<J>, nowMs: number): void {
    if (event.type === "SYNCED") {
      this.synced = true;
      return;
    }
    if (event.type === "HEARTBEAT" || !event.job) return;
    const job = event.job;
    if (event.type === "DELETED") {
      this.running.delete(job.jobId);
      this.finished = this.finished.filter((f) => f.job.jobId !== job.jobId);
      return;
    }
    const previous = this.running.get(job.jobId);
    if (previous && job.version < previous.job.version) return;
    if (!RUNNING.has(job.status) || !event.matches) {
      this.running.delete(job.jobId);
      if (!RUNNING.has(job.status)) {
        this.finished = [
          { job, finishedAt: nowMs },
          ...this.finished.filter((f) => f.job.jobId !== job.jobId),
        ].slice(0, MAX_FINISHED);
      }
      return;
    }
    const samples = previous?.samples ?? [];
    samples.push({ at: nowMs, percent: job.progressPercent, records: job.recordsProcessed });
    while (
      samples.length > MAX_SAMPLES ||
      (samples.length > 2 && nowMs - (samples[0]?.at ?? nowMs) > RATE_WINDOW_MS)
    ) {
      samples.shift();
    }
    this.running.set(job.jobId, { job, samples });
  }

  /** Running jobs, oldest first (they have been waiting longest). */
  runningRows(): LiveRow<J>[] {
    return [...this.running.values()]
      .map(({ job, samples }) => ({ job, ...rateAndEta(job, samples) }))
      .sort(
        (a, b) => a.job.createdAt.localeCompare(b.job.createdAt) || a.job.jobId.localeCompare(b.job.jobId),
      );
  }

  finishedRows(): LiveRow<J>[] {
    return this.finished.map(({ job, finishedAt }) => ({ job, rate: null, etaSeconds: null, finishedAt }));
  }

  get runningCount(): number {
    return this.running.size;
  }
}

/**
 * Rate from the oldest and newest samples in the window that carry records (a job's first samples,
 * before its worker reports, carry none); ETA from the records left at that rate, else from the
 * percentage left at the percentage's rate.
 */
export function rateAndEta(
  job: LiveJob,
  samples: readonly Sample[],
): { rate: number | null; etaSeconds: number | null } {
  const span = (pick: (s: Sample) => number | undefined) => {
    const known = samples.filter((s) => pick(s) !== undefined);
    const first = known[0];
    const last = known[known.length - 1];
    if (!first || !last || last.at <= first.at) return null;
    return { seconds: (last.at - first.at) / 1000, from: pick(first) ?? 0, to: pick(last) ?? 0 };
  };
  const records = span((s) => s.records);
  const rate = records && records.to > records.from ? (records.to - records.from) / records.seconds : null;
  if (rate !== null && job.recordsTotal !== undefined && records) {
    return { rate, etaSeconds: Math.max(0, (job.recordsTotal - records.to) / rate) };
  }
  const percent = span((s) => s.percent);
  if (percent && percent.to > percent.from) {
    return {
      rate,
      etaSeconds: Math.max(0, (100 - percent.to) / ((percent.to - percent.from) / percent.seconds)),
    };
  }
  return { rate, etaSeconds: null };
}
