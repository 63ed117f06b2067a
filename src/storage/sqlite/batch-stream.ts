/**
 * The rows of a list a read worker streams (read-pool.ts), as `RowBatches` for the consumer: batches
 * wait here until the consumer takes them, and each one taken lets the worker send one more, so at
 * most the pool's window of batches is ever queued. A consumer that stops early cancels the worker's
 * read; a failure (the deadline, a crashed worker) ends the iteration with that error at once.
 */
import type { JobRow } from "../schema.js";
import type { RowBatches } from "../store.js";

export interface BatchStreamHooks {
  /** The consumer took a batch (the worker may send another). */
  taken(): void;
  /** The consumer stopped before the end (the worker must end its read). */
  cancel(): void;
}

export class BatchStream implements RowBatches {
  private readonly batches: JobRow[][] = [];
  private ended = false;
  private error: unknown = null;
  private started = false;
  private wake: (() => void) | null = null;

  constructor(private readonly hooks: BatchStreamHooks) {}

  /** Batches read by the worker and not yet taken by the consumer. */
  get waiting(): number {
    return this.batches.length;
  }

  push(batch: JobRow[]): void {
    this.batches.push(batch);
    this.notify();
  }

  finish(): void {
    this.ended = true;
    this.notify();
  }

  fail(error: unknown): void {
    if (this.ended && this.batches.length === 0) return;
    this.error = error;
    this.ended = true;
    this.batches.length = 0;
    this.notify();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<readonly JobRow[]> {
    if (this.started) throw new Error("the rows of a list can be read once");
    this.started = true;
    let stopped = true;
    try {
      for (;;) {
        if (this.error !== null) {
          stopped = false;
          throw this.error;
        }
        const batch = this.batches.shift();
        if (batch !== undefined) {
          this.hooks.taken();
          yield batch;
          continue;
        }
        if (this.ended) {
          stopped = false;
          return;
        }
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
      }
    } finally {
      if (stopped) {
        this.ended = true;
        this.batches.length = 0;
        this.hooks.cancel();
      }
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
