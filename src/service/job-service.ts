/**
 * The Job operations behind the API: authorize and scope the caller (job-rules), parse the
 * request into a typed query, run it through the store, shape the answer. Requests arrive as proto
 * JSON with proto field names (`job_id`, `query.filter[].k`); answers are plain views.
 */
import type { Principal } from "../auth/principal.js";
import { errors } from "../errors.js";
import type { Condition } from "../query/ast.js";
import type { QueryLimits } from "../query/cost.js";
import { JOB_STATUSES } from "../query/fields.js";
import { parseListQuery } from "../query/parse-query.js";
import type { JobStore } from "../storage/job-store.js";
import { missingJob, requireJobId, type TombstoneLookup } from "./job-missing.js";
import { authorize, scopeConditions } from "./job-rules.js";
import { runStat } from "./job-stat.js";
import { type JobView, type JsonObject, toJobView } from "./job-view.js";

export interface JobServiceOptions {
  readonly maxPageSize: number;
  /** The query cost model's bounds (query/cost.ts); its defaults when absent. */
  readonly queryLimits?: QueryLimits;
  /** Injected clock (timediff, tests). */
  readonly now?: () => Date;
  /** Tombstones of purged jobs, so `get` and `delete` can answer "expired" (job-missing.ts). */
  readonly tombstones?: TombstoneLookup;
}

export interface JobRequest {
  job_id?: string;
}

export interface JobsQueryRequest {
  query?: JsonObject;
  job_id?: string;
  status?: string;
  workspace_id?: string;
  trusted_account_id?: string;
  plugin_id?: string;
}

export interface JobStatRequest {
  query?: JsonObject;
}

export interface JobList {
  results: JobView[];
  total_count: number;
}

const SHORTCUT_FIELDS = ["job_id", "status", "trusted_account_id", "plugin_id"] as const;

export class JobService {
  private readonly now: () => Date;

  constructor(
    private readonly store: JobStore,
    private readonly options: JobServiceOptions,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  get(principal: Principal, request: JobRequest): JobView {
    const scope = authorize(principal, "get");
    const jobId = requireJobId(request.job_id);
    const row = this.store.get(jobId, scopeConditions(scope));
    if (!row) throw missingJob(jobId, scope, this.options.tombstones);
    return toJobView(row);
  }

  list(principal: Principal, request: JobsQueryRequest): JobList {
    const scope = authorize(principal, "list", request.workspace_id);
    const query = parseListQuery(
      request.query,
      { now: this.now(), maxPageSize: this.options.maxPageSize, limits: this.options.queryLimits },
      scope.rule.keywordFields,
    );
    const shortcuts: Condition[] = [];
    for (const name of SHORTCUT_FIELDS) {
      const value = request[name];
      // Unset proto3 fields are absent; the status enum's zero value NONE means "no filter" too.
      if (value === undefined || value === "" || (name === "status" && value === "NONE")) continue;
      if (name === "status" && !(JOB_STATUSES as readonly string[]).includes(value)) {
        throw errors.invalidParameter("status", `${value} is not one of ${JOB_STATUSES.join(", ")}`);
      }
      shortcuts.push({ op: "eq", field: { column: name, path: [], name }, value });
    }
    const result = this.store.list({
      ...query,
      where: { and: [...scopeConditions(scope), ...shortcuts, ...query.where.and], or: query.where.or },
      unpagedMax: this.options.maxPageSize,
    });
    if (result.kind === "too_many") {
      throw errors.invalidParameter(
        "query.page.limit",
        `${result.total} jobs match and a request without page.limit returns at most ${this.options.maxPageSize}; ` +
          `set query.page.limit (at most ${this.options.maxPageSize}) and page with query.page.start`,
      );
    }
    return { results: result.rows.map((row) => toJobView(row, query.only)), total_count: result.total };
  }

  delete(principal: Principal, request: JobRequest): void {
    const scope = authorize(principal, "delete");
    const jobId = requireJobId(request.job_id);
    if (!this.store.delete(jobId, scopeConditions(scope)))
      throw missingJob(jobId, scope, this.options.tombstones);
  }

  stat(principal: Principal, request: JobStatRequest): JsonObject {
    const scope = authorize(principal, "stat");
    return runStat(this.store, scopeConditions(scope), request, {
      now: this.now(),
      maxPageSize: this.options.maxPageSize,
      limits: this.options.queryLimits,
    });
  }
}
