/**
 * The Job operations behind the API: authorize and scope the caller (job-rules), parse the
 * request into a typed query, run it through the store, shape the answer. Requests arrive as proto
 * JSON with proto field names (`job_id`, `query.filter[].k`); answers are plain views.
 */
import type { Principal } from "../auth/principal.js";
import { errors } from "../errors.js";
import { type MaybePromise, whenReady } from "../maybe-promise.js";
import type { QueryLimits } from "../query/cost.js";
import { parseListQuery } from "../query/parse-query.js";
import type { JobRow } from "../storage/schema.js";
import type { JobStore, ReadOptions, RowBatches } from "../storage/store.js";
import { missingJob, requireJobId, type TombstoneLookup } from "./job-missing.js";
import { authorize, scopeConditions } from "./job-rules.js";
import { runStat, type StatRequest } from "./job-stat.js";
import { type JobView, type JsonObject, toJobView } from "./job-view.js";
import { shortcutConditions } from "./list-shortcuts.js";
import { encodeCursor } from "./watch/cursor.js";

export interface JobServiceOptions {
  readonly maxPageSize: number;
  /**
   * The most rows a list or stat without page.limit returns (MAX_UNPAGED_ROWS); upstream returns every
   * row, this protects the process. Defaults to maxPageSize.
   */
  readonly maxUnpagedRows?: number;
  /** The query cost model's bounds (query/cost.ts); its defaults when absent. */
  readonly queryLimits?: QueryLimits;
  /** Injected clock (timediff, tests). */
  readonly now?: () => Date;
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

export interface JobList {
  results: JobView[];
  total_count: number;
  /** The change-feed position of the snapshot the page was read from (a `watch` resumes from it). */
  cursor: string;
}

/**
 * A list answer as the store reads it: the rows come in batches as the database gives them, and the
 * wire encodes each row as it goes (`view(row)` shapes one), so an answer of every matching row never
 * holds all its rows, views and encoding at once. Read `rows` once, to the end or until you stop
 * (store.ts, `RowBatches`).
 */
export interface JobRows {
  readonly rows: RowBatches;
  readonly total_count: number;
  /** As `JobList.cursor`. */
  readonly cursor: string;
  readonly view: (row: JobRow) => JobView;
  /** `view` is `toJobView(row)`, every view field (no `query.only`): the wire may write the row directly. */
  readonly whole: boolean;
}

export class JobService {
  private readonly now: () => Date;
  /** get and delete answer "expired" for jobs retention purged (job-missing.ts). */
  private readonly tombstones: TombstoneLookup;

  constructor(
    private readonly store: JobStore,
    private readonly options: JobServiceOptions,
  ) {
    this.now = options.now ?? (() => new Date());
    this.tombstones = (jobId, scope) => store.tombstone(jobId, scope);
  }

  async get(principal: Principal, request: JobRequest, read?: ReadOptions): Promise<JobView> {
    return toJobView(await this.getRow(principal, request, read));
  }

  /**
   * `get`'s job as stored, before the view: a wire that writes the answer's bytes from the row itself
   * (`jobRowJson`) skips building the view (json columns parsed into objects) only to write it again.
   */
  getRow(principal: Principal, request: JobRequest, read?: ReadOptions): MaybePromise<JobRow> {
    const scope = authorize(principal, "get");
    const jobId = requireJobId(request.job_id);
    // Not an async function: a row the store has at once goes up at once (maybe-promise.ts); a
    // refusal above is thrown here, to the caller, as a rejection would be.
    return whenReady(this.store.get(jobId, scopeConditions(scope), read), (row) =>
      row ? row : missingJob(jobId, scope, this.tombstones).then((error) => Promise.reject(error)),
    );
  }

  private get maxUnpagedRows(): number {
    return Math.max(this.options.maxUnpagedRows ?? this.options.maxPageSize, this.options.maxPageSize);
  }

  async list(principal: Principal, request: JobsQueryRequest, read?: ReadOptions): Promise<JobList> {
    const { rows, total_count, cursor, view } = await this.listRows(principal, request, read);
    const results: JobView[] = [];
    for await (const batch of rows) for (const row of batch) results.push(view(row));
    return { results, total_count, cursor };
  }

  /** `list` without shaping: the rows, their total and how to shape one (the wire encodes row by row). */
  async listRows(principal: Principal, request: JobsQueryRequest, read?: ReadOptions): Promise<JobRows> {
    const scope = authorize(principal, "list", request.workspace_id);
    const query = parseListQuery(
      request.query,
      { now: this.now(), maxPageSize: this.options.maxPageSize, limits: this.options.queryLimits },
      scope.rule.keywordFields,
    );
    const shortcuts = shortcutConditions(request);
    const result = await this.store.list(
      {
        ...query,
        where: { and: [...scopeConditions(scope), ...shortcuts, ...query.where.and], or: query.where.or },
        unpagedMax: this.maxUnpagedRows,
      },
      read,
    );
    if (result.kind === "too_many") {
      throw errors.invalidParameter(
        "query.page.limit",
        `${result.total} jobs match and a request without page.limit returns at most ${this.maxUnpagedRows} ` +
          `(MAX_UNPAGED_ROWS); set query.page.limit (at most ${this.options.maxPageSize}) and page with query.page.start`,
      );
    }
    const only = query.only;
    return {
      rows: result.rows,
      total_count: result.total,
      cursor: encodeCursor(result.cursor),
      view: (row) => toJobView(row, only),
      whole: only === null,
    };
  }

  async delete(principal: Principal, request: JobRequest): Promise<void> {
    const scope = authorize(principal, "delete");
    const jobId = requireJobId(request.job_id);
    if (!(await this.store.delete(jobId, scopeConditions(scope))))
      throw await missingJob(jobId, scope, this.tombstones);
  }

  stat(principal: Principal, request: StatRequest, read?: ReadOptions): Promise<JsonObject> {
    const scope = authorize(principal, "stat");
    return runStat(
      this.store,
      scopeConditions(scope),
      request,
      {
        now: this.now(),
        maxPageSize: this.options.maxPageSize,
        maxUnpagedRows: this.maxUnpagedRows,
        limits: this.options.queryLimits,
      },
      read,
    );
  }
}
