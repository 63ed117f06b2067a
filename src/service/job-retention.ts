/**
 * Retention: finished jobs older than the retention period (default 90 days, as SailPoint) are
 * purged, eagerly and on a schedule (BullMQ's lazy removal is a known complaint). Each purged job
 * leaves a tombstone, so `get` can say "expired" instead of "not found" (`job-missing.ts`) for the
 * tombstone period; then the tombstones are purged too.
 *
 * Purging runs in small transactions (`batchSize` jobs each, default 500) and yields to the event
 * loop between them: a purge of a million old jobs never holds the write lock, or the single
 * JavaScript thread, for more than one small batch, so requests keep being served.
 */
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { LifecycleStore } from "../storage/lifecycle-store.js";

export interface RetentionOptions {
  /** Finished jobs older than this are purged; 0 keeps them for ever. */
  readonly retentionMs: number;
  /** Tombstones older than this are dropped. */
  readonly tombstoneMs: number;
  /** Jobs (or tombstones) deleted per transaction. */
  readonly batchSize: number;
  readonly now?: () => Date;
}

export interface RetentionResult {
  readonly purged: number;
  readonly tombstonesDropped: number;
}

export class JobRetention {
  private readonly now: () => Date;

  constructor(
    private readonly store: LifecycleStore,
    private readonly options: RetentionOptions,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /** One pass: purge what has expired, then drop old tombstones. Stops between batches when `signal` aborts. */
  async run(signal?: AbortSignal): Promise<RetentionResult> {
    let purged = 0;
    let tombstonesDropped = 0;
    const { batchSize } = this.options;
    if (this.options.retentionMs > 0) {
      for (;;) {
        const n = this.purgeBatch();
        purged += n;
        if (n < batchSize || signal?.aborted) break;
        await yieldToEventLoop();
      }
    }
    for (;;) {
      if (signal?.aborted) break;
      const n = this.store.write(() =>
        this.store.dropTombstones(this.cutoff(this.options.tombstoneMs), batchSize),
      );
      tombstonesDropped += n;
      if (n < batchSize) break;
      await yieldToEventLoop();
    }
    return { purged, tombstonesDropped };
  }

  /** Purge up to `batchSize` expired jobs in one transaction; returns how many. */
  purgeBatch(): number {
    return this.store.write(() => {
      const candidates = this.store.purgeCandidates(
        this.cutoff(this.options.retentionMs),
        this.options.batchSize,
      );
      this.store.purge(candidates, this.now().toISOString());
      return candidates.length;
    });
  }

  private cutoff(ageMs: number): string {
    return new Date(this.now().getTime() - ageMs).toISOString();
  }
}
