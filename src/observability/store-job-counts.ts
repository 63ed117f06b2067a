/**
 * The counts behind `job_service_jobs{status}` and `job_service_domains`, on the job store: two
 * aggregate reads in one snapshot. Each walks an index (not the table) once; `job-counts.ts` caches
 * the answer so a scrape never pays for it more than once per JOB_COUNTS_MAX_AGE_SECONDS.
 */
import { sql } from "kysely";
import { builder } from "../storage/dialect/sqlite.js";
import type { JobStore } from "../storage/job-store.js";
import type { CountJobs, JobCounts } from "./job-counts.js";

export function storeJobCounts(store: JobStore): CountJobs {
  const byStatus = builder
    .selectFrom("jobs")
    .select(["status", sql<number>`count(*)`.as("n")])
    .groupBy("status")
    .compile();
  const domains = builder.selectFrom("jobs").select(sql<number>`count(DISTINCT domain_id)`.as("n")).compile();
  return (): JobCounts =>
    store.snapshot(() => ({
      byStatus: Object.fromEntries(
        store.all<{ status: string; n: number }>(byStatus).map((row) => [row.status, row.n]),
      ),
      domains: store.one<{ n: number }>(domains)?.n ?? 0,
    }));
}
