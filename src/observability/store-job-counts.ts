/**
 * The counts behind `job_service_jobs{status}` and `job_service_domains`: two stat pipelines over
 * every job (no scope), run through the store like any `stat`, so both backends answer them.
 * `job-counts.ts` caches the answer, so a scrape never pays for them more than once per
 * JOB_COUNTS_MAX_AGE_SECONDS.
 */
import type { JsonObject } from "@bufbuild/protobuf";
import { runStat } from "../service/job-stat.js";
import type { JobStore } from "../storage/store.js";
import type { CountJobs, JobCounts } from "./job-counts.js";

const byStatus: JsonObject = {
  aggregate: [
    { group: { keys: [{ key: "status", name: "status" }], fields: [{ operator: "count", name: "n" }] } },
  ],
};
const domains: JsonObject = {
  aggregate: [{ group: { keys: [{ key: "domain_id", name: "domain_id" }] } }, { count: { name: "n" } }],
};

/** Statuses and a count stage give a handful of rows; the cap only has to admit them. */
const MAX_ROWS = 100;

export function storeJobCounts(store: JobStore, now: () => Date = () => new Date()): CountJobs {
  return async (): Promise<JobCounts> => {
    const ctx = { now: now(), maxPageSize: MAX_ROWS };
    const statuses = await runStat(store, [], { query: byStatus }, ctx);
    const domainCount = await runStat(store, [], { query: domains }, ctx);
    const rows = (statuses.results ?? []) as { status: string; n: number }[];
    const [counted] = (domainCount.results ?? []) as { n: number }[];
    return {
      byStatus: Object.fromEntries(rows.map((row) => [row.status, row.n])),
      domains: counted?.n ?? 0,
    };
  };
}
