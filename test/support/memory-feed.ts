/**
 * An in-memory change feed and job table implementing what the watch layer reads from the store
 * (`ChangeSource` and `WatchStore`), so the hub and the watch service can be tested alone: every write
 * appends a change with a commit-ordered id, as the real stores do, and counts the reads the hub makes.
 */
import type { Condition } from "../../src/query/ast.js";
import { compileWherePredicate } from "../../src/query/match.js";
import type { ChangeSource } from "../../src/service/watch/watch-hub.js";
import type { WatchStore } from "../../src/service/watch/watch-service.js";
import type { JobEventRow, JobRow } from "../../src/storage/schema.js";
import {
  batchesOf,
  type ChangeCursor,
  type JobChange,
  type ListRequest,
  type ListResult,
} from "../../src/storage/store.js";

const T0 = Date.parse("2026-03-01T00:00:00.000Z");

export class MemoryFeed implements ChangeSource, WatchStore {
  readonly jobs = new Map<string, JobRow>();
  readonly changes: JobChange[] = [];
  readonly eventRows: JobEventRow[] = [];
  readonly reads = { changesAfter: 0, jobsByIds: 0 };
  private nextId = 1;
  private readonly listeners = new Set<(head: ChangeCursor) => void>();

  create(jobId: string, fields: Partial<JobRow> = {}): JobRow {
    const at = new Date(T0 + this.nextId * 1000).toISOString();
    const row: JobRow = {
      job_id: jobId,
      status: "PENDING",
      options: null,
      resource_group: "WORKSPACE",
      error_message: null,
      domain_id: "domain-a",
      workspace_id: "ws-1",
      trusted_account_id: "ta-1",
      plugin_id: null,
      created_at: at,
      updated_at: at,
      finished_at: null,
      version: 1,
      ...fields,
    };
    this.jobs.set(jobId, row);
    this.record(row, "created", { action: "create", from_status: null, to_status: row.status });
    return row;
  }

  /** Patch a job; a status change also writes a timeline entry. */
  update(jobId: string, patch: Partial<JobRow>): JobRow {
    const old = this.jobs.get(jobId);
    if (!old) throw new Error(`no job ${jobId}`);
    const row = { ...old, ...patch, version: (old.version ?? 1) + 1 };
    this.jobs.set(jobId, row);
    const statusChange =
      patch.status !== undefined && patch.status !== old.status
        ? { action: "move", from_status: old.status, to_status: row.status }
        : null;
    this.record(row, "updated", statusChange);
    return row;
  }

  remove(jobId: string): void {
    const old = this.jobs.get(jobId);
    if (!old) throw new Error(`no job ${jobId}`);
    this.jobs.delete(jobId);
    this.record(old, "deleted", null);
  }

  /** Drop changes up to and including `id` (what retention does to the real feed). */
  dropThrough(id: ChangeCursor): void {
    while (this.changes.length > 0 && (this.changes[0] as JobChange).id <= id) this.changes.shift();
  }

  async changesAfter(afterId: ChangeCursor, limit: number): Promise<JobChange[]> {
    this.reads.changesAfter++;
    await Promise.resolve();
    return this.changes.filter((c) => c.id > afterId).slice(0, limit);
  }

  async changeHead(): Promise<ChangeCursor> {
    return this.nextId - 1;
  }

  async oldestChange(): Promise<ChangeCursor | null> {
    return this.changes[0]?.id ?? null;
  }

  async jobsByIds(ids: readonly string[]): Promise<JobRow[]> {
    this.reads.jobsByIds++;
    await Promise.resolve();
    return ids.flatMap((id) => {
      const row = this.jobs.get(id);
      return row ? [{ ...row }] : [];
    });
  }

  onCommit(listener: (head: ChangeCursor) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async events(jobId: string): Promise<JobEventRow[]> {
    return this.eventRows.filter((e) => e.job_id === jobId);
  }

  async list(request: ListRequest): Promise<ListResult> {
    const match = compileWherePredicate(request.where);
    const rows = [...this.jobs.values()].filter((r) => match(r)).map((r) => ({ ...r }));
    const cursor = this.nextId - 1;
    if (rows.length > request.unpagedMax) return { kind: "too_many", total: rows.length, cursor };
    return { kind: "ok", rows: batchesOf(rows), total: rows.length, cursor };
  }

  async get(jobId: string, scope: readonly Condition[]): Promise<JobRow | undefined> {
    const row = this.jobs.get(jobId);
    return row && compileWherePredicate({ and: scope, or: [] })(row) ? { ...row } : undefined;
  }

  async tombstone(): Promise<undefined> {
    return undefined;
  }

  private record(
    row: JobRow,
    kind: JobChange["kind"],
    event: Pick<JobEventRow, "action" | "from_status" | "to_status"> | null,
  ): void {
    let eventSeq: number | null = null;
    if (event) {
      eventSeq = this.eventRows.filter((e) => e.job_id === row.job_id).length + 1;
      this.eventRows.push({
        id: this.eventRows.length + 1,
        job_id: row.job_id,
        seq: eventSeq,
        reason: null,
        actor: "user:test",
        created_at: row.updated_at,
        ...event,
      });
    }
    const id = this.nextId++;
    this.changes.push({
      id,
      job_id: row.job_id,
      domain_id: row.domain_id,
      workspace_id: row.workspace_id,
      kind,
      event_seq: eventSeq,
      created_at: row.updated_at,
    });
    for (const listener of this.listeners) listener(id);
  }
}
