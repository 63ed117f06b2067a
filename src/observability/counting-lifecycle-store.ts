/**
 * The lifecycle store, with every transition it commits counted in
 * `job_service_job_transitions_total{action,from,to}`. Every state change (rpcs, the duplicate rule,
 * the reaper) appends its timeline event through `appendEvent`; events appended inside `write()` are
 * counted only once that transaction has committed, so a rolled-back change is never counted.
 */
import { LifecycleStore, type NewJobEvent } from "../storage/lifecycle-store.js";
import type { JobEventRow } from "../storage/schema.js";
import type { Metrics } from "./metrics.js";

export class CountingLifecycleStore extends LifecycleStore {
  private pending: NewJobEvent[] | null = null;

  constructor(
    jobs: ConstructorParameters<typeof LifecycleStore>[0],
    private readonly metrics: Metrics,
  ) {
    super(jobs);
  }

  override write<T>(fn: () => T): T {
    if (this.pending !== null) return super.write(fn);
    const pending: NewJobEvent[] = [];
    this.pending = pending;
    try {
      const result = super.write(fn);
      for (const event of pending) this.count(event);
      return result;
    } finally {
      this.pending = null;
    }
  }

  override appendEvent(event: NewJobEvent): JobEventRow {
    const row = super.appendEvent(event);
    if (this.pending !== null) this.pending.push(event);
    else this.count(event);
    return row;
  }

  private count(event: NewJobEvent): void {
    this.metrics.transitions.inc({
      action: event.action,
      from: event.from_status ?? "none",
      to: event.to_status,
    });
  }
}
