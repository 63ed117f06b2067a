/**
 * The one interface the service layer reads and writes jobs through. Every backend (SQLite in
 * `sqlite/`, PostgreSQL in `dialect/postgres/`) implements it; the service never sees a driver, a
 * dialect name or a driver error code.
 *
 * Rules every implementation keeps:
 * - Every method returns a Promise. Reads take `ReadOptions` (an AbortSignal and/or a deadline);
 *   a read still running at its deadline is stopped and rejects with a `SpaceOneError` whose code
 *   is `deadline_exceeded`; nothing else notices.
 * - Failures reach the caller as `SpaceOneError`s (`unavailable`, `deadline_exceeded`,
 *   `resource_exhausted`) classified by the dialect (`Dialect.classifyError`); a retryable failure is
 *   `unavailable`. "The idempotency key is taken" is a typed result (`InsertResult`), never an error.
 * - A `write()` runs its callback in one transaction with the write lock (SQLite: BEGIN IMMEDIATE;
 *   PostgreSQL: row locks / conditional updates). Transactions of concurrent callers never
 *   interleave on one connection. The callback may be run more than once when the backend retries a
 *   transient failure (serialization failure, failover): it must do nothing but call `tx` methods
 *   and compute from their answers.
 * - Every write transaction that changes a job appends one `job_changes` row per changed job (the
 *   change feed, `ChangeFeed`); `tx` methods record this themselves, callers cannot forget it.
 */
import type { MaybePromise } from "../maybe-promise.js";
import type { Condition, ListQuery } from "../query/ast.js";
import type { StatQuery } from "../query/stat-ast.js";
import type { StatResultShape } from "./compile-stat.js";
import type { JobEventRow, JobRow, JobTombstoneRow } from "./schema.js";

/** How long a read may run. The earlier of `deadline` and an abort of `signal` ends it. */
export interface ReadOptions {
  readonly signal?: AbortSignal;
  /** Epoch milliseconds (Date.now() scale). */
  readonly deadline?: number;
}

/**
 * Told the SQL text and bound values of every statement a store runs (tests record what reaches the
 * database with it). Both backends take one as a store option; it must not throw. It hears a
 * statement as it is sent, except on SQLite's read workers, which send theirs back with the answer
 * (a worker stopped at its deadline reports nothing).
 */
export type StatementHook = (sql: string, parameters: readonly unknown[]) => void;

/** A position in the change feed: the id of the last `job_changes` row a reader has seen. 0 = before all. */
export type ChangeCursor = number;

export interface ListRequest extends ListQuery {
  /** The most rows a request without page.limit may return; more is an error the caller raises. */
  readonly unpagedMax: number;
}

/**
 * The rows of a page in order, in batches (at most `LIST_BATCH_ROWS` each), read from the database as
 * the consumer asks for them: an answer of every matching row is never held whole. Iterate it once,
 * to the end or until you stop (`break`, `return()`), soon: until then it holds a read worker or a
 * connection and its snapshot (the read's deadline still ends it, and iteration then throws
 * `deadline_exceeded`).
 */
export type RowBatches = AsyncIterable<readonly JobRow[]>;

/** The most rows in one batch of `RowBatches` (bounded memory per step, few messages per answer). */
export const LIST_BATCH_ROWS = 1000;

/**
 * Whether a list's rows are known to fit one batch before any is read (a page whose limit is at most
 * `batchRows`, or a count): a backend then reads its rows whole with the count in one step, since
 * streaming would hold no less in memory and costs round trips a small page notices.
 */
export function fitsOneBatch(
  request: Pick<ListQuery, "countOnly"> & { readonly page: Pick<ListQuery["page"], "limit"> },
  batchRows: number = LIST_BATCH_ROWS,
): boolean {
  return request.countOnly || (request.page.limit !== null && request.page.limit <= batchRows);
}

/**
 * A page and its total, read from one snapshot, and the change-feed head of that snapshot: a
 * watcher that starts from `cursor` misses no change made after the page was read.
 */
export type ListResult =
  | { readonly kind: "ok"; readonly rows: RowBatches; readonly total: number; readonly cursor: ChangeCursor }
  | { readonly kind: "too_many"; readonly total: number; readonly cursor: ChangeCursor };

/** Every row of `rows` in one array, for callers whose answers are small by their own bound. */
export async function collectRows(rows: RowBatches): Promise<JobRow[]> {
  const all: JobRow[] = [];
  for await (const batch of rows) for (const row of batch) all.push(row);
  return all;
}

/** Rows already in memory as `RowBatches` (a backend that read them at once). */
export async function* batchesOf(rows: readonly JobRow[]): RowBatches {
  if (rows.length <= LIST_BATCH_ROWS) {
    if (rows.length > 0) yield rows;
    return;
  }
  for (let i = 0; i < rows.length; i += LIST_BATCH_ROWS) yield rows.slice(i, i + LIST_BATCH_ROWS);
}

export interface StatOptions {
  /** The most rows a stat without page.limit may return (MAX_PAGE_SIZE). */
  readonly maxRows: number;
}

