/**
 * What a write transaction changed, one entry per job: the rows it appends to the change feed just
 * before its commit. Each write of a group commit records into its own set; the group merges the sets
 * of the writes that succeeded, in order (a failed write's set is dropped with its savepoint).
 *
 * Merging keeps what a watcher must see: a job created in the transaction stays `created` whatever
 * else happened to it; a deleted job is `deleted` (no timeline entry: its events went with it);
 * otherwise the newest timeline entry the transaction wrote for the job.
 */
import type { JobRow } from "./schema.js";
import type { ChangeRow } from "./write-statements.js";

type Owner = Pick<JobRow, "job_id" | "domain_id" | "workspace_id">;

export class ChangeSet {
  private readonly byJob = new Map<string, ChangeRow>();

  get size(): number {
    return this.byJob.size;
  }

  rows(): ChangeRow[] {
    return [...this.byJob.values()];
  }

  record(job: Owner, kind: ChangeRow["kind"], eventSeq: number | null = null): void {
    const previous = this.byJob.get(job.job_id);
    const stays = previous !== undefined && previous.kind !== "updated" && kind === "updated";
    const merged = stays ? previous.kind : kind;
    this.byJob.set(job.job_id, {
      job_id: job.job_id,
      domain_id: job.domain_id,
      workspace_id: job.workspace_id,
      kind: merged,
      event_seq: merged === "deleted" ? null : (eventSeq ?? previous?.event_seq ?? null),
    });
  }

  /** The timeline entry an event append wrote, on the change already recorded for its job. */
  recordEvent(jobId: string, seq: number): void {
    const change = this.byJob.get(jobId);
    if (change && change.kind !== "deleted") this.byJob.set(jobId, { ...change, event_seq: seq });
  }

  /** Add another set's changes as if recorded here after this set's own. */
  merge(other: ChangeSet): void {
    for (const change of other.byJob.values()) this.record(change, change.kind, change.event_seq);
  }
}
