/**
 * What a caller hears when the job they name is not there. Upstream's message lists the lookup keys
 * and values of the caller's own scope (docs/compatibility.md, "Errors"), so it reveals nothing about other tenants. A job
 * that retention purged within the tombstone period (JOB_TOMBSTONE_DAYS) answers differently: still
 * `not_found`, but saying it expired, with meta `reason: EXPIRED` (a header on the wire) against
 * `reason: NOT_FOUND` for ids that never existed. A client polling an old id then knows to stop
 * (peer survey: Celery's PENDING-for-unknown, Google's bare 404 after expiry).
 */
import { errors, SpaceOneError } from "../errors.js";
import type { Condition } from "../query/ast.js";
import type { JobTombstoneRow } from "../storage/schema.js";
import { type Scope, scopeConditions } from "./job-rules.js";

/** Longest job id accepted (upstream ids are 16 characters; the column allows 40). */
export const MAX_JOB_ID = 64;

/** Looks up a purged job's tombstone within a scope. */
export type TombstoneLookup = (
  jobId: string,
  scope: readonly Condition[],
) => Promise<JobTombstoneRow | undefined>;

/** The request's `job_id`, trimmed as upstream trims strings; missing or blank is ERROR_REQUIRED_PARAMETER. */
export function requireJobId(raw: string | undefined): string {
  const jobId = raw?.trim();
  if (!jobId) throw errors.requiredParameter("job_id");
  if (jobId.length > MAX_JOB_ID)
    throw errors.invalidParameter("job_id", `longer than ${MAX_JOB_ID} characters`);
  // No job id holds one, and PostgreSQL text cannot carry it: refused alike on both backends.
  if (jobId.includes("\u0000")) throw errors.invalidParameter("job_id", "contains a NUL character");
  return jobId;
}

export function expiredError(jobId: string, tombstone: JobTombstoneRow): SpaceOneError {
  return new SpaceOneError(
    "ERROR_NOT_FOUND",
    "not_found",
    `Resource has expired: it was purged after the retention period. (job_id = ${jobId}, status = ${tombstone.status}, ` +
      `finished_at = ${tombstone.finished_at ?? "-"}, purged_at = ${tombstone.purged_at})`,
    { reason: "EXPIRED", purged_at: tombstone.purged_at },
  );
}

/** The error for a job not found in `scope`: expired when a tombstone says so, else upstream's not found. */
export async function missingJob(
  jobId: string,
  scope: Scope,
  tombstones?: TombstoneLookup,
): Promise<SpaceOneError> {
  const tombstone = await tombstones?.(jobId, scopeConditions(scope));
  if (tombstone) return expiredError(jobId, tombstone);
  const meta = { reason: "NOT_FOUND" };
  return scope.workspaceId === null
    ? errors.notFound("('job_id', 'domain_id')", `('${jobId}', '${scope.domainId}')`, meta)
    : errors.notFound(
        "('job_id', 'domain_id', 'workspace_id')",
        `('${jobId}', '${scope.domainId}', '${scope.workspaceId}')`,
        meta,
      );
}
