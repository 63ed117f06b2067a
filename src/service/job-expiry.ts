/**
 * "Expired" versus "never existed". Retention replaces a purged job by a tombstone for a while
 * (JOB_TOMBSTONE_DAYS); until the tombstone goes too, asking for the job answers `not_found` with
 * a message (and error meta `reason: EXPIRED`) that says it was purged, instead of the bare
 * "cannot be found" every unknown id gets. A client polling an old job id then knows to stop, not
 * to wonder (peer survey: Celery's PENDING-for-unknown, Google's bare 404 after expiry).
 *
 * The tombstone is looked up in the caller's own scope, so it reveals nothing the job itself would
 * not have shown them.
 */
import type { Principal } from "../auth/principal.js";
import { SpaceOneError } from "../errors.js";
import type { JobStore } from "../storage/job-store.js";
import type { LifecycleStore } from "../storage/lifecycle-store.js";
import type { JobTombstoneRow } from "../storage/schema.js";
import { authorize, type JobMethod, type Scope, scopeConditions } from "./job-rules.js";
import { type JobRequest, JobService, type JobServiceOptions } from "./job-service.js";
import type { JobView } from "./job-view.js";

export function expiredError(jobId: string, tombstone: JobTombstoneRow): SpaceOneError {
  return new SpaceOneError(
    "ERROR_NOT_FOUND",
    "not_found",
    `Resource has expired: it was purged after the retention period. (job_id = ${jobId}, status = ${tombstone.status}, ` +
      `finished_at = ${tombstone.finished_at ?? "-"}, purged_at = ${tombstone.purged_at})`,
    { reason: "EXPIRED", purged_at: tombstone.purged_at },
  );
}

/**
 * Upstream's not-found message (spec §4.2: the lookup keys and values, the caller's own scope), or
 * the expired answer when the job was purged within the tombstone period.
 */
export function missingJob(lifecycle: LifecycleStore, jobId: string, scope: Scope): SpaceOneError {
  const tombstone = lifecycle.tombstone(jobId, scopeConditions(scope));
  if (tombstone) return expiredError(jobId, tombstone);
  const meta = { reason: "NOT_FOUND" };
  return scope.workspaceId === null
    ? notFound("('job_id', 'domain_id')", `('${jobId}', '${scope.domainId}')`, meta)
    : notFound(
        "('job_id', 'domain_id', 'workspace_id')",
        `('${jobId}', '${scope.domainId}', '${scope.workspaceId}')`,
        meta,
      );
}

function notFound(key: string, value: string, meta: Record<string, string>): SpaceOneError {
  return new SpaceOneError(
    "ERROR_NOT_FOUND",
    "not_found",
    `Resource cannot be found or access is denied. (${key} = ${value})`,
    meta,
  );
}

/** The read API's `get` and `delete`, answering "expired" for purged jobs. */
export class ExpiryAwareJobService extends JobService {
  constructor(
    store: JobStore,
    options: JobServiceOptions,
    private readonly lifecycle: LifecycleStore,
  ) {
    super(store, options);
  }

  override get(principal: Principal, request: JobRequest): JobView {
    try {
      return super.get(principal, request);
    } catch (error) {
      throw this.explain(error, principal, "get", request);
    }
  }

  override delete(principal: Principal, request: JobRequest): void {
    try {
      super.delete(principal, request);
    } catch (error) {
      throw this.explain(error, principal, "delete", request);
    }
  }

  private explain(error: unknown, principal: Principal, method: JobMethod, request: JobRequest): unknown {
    if (!(error instanceof SpaceOneError) || error.code !== "ERROR_NOT_FOUND") return error;
    const jobId = request.job_id?.trim() ?? "";
    const tombstone = this.lifecycle.tombstone(jobId, scopeConditions(authorize(principal, method)));
    return tombstone ? expiredError(jobId, tombstone) : error;
  }
}
