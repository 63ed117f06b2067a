/**
 * The writes of the job lifecycle on SQLite, and the reads they depend on, as the `WriteTx` of one
 * transaction (`SqliteStore.write` opens it with BEGIN IMMEDIATE: the write lock is taken before the
 * first read, so no other connection can commit between our read and our write, and the read never
 * fails later with SQLITE_BUSY_SNAPSHOT). The methods run synchronously on the connection and
 * return settled promises; the store's queue keeps other callers off the connection meanwhile.
 *
 * Every job the transaction changes is remembered and, before the commit, gets one `job_changes`
 * row (`flushChanges`): the change feed cannot be forgotten by a caller.
 */
import { type SqlBool, sql } from "kysely";
import type { Condition } from "../../query/ast.js";
import { compileWhere } from "../compile-where.js";
import { CompiledTemplates } from "../compiled-template.js";
import { sqliteDialect as d } from "../dialect/sqlite/sqlite-dialect.js";
import type { JobEventRow, JobRow, JobTombstoneRow } from "../schema.js";
import type {
  InsertResult,
  JobChange,
  JobPatch,
  NewJob,
  NewJobEvent,
  PurgeCandidate,
  StaleCutoffs,
  WriteTx,
} from "../store.js";
import type { SqliteJobs } from "./sqlite-jobs.js";

const builder = d.builder;

const ref = sql.ref;

/** What one transaction changed, per job: flushed as `job_changes` rows before the commit. */
type PendingChange = Pick<JobChange, "job_id" | "domain_id" | "workspace_id" | "kind" | "event_seq">;

/** The synchronous lifecycle statements; `SqliteWriteTx` is their asynchronous face. */
export class SqliteLifecycle {
  private readonly templates = new CompiledTemplates();

  constructor(readonly jobs: SqliteJobs) {}

  /** One job by id within a scope. */
  find(jobId: string, scope: readonly Condition[]): JobRow | undefined {
    return this.jobs.get(jobId, scope);
  }

  findByIdempotencyKey(domainId: string, workspaceId: string, key: string): JobRow | undefined {
    const query = builder
      .selectFrom("jobs")
      .selectAll()
      .where(
        sql<SqlBool>`${ref("domain_id")} = ${domainId} AND ${ref("workspace_id")} = ${workspaceId} AND ${ref(
          "idempotency_key",
        )} = ${key}`,
      )
      .compile();
    return this.jobs.one<JobRow>(query);
  }

  /** True if the id belongs to a job or to a purged job's tombstone (a new job must not reuse it). */
  idTaken(jobId: string): boolean {
    const query = sql<{
      taken: number;
    }>`SELECT EXISTS (SELECT 1 FROM ${ref("jobs")} WHERE ${ref("job_id")} = ${jobId})
      OR EXISTS (SELECT 1 FROM ${ref("job_tombstones")} WHERE ${ref("job_id")} = ${jobId}) AS taken`.compile(
      builder,
    );
    return (this.jobs.one<{ taken: number }>(query)?.taken ?? 0) === 1;
  }

  /** Insert a job; a taken idempotency key writes nothing (ON CONFLICT DO NOTHING) and says so. */
  insert(row: NewJob): InsertResult {
    const query = builder
      .insertInto("jobs")
      .values(row)
      .onConflict((oc) => oc.doNothing())
      .compile();
    if (this.jobs.run(query).changes === 0) return { kind: "key_taken" };
    return { kind: "inserted", row: this.mustFind(row.job_id) };
  }

  /**
   * Apply a patch and bump the version, on the condition that the version is still `version` (the
   * caller read it in this transaction, so this holds; the condition guards against misuse).
   */
  update(jobId: string, version: number, patch: JobPatch): JobRow {
    // Progress reports are the hottest write: compile once per set of patched columns.
    const keys = Object.keys(patch).sort() as (keyof JobPatch)[];
    const build = (args: readonly unknown[]) =>
      builder
        .updateTable("jobs")
        .set({
          ...(Object.fromEntries(keys.map((k, i) => [k, args[i + 2]])) as JobPatch),
          version: sql<number>`${ref("version")} + 1`,
        })
        .where(sql<SqlBool>`${ref("job_id")} = ${args[0]} AND ${ref("version")} = ${args[1]}`)
        .compile();
    const args = [jobId, version, ...keys.map((k) => patch[k])];
    const plain = args.every((a) => a === null || ["string", "number", "boolean"].includes(typeof a));
    const query = plain ? this.templates.compile(`update|${keys.join(",")}`, args, build) : build(args);
    if (this.jobs.run(query).changes !== 1) {
      throw new Error(`job ${jobId} changed under a write transaction (version ${version})`);
    }
    return this.mustFind(jobId);
  }