/** The raw answer of a stat pipeline; the service decodes rows by `shape`. */
export interface StatResult {
  readonly rows: Record<string, unknown>[];
  /** `total_count`, only when the request is paged. */
  readonly total: number | null;
  readonly shape: StatResultShape;
  /** Without page.limit: the most rows the caller may return; `rows` holds one more when there are more. */
  readonly cap: number | null;
}

/** Columns a lifecycle write may set (never the id, the owner, the version or the generated duration). */
export type JobPatch = Partial<
  Omit<
    JobRow,
    | "seq"
    | "job_id"
    | "domain_id"
    | "workspace_id"
    | "trusted_account_id"
    | "created_at"
    | "idempotency_key"
    | "version"
    | "duration_seconds"
  >
>;

/** A job to insert: everything but the generated columns. */
export type NewJob = Omit<JobRow, "seq" | "version" | "duration_seconds">;

export type NewJobEvent = Omit<JobEventRow, "id" | "seq">;

/**
 * An idempotent insert's outcome. `key_taken`: a job with the same (domain, workspace,
 * idempotency_key) exists (possibly committed by another instance a moment ago); nothing was written
 * and the transaction is still usable (the caller reads that job with `findByIdempotencyKey`).
 */
export type InsertResult =
  | { readonly kind: "inserted"; readonly row: JobRow }
  | { readonly kind: "key_taken" };

/** A finished job the retention may purge: what its tombstone keeps. */
export type PurgeCandidate = Pick<
  JobTombstoneRow,
  "job_id" | "domain_id" | "workspace_id" | "status" | "finished_at"
>;

export interface StaleCutoffs {
  /** PENDING jobs created before this. */
  readonly pendingBefore: string;
  /** IN_PROGRESS jobs whose last heartbeat (or start, or creation) is before this. */
  readonly heartbeatBefore: string;
  /** IN_PROGRESS jobs whose cancel was requested before this. */
  readonly cancelRequestedBefore: string;
}

/**
 * What a state change reads of its job before it writes it: the state machine's input, the version
 * it checks, and the stored values the monotonic fields are kept at or above. A report needs these,
 * not the whole row: reading all of a row's columns costs ~3 x reading one (docs/benchmarks.md, "Where
 * the CPU of one acknowledged progress report goes"), and the answer is the row the update returns.
 */
export const LOCKED_COLUMNS = [
  "job_id",
  "status",
  "version",
  "cancel_requested_at",
  "progress_percent",
  "records_processed",
  "records_created",
  "records_updated",
  "records_deleted",
] as const satisfies readonly (keyof JobRow)[];

export type LockedJob = Pick<JobRow, (typeof LOCKED_COLUMNS)[number]>;

/**
 * The reads and writes allowed inside `JobStore.write()`. Valid only until the callback's answer settles.
 * Each answers at once on a synchronous driver (SQLite: a value, or a throw) and with a promise otherwise
 * (PostgreSQL); callers `await` it, or chain it with `whenReady` where a write's path is hot enough that a
 * promise and a microtask per statement show (src/maybe-promise.ts).
 */
export interface WriteTx {
  /** One job by id within a scope (extra conditions ANDed), read under the transaction's lock. */
  find(jobId: string, scope: readonly Condition[]): MaybePromise<JobRow | undefined>;
  /** As `find`, only what a state change reads of its job (`LockedJob`): the hot lifecycle read. */
  lock(jobId: string, scope: readonly Condition[]): MaybePromise<LockedJob | undefined>;
  /** The job an idempotency key created in a (domain, workspace); keys of other workspaces are invisible. */
  findByIdempotencyKey(domainId: string, workspaceId: string, key: string): MaybePromise<JobRow | undefined>;
  /** True if the id belongs to a job or to a purged job's tombstone (a new job must not reuse it). */
  idTaken(jobId: string): MaybePromise<boolean>;
  /** Insert a job (change feed: `created`). A taken idempotency key is `key_taken`, not an error. */
  insert(row: NewJob): MaybePromise<InsertResult>;
  /**
   * Apply a patch and bump the version, on the condition that the version is still `version`
   * (change feed: `updated`). A lost race fails with `ERROR_VERSION_MISMATCH` (`aborted`): thrown at
   * once on SQLite, a rejection on PostgreSQL.
   */
  update(jobId: string, version: number, patch: JobPatch): MaybePromise<JobRow>;
  /** Append an event with the job's next sequence number (the change row carries that seq). */
  appendEvent(event: NewJobEvent): MaybePromise<JobEventRow>;
  /** Other IN_PROGRESS jobs of a trusted account in a workspace (the duplicate rule). */
  runningFor(
    job: Pick<JobRow, "job_id" | "domain_id" | "workspace_id" | "trusted_account_id">,
  ): MaybePromise<JobRow[]>;
  /** Unfinished jobs the reaper must finish, oldest first, at most `limit`, locked for this transaction. */
  stale(cutoffs: StaleCutoffs, limit: number): MaybePromise<JobRow[]>;
  /** Finished jobs that finished before `before`, oldest first, at most `limit`, locked for this transaction. */
  purgeCandidates(before: string, limit: number): MaybePromise<PurgeCandidate[]>;
  /** Replace jobs by tombstones; their events go with them (change feed: `deleted`). */
  purge(candidates: readonly PurgeCandidate[], purgedAt: string): MaybePromise<void>;
  /** Delete up to `limit` tombstones written before `before`; returns how many. */
  dropTombstones(before: string, limit: number): MaybePromise<number>;
  /** Delete up to `limit` change-feed rows created before `before`; returns how many. */
  dropChanges(before: string, limit: number): MaybePromise<number>;
}

