/**
 * The storage backend, observed at its interface (so SQLite and PostgreSQL alike): the time of every
 * call (`job_service_db_statement_duration_seconds{operation}`, labelled by the interface method,
 * so bounded), and every lifecycle transition a committed write appended
 * (`job_service_job_transitions_total{action,from,to}`; a rolled-back or retried transaction's
 * events are not counted), and the backend's pool use sampled at each scrape
 * (`job_service_db_pool_connections{pool,state}`). Everything else passes through unchanged.
 */

import { type MaybePromise, whenReady } from "../maybe-promise.js";
import type { Condition } from "../query/ast.js";
import type { StatQuery } from "../query/stat-ast.js";
import type {
  ChangeCursor,
  JobPatch,
  JobStore,
  ListRequest,
  NewJob,
  NewJobEvent,
  PurgeCandidate,
  ReadOptions,
  StaleCutoffs,
  StatOptions,
  WriteTx,
} from "../storage/store.js";
import type { Metrics } from "./metrics.js";

export class ObservedStore implements JobStore {
  constructor(
    private readonly inner: JobStore,
    private readonly metrics: Metrics,
    private readonly backend = inner.constructor.name.replace(/Store$/, "").toLowerCase() || "store",
  ) {
    if (inner.poolUse) metrics.database.samplePool(backend, () => inner.poolUse?.() ?? []);
  }

  /**
   * `run`'s promise with its time observed when it settles. Not an async function: that costs every
   * call (every progress report's write) a promise and two turns of the microtask queue more.
   */
  private timed<T>(operation: string, run: () => Promise<T>, started = performance.now()): Promise<T> {
    const observe = () => this.observe(operation, started);
    let running: Promise<T>;
    try {
      running = run();
    } catch (error) {
      observe();
      return Promise.reject(error);
    }
    return running.then(
      (result) => {
        observe();
        return result;
      },
      (error: unknown) => {
        observe();
        throw error;
      },
    );
  }

  /** `timed` for a read the store may answer at once: observed and given back at once then. */
  private timedNow<T>(operation: string, run: () => MaybePromise<T>): MaybePromise<T> {
    const started = performance.now();
    let result: MaybePromise<T>;
    try {
      result = run();
    } catch (error) {
      this.observe(operation, started);
      throw error;
    }
    if (result instanceof Promise) return this.timed(operation, () => result, started);
    this.observe(operation, started);
    return result;
  }

  private observe(operation: string, started: number): void {
    const seconds = (performance.now() - started) / 1e3;
    this.metrics.database.statementDuration.series(this.backend, operation).observe(seconds);
  }

  get(jobId: string, scope: readonly Condition[], options?: ReadOptions) {
    return this.timedNow("get", () => this.inner.get(jobId, scope, options));
  }
  list(request: ListRequest, options?: ReadOptions) {
    return this.timed("list", () => this.inner.list(request, options));
  }
  stat(query: StatQuery, statOptions: StatOptions, options?: ReadOptions) {
    return this.timed("stat", () => this.inner.stat(query, statOptions, options));
  }
  delete(jobId: string, scope: readonly Condition[]) {
    return this.timed("delete", () => this.inner.delete(jobId, scope));
  }
  tombstone(jobId: string, scope: readonly Condition[], options?: ReadOptions) {
    return this.timed("tombstone", () => this.inner.tombstone(jobId, scope, options));
  }
  events(jobId: string, scope: readonly Condition[], options?: ReadOptions) {
    return this.timed("events", () => this.inner.events(jobId, scope, options));
  }
  changesAfter(afterId: ChangeCursor, limit: number, options?: ReadOptions) {
    return this.timed("changes_after", () => this.inner.changesAfter(afterId, limit, options));
  }
  changeHead() {
    return this.timed("change_head", () => this.inner.changeHead());
  }
  oldestChange() {
    return this.timed("oldest_change", () => this.inner.oldestChange());
  }
  jobsByIds(ids: readonly string[], options?: ReadOptions) {
    return this.timed("jobs_by_ids", () => this.inner.jobsByIds(ids, options));
  }
  poolUse() {
    return this.inner.poolUse?.() ?? [];
  }
  onCommit(listener: (head: ChangeCursor) => void): () => void {
    return this.inner.onCommit(listener);
  }
  close(): Promise<void> {
    return this.inner.close();
  }

  async write<T>(fn: (tx: WriteTx) => MaybePromise<T>): Promise<T> {
    // A backend may run the callback again after a transient failure: only the last run committed.
    let recorded: RecordingTx | undefined;
    const result = await this.timed("write", () =>
      this.inner.write((tx) => {
        recorded = new RecordingTx(tx);
        return fn(recorded);
      }),
    );
    const appended = recorded?.appended;
    if (appended !== undefined) {
      for (const event of appended) {
        this.metrics.transitions.inc({
          action: event.action,
          from: event.from_status ?? "none",
          to: event.to_status,
        });
      }
    }
    return result;
  }
}

/**
 * The transaction, with the events it appends noted. A class, not an object of arrow functions: one
 * object per write instead of fourteen closures and an argument array per statement.
 */
class RecordingTx implements WriteTx {
  /** The events appended, once any is (most writes, a progress report among them, append none). */
  appended: NewJobEvent[] | undefined;

  constructor(private readonly tx: WriteTx) {}

  find(jobId: string, scope: readonly Condition[]) {
    return this.tx.find(jobId, scope);
  }
  lock(jobId: string, scope: readonly Condition[]) {
    return this.tx.lock(jobId, scope);
  }
  findByIdempotencyKey(domainId: string, workspaceId: string, key: string) {
    return this.tx.findByIdempotencyKey(domainId, workspaceId, key);
  }
  idTaken(jobId: string) {
    return this.tx.idTaken(jobId);
  }
  insert(row: NewJob) {
    return this.tx.insert(row);
  }
  update(jobId: string, version: number, patch: JobPatch) {
    return this.tx.update(jobId, version, patch);
  }
  appendEvent(event: NewJobEvent) {
    return whenReady(this.tx.appendEvent(event), (row) => {
      if (this.appended === undefined) this.appended = [event];
      else this.appended.push(event);
      return row;
    });
  }
  runningFor(job: Parameters<WriteTx["runningFor"]>[0]) {
    return this.tx.runningFor(job);
  }
  stale(cutoffs: StaleCutoffs, limit: number) {
    return this.tx.stale(cutoffs, limit);
  }
  purgeCandidates(before: string, limit: number) {
    return this.tx.purgeCandidates(before, limit);
  }
  purge(candidates: readonly PurgeCandidate[], purgedAt: string) {
    return this.tx.purge(candidates, purgedAt);
  }
  dropTombstones(before: string, limit: number) {
    return this.tx.dropTombstones(before, limit);
  }
  dropChanges(before: string, limit: number) {
    return this.tx.dropChanges(before, limit);
  }
}
