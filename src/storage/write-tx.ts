/**
 * The one `WriteTx` of both backends: the statements of `write-statements.ts`, run through the
 * store's connection, each write recording the job it changed (`ChangeSet`) so the change feed
 * cannot be forgotten by a caller. What holds a job still between the read and the write is the
 * dialect's: SQLite's transaction holds the database's write lock (BEGIN IMMEDIATE); PostgreSQL's
 * reads take row locks (`FOR UPDATE`, and `SKIP LOCKED` for housekeeping batches).
 *
 * One instance serves one write of a group commit (group-commit.ts) and is valid only while that
 * write runs: a call after its callback settled is refused.
 */
import { SpaceOneError } from "../errors.js";
import { type MaybePromise, whenReady } from "../maybe-promise.js";
import type { Condition } from "../query/ast.js";
import { ChangeSet } from "./change-set.js";
import type { Compiled } from "./compiled-template.js";
import type { JobEventRow, JobRow } from "./schema.js";
import type {
  InsertResult,
  JobPatch,
  LockedJob,
  NewJob,
  NewJobEvent,
  PurgeCandidate,
  StaleCutoffs,
  WriteTx,
} from "./store.js";
import type { WriteStatements } from "./write-statements.js";

/**
 * Runs one statement on the transaction's connection and returns its rows: at once on a synchronous
 * driver (a throw for a failure), as a promise otherwise. `hot`: a statement of every lifecycle write whose
 * text depends only on its shape (the locked read, the versioned update), worth keeping prepared on the
 * connection; on SQLite its whole jobs rows are read as values (job-row.ts).
 */
export type RunStatement = <T>(query: Compiled, hot: boolean) => MaybePromise<T[]>;

type Owner = Pick<JobRow, "job_id" | "domain_id" | "workspace_id">;

const first = <T>(rows: T[]): T | undefined => rows[0];

export class StatementWriteTx implements WriteTx {
  readonly changes = new ChangeSet();
  private open = true;

  constructor(
    private readonly run: RunStatement,
    private readonly s: WriteStatements,
  ) {}

  /** No call is valid after the write's callback settled. */
  close(): void {
    this.open = false;
  }

  private all<T>(query: Compiled, hot = false): MaybePromise<T[]> {
    if (!this.open) throw new Error("WriteTx used after its write ended");
    return this.run<T>(query, hot);
  }

  // The hot methods chain with `whenReady`: on SQLite a lifecycle write is one synchronous stretch.
  private one<T>(query: Compiled, hot = false): MaybePromise<T | undefined> {
    return whenReady(this.all<T>(query, hot), first);
  }

  find(jobId: string, scope: readonly Condition[]): MaybePromise<JobRow | undefined> {
    return this.one<JobRow>(this.s.find(jobId, scope), true);
  }

  lock(jobId: string, scope: readonly Condition[]): MaybePromise<LockedJob | undefined> {
    return this.one<LockedJob>(this.s.lock(jobId, scope), true);
  }

  findByIdempotencyKey(domainId: string, workspaceId: string, key: string): MaybePromise<JobRow | undefined> {
    return this.one<JobRow>(this.s.findByIdempotencyKey(domainId, workspaceId, key));
  }

  async idTaken(jobId: string): Promise<boolean> {
    // SQLite answers 1/0, PostgreSQL true/false.
    return Boolean((await this.one<{ taken: unknown }>(this.s.idTaken(jobId)))?.taken);
  }

  async insert(row: NewJob): Promise<InsertResult> {
    const inserted = await this.one<JobRow>(this.s.insert(row));
    if (!inserted) return { kind: "key_taken" };
    this.changes.record(inserted, "created");
    return { kind: "inserted", row: inserted };
  }

  update(jobId: string, version: number, patch: JobPatch): MaybePromise<JobRow> {
    return whenReady(this.one<JobRow>(this.s.update(jobId, version, patch), true), (updated) => {
      if (!updated) {
        throw new SpaceOneError(
          "ERROR_VERSION_MISMATCH",
          "aborted",
          `The job was changed by another writer; read it again and retry. (job_id = ${jobId}, expected_version = ${version})`,
          { reason: "VERSION_MISMATCH" },
        );
      }
      this.changes.record(updated, "updated");
      return updated;
    });
  }

  appendEvent(event: NewJobEvent): MaybePromise<JobEventRow> {
    return whenReady(this.one<JobEventRow>(this.s.appendEvent(event)), (inserted) => {
      const row = inserted as JobEventRow;
      this.changes.recordEvent(row.job_id, row.seq);
      return row;
    });
  }

  runningFor(
    job: Pick<JobRow, "job_id" | "domain_id" | "workspace_id" | "trusted_account_id">,
  ): MaybePromise<JobRow[]> {
    return this.all<JobRow>(this.s.runningFor(job));
  }

  async stale(cutoffs: StaleCutoffs, limit: number): Promise<JobRow[]> {
    const pending = await this.all<JobRow>(this.s.stalePending(cutoffs, limit));
    if (pending.length >= limit) return pending;
    return [...pending, ...(await this.all<JobRow>(this.s.staleRunning(cutoffs, limit - pending.length)))];
  }

  purgeCandidates(before: string, limit: number): MaybePromise<PurgeCandidate[]> {
    return this.all<PurgeCandidate>(this.s.purgeCandidates(before, limit));
  }

  async purge(candidates: readonly PurgeCandidate[], purgedAt: string): Promise<void> {
    if (candidates.length === 0) return;
    await this.all(this.s.insertTombstones(candidates, purgedAt));
    const deleted = await this.all<Owner>(this.s.deleteJobs(candidates.map((c) => c.job_id)));
    for (const row of deleted) this.changes.record(row, "deleted");
  }

  async dropTombstones(before: string, limit: number): Promise<number> {
    return (await this.all(this.s.dropTombstones(before, limit))).length;
  }

  async dropChanges(before: string, limit: number): Promise<number> {
    return (await this.all(this.s.dropChanges(before, limit))).length;
  }

  /** Delete one job within a scope (`JobStore.delete` runs this as a write of its own). */
  async deleteOne(jobId: string, scope: readonly Condition[]): Promise<boolean> {
    const rows = await this.all<Owner>(this.s.deleteOne(jobId, scope));
    for (const row of rows) this.changes.record(row, "deleted");
    return rows.length > 0;
  }
}
