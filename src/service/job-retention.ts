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
import type { JobStore } from "../storage/store.js";

export interface RetentionOptions {
  /** Finished jobs older than this are purged; 0 keeps them for ever. */
  readonly retentionMs: number;
  /** Tombstones older than this are dropped. */
  readonly tombstoneMs: number;
  /** Change-feed rows older than this are dropped (a watch cursor older than that has expired). */
  readonly changeFeedMs: number;
  /** Jobs (or tombstones) deleted per transaction. */
  readonly batchSize: number;
  readonly now?: () => Date;
}

export interface RetentionResult {
  readonly purged: number;
  readonly tombstonesDropped: number;
  /** Change-feed rows older than the feed's window. */
  readonly changesDropped: number;
}

export class JobRetention {
  private readonly now: () => Date;

  constructor(
    private readonly store: JobStore,
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
        const n = await this.purgeBatch();
        purged += n;
        if (n < batchSize || signal?.aborted) break;
        await yieldToEventLoop();
      }
    }
    for (;;) {
      if (signal?.aborted) break;
      const n = await this.store.write((tx) =>
        tx.dropTombstones(this.cutoff(this.options.tombstoneMs), batchSize),
      );
      tombstonesDropped += n;
      if (n < batchSize) break;
      await yieldToEventLoop();
    }
    let changesDropped = 0;
    for (;;) {
      if (signal?.aborted) break;
      const n = await this.store.write((tx) =>
        tx.dropChanges(this.cutoff(this.options.changeFeedMs), batchSize),
      );
      changesDropped += n;
      if (n < batchSize) break;
      await yieldToEventLoop();
    }
    return { purged, tombstonesDropped, changesDropped };
  }

  /** Purge up to `batchSize` expired jobs in one transaction; returns how many. */
  purgeBatch(): Promise<number> {
    return this.store.write(async (tx) => {
      const candidates = await tx.purgeCandidates(
        this.cutoff(this.options.retentionMs),
        this.options.batchSize,
      );
      await tx.purge(candidates, this.now().toISOString());
      return candidates.length;
    });
  }

  private cutoff(ageMs: number): string {
    return new Date(this.now().getTime() - ageMs).toISOString();
  }
}
