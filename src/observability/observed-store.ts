/**
 * The storage backend, observed at its interface (so SQLite and PostgreSQL alike): the time of every
 * call (`job_service_db_statement_duration_seconds{operation}`, labelled by the interface method,
 * so bounded), and every lifecycle transition a committed write appended
 * (`job_service_job_transitions_total{action,from,to}`; a rolled-back or retried transaction's
 * events are not counted), and the backend's pool use sampled at each scrape
 * (`job_service_db_pool_connections{pool,state}`). Everything else passes through unchanged.
 */

import type { Condition } from "../query/ast.js";
import type { StatQuery } from "../query/stat-ast.js";
import type {
  ChangeCursor,
  JobStore,
  ListRequest,
  NewJobEvent,
  ReadOptions,
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

  private async timed<T>(operation: string, run: () => Promise<T>): Promise<T> {
    const started = process.hrtime.bigint();
    try {
      return await run();
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.metrics.database.statementDuration.series(this.backend, operation).observe(seconds);
    }
  }

  get(jobId: string, scope: readonly Condition[], options?: ReadOptions) {
    return this.timed("get", () => this.inner.get(jobId, scope, options));
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

  async write<T>(fn: (tx: WriteTx) => Promise<T>): Promise<T> {
    // A backend may run the callback again after a transient failure: only the last run committed.
    let appended: NewJobEvent[] = [];
    const result = await this.timed("write", () =>
      this.inner.write((tx) => {
        appended = [];
        return fn(recording(tx, appended));
      }),
    );
    for (const event of appended) {
      this.metrics.transitions.inc({
        action: event.action,
        from: event.from_status ?? "none",
        to: event.to_status,
      });
    }
    return result;
  }
}

/** The transaction, with the events it appends noted. */
function recording(tx: WriteTx, appended: NewJobEvent[]): WriteTx {
  return {
    find: (...args) => tx.find(...args),
    lock: (...args) => tx.lock(...args),
    findByIdempotencyKey: (...args) => tx.findByIdempotencyKey(...args),
    idTaken: (...args) => tx.idTaken(...args),
    insert: (...args) => tx.insert(...args),
    update: (...args) => tx.update(...args),
    appendEvent: async (event) => {
      const row = await tx.appendEvent(event);
      appended.push(event);
      return row;
    },
    runningFor: (...args) => tx.runningFor(...args),
    stale: (...args) => tx.stale(...args),
    purgeCandidates: (...args) => tx.purgeCandidates(...args),
    purge: (...args) => tx.purge(...args),
    dropTombstones: (...args) => tx.dropTombstones(...args),
    dropChanges: (...args) => tx.dropChanges(...args),
  };
}