  /** Append an event with the job's next sequence number. */
  appendEvent(event: NewJobEvent): JobEventRow {
    const next = sql<number>`(SELECT coalesce(max(${ref("seq")}), 0) + 1 FROM ${ref("job_events")} WHERE ${ref(
      "job_id",
    )} = ${event.job_id})`;
    const query = builder
      .insertInto("job_events")
      .values({ ...event, seq: next })
      .returningAll()
      .compile();
    return this.jobs.one<JobEventRow>(query) as JobEventRow;
  }

  /** A job's events, oldest first. */
  events(jobId: string): JobEventRow[] {
    const query = builder
      .selectFrom("job_events")
      .selectAll()
      .where(sql<SqlBool>`${ref("job_id")} = ${jobId}`)
      .orderBy("seq")
      .compile();
    return this.jobs.all<JobEventRow>(query);
  }

  /** Other IN_PROGRESS jobs of a trusted account in a workspace (upstream's duplicate check, spec §3.3). */
  runningFor(job: Pick<JobRow, "job_id" | "domain_id" | "workspace_id" | "trusted_account_id">): JobRow[] {
    const query = builder
      .selectFrom("jobs")
      .selectAll()
      .where(
        sql<SqlBool>`${ref("domain_id")} = ${job.domain_id} AND ${ref("trusted_account_id")} = ${job.trusted_account_id}
          AND ${ref("workspace_id")} = ${job.workspace_id} AND ${ref("status")} = 'IN_PROGRESS'
          AND ${ref("job_id")} <> ${job.job_id}`,
      )
      .orderBy("seq")
      .compile();
    return this.jobs.all<JobRow>(query);
  }

  /**
   * Unfinished jobs the reaper must finish, oldest first, at most `limit`. Status literals are in the
   * SQL text (not parameters) so SQLite can use the partial indexes `jobs_pending` / `jobs_in_progress`.
   */
  stale(cutoffs: StaleCutoffs, limit: number): JobRow[] {
    const pending = builder
      .selectFrom("jobs")
      .selectAll()
      .where(sql<SqlBool>`${ref("status")} = 'PENDING' AND ${ref("created_at")} < ${cutoffs.pendingBefore}`)
      .orderBy("created_at")
      .limit(limit)
      .compile();
    const running = builder
      .selectFrom("jobs")
      .selectAll()
      .where(
        sql<SqlBool>`${ref("status")} = 'IN_PROGRESS' AND (
          coalesce(${ref("heartbeat_at")}, ${ref("started_at")}, ${ref("created_at")}) < ${cutoffs.heartbeatBefore}
          OR ${ref("cancel_requested_at")} < ${cutoffs.cancelRequestedBefore})`,
      )
      .orderBy("created_at")
      .limit(limit)
      .compile();
    return [...this.jobs.all<JobRow>(pending), ...this.jobs.all<JobRow>(running)].slice(0, limit);
  }

  /** Finished jobs that finished before `before`, oldest first, at most `limit`. */
  purgeCandidates(before: string, limit: number): PurgeCandidate[] {
    const query = builder
      .selectFrom("jobs")
      .select(["job_id", "domain_id", "workspace_id", "status", "finished_at"])
      .where(
        sql<SqlBool>`${ref("finished_at")} < ${before} AND ${ref("status")} IN ('SUCCESS', 'FAILURE', 'CANCELED')`,
      )
      .orderBy("finished_at")
      .limit(limit)
      .compile();
    return this.jobs.all<PurgeCandidate>(query);
  }

  /** Replace jobs by tombstones (their events go with them: ON DELETE CASCADE). */
  purge(candidates: readonly PurgeCandidate[], purgedAt: string): void {
    for (const c of candidates) {
      this.jobs.run(
        builder
          .insertInto("job_tombstones")
          .values({ ...c, purged_at: purgedAt })
          .onConflict((oc) => oc.column("job_id").doUpdateSet({ purged_at: purgedAt }))
          .compile(),
      );
      this.jobs.run(
        builder
          .deleteFrom("jobs")
          .where(sql<SqlBool>`${ref("job_id")} = ${c.job_id}`)
          .compile(),
      );
    }
  }

  /** Delete up to `limit` tombstones written before `before`; returns how many. */
  dropTombstones(before: string, limit: number): number {
    const query = sql`DELETE FROM ${ref("job_tombstones")} WHERE ${ref("job_id")} IN (
      SELECT ${ref("job_id")} FROM ${ref("job_tombstones")} WHERE ${ref("purged_at")} < ${before}
      ORDER BY ${ref("purged_at")} LIMIT ${limit})`.compile(builder);
    return this.jobs.run(query).changes;
  }

  /** Delete up to `limit` change-feed rows created before `before`; returns how many. */
  dropChanges(before: string, limit: number): number {
    const query = sql`DELETE FROM ${ref("job_changes")} WHERE ${ref("id")} IN (
      SELECT ${ref("id")} FROM ${ref("job_changes")} WHERE ${ref("created_at")} < ${before}
      ORDER BY ${ref("id")} LIMIT ${limit})`.compile(builder);
    return this.jobs.run(query).changes;
  }

