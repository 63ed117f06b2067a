/**
 * `job_service_jobs{status}` and `job_service_domains`: counted by the database, at most once per
 * `maxAgeMs` however often Prometheus scrapes (a GROUP BY over 1M jobs costs tens of milliseconds;
 * per scrape, with several scrapers, that would add up). Between refreshes a scrape reads the cache;
 * `job_service_job_counts_age_seconds` says how old it is. Concurrent scrapes share one refresh.
 */
import client from "prom-client";
import { METRIC_PREFIX } from "./metrics.js";

export interface JobCounts {
  /** Jobs per status (statuses with no job may be absent). */
  readonly byStatus: Readonly<Record<string, number>>;
  /** Distinct domains that have at least one job. */
  readonly domains: number;
}

export type CountJobs = () => JobCounts | Promise<JobCounts>;

/** Every status a job can have, so a status that drops to zero jobs reads 0 rather than vanishing. */
const STATUSES = ["PENDING", "IN_PROGRESS", "SUCCESS", "FAILURE", "CANCELED"] as const;

export interface JobCountsOptions {
  readonly registry: client.Registry;
  readonly count: CountJobs;
  /** How long one count is served before the next scrape recounts. */
  readonly maxAgeMs: number;
  readonly now?: () => number;
}

export function registerJobCounts(options: JobCountsOptions): void {
  const now = options.now ?? Date.now;
  let cached: { counts: JobCounts; at: number } | undefined;
  let refreshing: Promise<JobCounts> | undefined;

  const current = async (): Promise<JobCounts> => {
    if (cached && now() - cached.at < options.maxAgeMs) return cached.counts;
    refreshing ??= (async () => {
      try {
        const counts = await options.count();
        cached = { counts, at: now() };
        return counts;
      } finally {
        refreshing = undefined;
      }
    })();
    return refreshing;
  };

  const registers = [options.registry];
  new client.Gauge({
    name: `${METRIC_PREFIX}jobs`,
    help: "Jobs stored, by status (counted at most once per JOB_COUNTS_MAX_AGE_SECONDS).",
    labelNames: ["status"],
    registers,
    async collect() {
      const counts = await current();
      for (const status of STATUSES) this.set({ status }, counts.byStatus[status] ?? 0);
    },
  });
  new client.Gauge({
    name: `${METRIC_PREFIX}domains`,
    help: "Domains with at least one job stored (counted with job_service_jobs).",
    registers,
    async collect() {
      this.set((await current()).domains);
    },
  });
  new client.Gauge({
    name: `${METRIC_PREFIX}job_counts_age_seconds`,
    help: "Age of the counts behind job_service_jobs and job_service_domains.",
    registers,
    async collect() {
      await current();
      this.set(cached ? (now() - cached.at) / 1000 : 0);
    },
  });
}