/** One row of the change feed. `id` order is commit order. */
export interface JobChange {
  readonly id: ChangeCursor;
  readonly job_id: string;
  readonly domain_id: string;
  readonly workspace_id: string;
  readonly kind: "created" | "updated" | "deleted";
  /** The `job_events.seq` the change wrote, or null (a progress report without an event, a delete). */
  readonly event_seq: number | null;
  readonly created_at: string;
}

/**
 * The change feed (the watch/wait API builds on it): every committed job change, in commit order.
 * A cursor older than `oldestChange()` has expired (retention dropped what followed it).
 */
export interface ChangeFeed {
  /** Changes with id > afterId, in id order, at most `limit`. */
  changesAfter(afterId: ChangeCursor, limit: number, options?: ReadOptions): Promise<JobChange[]>;
  /** The id of the newest committed change (0 when there is none). */
  changeHead(): Promise<ChangeCursor>;
  /** The id of the oldest change still kept, or null when the feed is empty. */
  oldestChange(): Promise<ChangeCursor | null>;
  /** The current rows of these jobs (missing ids are left out), for fanning changes out. */
  jobsByIds(ids: readonly string[], options?: ReadOptions): Promise<JobRow[]>;
  /**
   * Call `listener` with the new head after each write transaction of THIS process commits (other
   * instances' changes are seen by reading the feed). Cheap and synchronous; returns an unsubscribe.
   * A listener must not throw; it is called after the writer's promise is resolved or soon after.
   */
  onCommit(listener: (head: ChangeCursor) => void): () => void;
}

/** Everything the service layer needs from storage. */
export interface JobStore extends ChangeFeed {
  /** One job by id within a scope (extra conditions ANDed). A cheap point lookup. */
  /**
   * At once where the backend can answer at once (SQLite, no write transaction open), a refusal
   * (deadline passed, storage fault) then thrown at once too; a promise otherwise (maybe-promise.ts).
   */
  get(jobId: string, scope: readonly Condition[], options?: ReadOptions): MaybePromise<JobRow | undefined>;
  /** A page (its rows in batches, see `RowBatches`), its total and the change-feed cursor, from one snapshot. */
  list(request: ListRequest, options?: ReadOptions): Promise<ListResult>;
  /** Run a stat pipeline (rows and, when paged, the total from one snapshot). */
  stat(query: StatQuery, statOptions: StatOptions, options?: ReadOptions): Promise<StatResult>;
  /** Delete one job by id within a scope (change feed: `deleted`); true if a job was deleted. */
  delete(jobId: string, scope: readonly Condition[]): Promise<boolean>;
  /** The tombstone of a purged job, within a scope (the same conditions as a job lookup). */
  tombstone(
    jobId: string,
    scope: readonly Condition[],
    options?: ReadOptions,
  ): Promise<JobTombstoneRow | undefined>;
  /** A job's events oldest first, or undefined when the job is not in `scope` (one snapshot). */
  events(
    jobId: string,
    scope: readonly Condition[],
    options?: ReadOptions,
  ): Promise<JobEventRow[] | undefined>;
  /** Run `fn` in one write transaction (see the file comment). Resolves after the commit. */
  write<T>(fn: (tx: WriteTx) => MaybePromise<T>): Promise<T>;
  /** Finish queued work and release connections and worker threads. */
  close(): Promise<void>;
  /**
   * Readiness (`/readyz`, gRPC health): null when the database answers and its schema is fully
   * migrated, else a short reason; throws when it cannot be reached. Optional: without it the app
   * reads the change head to see that the database answers.
   */
  ping?(): Promise<string | null>;
  /**
   * How busy the backend's connections and queues are right now (the pool gauge samples it at scrape
   * time). Cheap and synchronous. Optional: a backend without a pool to report has none.
   */
  poolUse?(): readonly PoolUse[];
}

/**
 * One figure of a backend's pool: `pool` names the pool (PostgreSQL `connections`; SQLite
 * `read_workers` and `writer`), `state` what is counted: `in_use` and `idle` connections (or worker
 * threads, or the writer's open transaction), `starting` workers not yet ready, `waiting` requests
 * queued for one. A backend reports every state of its pools every time, zeros included.
 */
export interface PoolUse {
  readonly pool: "connections" | "read_workers" | "writer";
  readonly state: "in_use" | "idle" | "starting" | "waiting";
  readonly count: number;
}