  /** Append change-feed rows; returns the id of the last one (0 when there are none). */
  appendChanges(changes: readonly PendingChange[], createdAt: string): number {
    let last = 0;
    for (const c of changes) {
      const query = builder
        .insertInto("job_changes")
        .values({ ...c, created_at: createdAt })
        .compile();
      last = Number(this.jobs.run(query).lastInsertRowid);
    }
    return last;
  }

  /** The tombstone of a purged job, within a scope (the same conditions as a job lookup). */
  tombstone(jobId: string, scope: readonly Condition[]): JobTombstoneRow | undefined {
    const query = builder
      .selectFrom("job_tombstones")
      .selectAll()
      .where(sql<SqlBool>`${ref("job_id")} = ${jobId}`)
      .where(compileWhere(d, { and: scope, or: [] }))
      .compile();
    return this.jobs.one<JobTombstoneRow>(query);
  }

  private mustFind(jobId: string): JobRow {
    const row = this.jobs.get(jobId, []);
    if (!row) throw new Error(`job ${jobId} vanished inside a write transaction`);
    return row;
  }
}

/**
 * One write transaction's `WriteTx`: the lifecycle statements, each recording the job it changed.
 * Valid only while `SqliteStore.write` holds the transaction open.
 */
export class SqliteWriteTx implements WriteTx {
  private readonly changes = new Map<string, PendingChange>();

  constructor(private readonly lifecycle: SqliteLifecycle) {}

  async find(jobId: string, scope: readonly Condition[]): Promise<JobRow | undefined> {
    return this.lifecycle.find(jobId, scope);
  }

  async findByIdempotencyKey(
    domainId: string,
    workspaceId: string,
    key: string,
  ): Promise<JobRow | undefined> {
    return this.lifecycle.findByIdempotencyKey(domainId, workspaceId, key);
  }

  async idTaken(jobId: string): Promise<boolean> {
    return this.lifecycle.idTaken(jobId);
  }

  async insert(row: NewJob): Promise<InsertResult> {
    const result = this.lifecycle.insert(row);
    if (result.kind === "inserted") this.record(result.row, "created");
    return result;
  }

  async update(jobId: string, version: number, patch: JobPatch): Promise<JobRow> {
    const row = this.lifecycle.update(jobId, version, patch);
    this.record(row, "updated");
    return row;
  }

  async appendEvent(event: NewJobEvent): Promise<JobEventRow> {
    const row = this.lifecycle.appendEvent(event);
    const change = this.changes.get(row.job_id);
    if (change) this.changes.set(row.job_id, { ...change, event_seq: row.seq });
    return row;
  }

  async runningFor(
    job: Pick<JobRow, "job_id" | "domain_id" | "workspace_id" | "trusted_account_id">,
  ): Promise<JobRow[]> {
    return this.lifecycle.runningFor(job);
  }

  async stale(cutoffs: StaleCutoffs, limit: number): Promise<JobRow[]> {
    return this.lifecycle.stale(cutoffs, limit);
  }

  async purgeCandidates(before: string, limit: number): Promise<PurgeCandidate[]> {
    return this.lifecycle.purgeCandidates(before, limit);
  }

  async purge(candidates: readonly PurgeCandidate[], purgedAt: string): Promise<void> {
    this.lifecycle.purge(candidates, purgedAt);
    for (const c of candidates) this.record(c, "deleted");
  }

  async dropTombstones(before: string, limit: number): Promise<number> {
    return this.lifecycle.dropTombstones(before, limit);
  }

  async dropChanges(before: string, limit: number): Promise<number> {
    return this.lifecycle.dropChanges(before, limit);
  }

  /** A job deleted outside the lifecycle (Job.delete). */
  recordDeleted(job: Pick<JobRow, "job_id" | "domain_id" | "workspace_id">): void {
    this.record(job, "deleted");
  }

  /** Write the change rows (call before COMMIT); the new change-feed head, or 0 when nothing changed. */
  flushChanges(createdAt: string): number {
    if (this.changes.size === 0) return 0;
    return this.lifecycle.appendChanges([...this.changes.values()], createdAt);
  }

  private record(job: Pick<JobRow, "job_id" | "domain_id" | "workspace_id">, kind: JobChange["kind"]): void {
    const previous = this.changes.get(job.job_id);
    // A job created in this transaction stays "created" whatever else the transaction did to it.
    const merged = kind === "updated" && previous ? previous.kind : kind;
    this.changes.set(job.job_id, {
      job_id: job.job_id,
      domain_id: job.domain_id,
      workspace_id: job.workspace_id,
      kind: merged,
      event_seq: kind === "deleted" ? null : (previous?.event_seq ?? null),
    });
  }
}
