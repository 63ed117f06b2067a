/**
 * `WriteTx` on PostgreSQL: the reads and writes of one write transaction, on one pooled client,
 * at READ COMMITTED with row locks:
 * - `find` locks the job row (`FOR UPDATE`), so two instances changing one job queue on that row and
 *   the second one sees the first one's version: the version sequence stays gap-free and exact.
 * - `insert` uses `ON CONFLICT DO NOTHING` on the idempotency key: a concurrent create with the same
 *   key (any instance) waits for the first to commit and then gets `key_taken`.
 * - the reaper's and retention's batches use `FOR UPDATE SKIP LOCKED`: every instance may run them,
 *   each takes rows no other one holds, and no job is finished or purged twice.
 * Each changed job is remembered once; `PostgresStore.write` appends them to the change feed last.
 */
import { type SqlBool, sql } from "kysely";
import type pg from "pg";
import { SpaceOneError } from "../../../errors.js";
import type { Condition } from "../../../query/ast.js";
import type { JobEventRow, JobRow } from "../../schema.js";
import type {
  InsertResult,
  JobPatch,
  NewJob,
  NewJobEvent,
  PurgeCandidate,
  StaleCutoffs,
  WriteTx,
} from "../../store.js";
import type { PendingChange } from "./change-feed.js";
import { type PostgresQueries, runQuery } from "./queries.js";

const ref = sql.ref;

export class PostgresWriteTx implements WriteTx {
  /** job_id -> its change in this transaction (one row per changed job). */
  readonly changes = new Map<string, PendingChange>();
  private open = true;

  constructor(
    private readonly client: pg.ClientBase,
    private readonly q: PostgresQueries,
  ) {}

  /** No call is valid after the callback settled. */
  close(): void {
    this.open = false;
  }

  private async all<T>(query: { sql: string; parameters: readonly unknown[] }): Promise<T[]> {
    if (!this.open) throw new Error("WriteTx used after its transaction ended");
    return runQuery<T>(this.client, query);
  }

  private async one<T>(query: { sql: string; parameters: readonly unknown[] }): Promise<T | undefined> {
    return (await this.all<T>(query))[0];
  }

  private record(
    row: Pick<JobRow, "job_id" | "domain_id" | "workspace_id">,
    kind: PendingChange["kind"],
    eventSeq?: number,
  ): void {
    const previous = this.changes.get(row.job_id);
    this.changes.set(row.job_id, {
      job_id: row.job_id,
      domain_id: row.domain_id,
      workspace_id: row.workspace_id,
      // A job created (or deleted) in this transaction stays so, whatever else happened to it.
      kind: previous && previous.kind !== "updated" && kind === "updated" ? previous.kind : kind,
      event_seq: eventSeq ?? previous?.event_seq ?? null,
    });
  }

  find(jobId: string, scope: readonly Condition[]): Promise<JobRow | undefined> {
    return this.one<JobRow>(this.q.byId(jobId, scope, { lock: true }));
  }

  findByIdempotencyKey(domainId: string, workspaceId: string, key: string): Promise<JobRow | undefined> {
    const b = this.q.dialect.builder;
    return this.one<JobRow>(
      b
        .selectFrom("jobs")
        .selectAll()
        .where(
          sql<SqlBool>`${ref("domain_id")} = ${domainId} AND ${ref("workspace_id")} = ${workspaceId} AND ${ref(
            "idempotency_key",
          )} = ${key}`,
        )
        .compile(),
    );
  }

  async idTaken(jobId: string): Promise<boolean> {
    const row = await this.one<{ taken: boolean }>(
      sql<{ taken: boolean }>`SELECT EXISTS (SELECT 1 FROM ${ref("jobs")} WHERE ${ref("job_id")} = ${jobId})
        OR EXISTS (SELECT 1 FROM ${ref("job_tombstones")} WHERE ${ref("job_id")} = ${jobId}) AS taken`.compile(
        this.q.dialect.builder,
      ),
    );
    return row?.taken === true;
  }

  async insert(row: NewJob): Promise<InsertResult> {
    const query = this.q.dialect.builder
      .insertInto("jobs")
      .values(row)
      .onConflict((oc) =>
        oc
          .columns(["domain_id", "workspace_id", "idempotency_key"])
          .where(sql<SqlBool>`${ref("idempotency_key")} IS NOT NULL`)
          .doNothing(),
      )
      .returningAll()
      .compile();
    const inserted = await this.one<JobRow>(query);
    if (!inserted) return { kind: "key_taken" };
    this.record(inserted, "created");
    return { kind: "inserted", row: inserted };
  }

  async update(jobId: string, version: number, patch: JobPatch): Promise<JobRow> {
    const query = this.q.dialect.builder
      .updateTable("jobs")
      .set({ ...patch, version: sql<number>`${ref("version")} + 1` })
      .where(sql<SqlBool>`${ref("job_id")} = ${jobId} AND ${ref("version")} = ${version}`)
      .returningAll()
      .compile();
    const updated = await this.one<JobRow>(query);
    if (!updated) {
      throw new SpaceOneError(
        "ERROR_VERSION_MISMATCH",
        "aborted",
        `The job was changed by another writer; read it again and retry. (job_id = ${jobId}, expected_version = ${version})`,
        { reason: "VERSION_MISMATCH" },
      );
    }
    this.record(updated, "updated");
    return updated;
  }

  async appendEvent(event: NewJobEvent): Promise<JobEventRow> {
    const next = sql<number>`(SELECT coalesce(max(${ref("seq")}), 0) + 1 FROM ${ref("job_events")} WHERE ${ref(
      "job_id",
    )} = ${event.job_id})`;
    const query = this.q.dialect.builder
      .insertInto("job_events")
      .values({ ...event, seq: next })
      .returningAll()
      .compile();
    const row = (await this.one<JobEventRow>(query)) as JobEventRow;
    const change = this.changes.get(event.job_id);
    if (change) this.changes.set(event.job_id, { ...change, event_seq: row.seq });
    return row;
  }

  runningFor(
    job: Pick<JobRow, "job_id" | "domain_id" | "workspace_id" | "trusted_account_id">,
  ): Promise<JobRow[]> {
    return this.all<JobRow>(
      this.q.dialect.builder
        .selectFrom("jobs")
        .selectAll()
        .where(
          sql<SqlBool>`${ref("domain_id")} = ${job.domain_id} AND ${ref("trusted_account_id")} = ${job.trusted_account_id}
            AND ${ref("workspace_id")} = ${job.workspace_id} AND ${ref("status")} = 'IN_PROGRESS'
            AND ${ref("job_id")} <> ${job.job_id}`,
        )
        .orderBy("seq")
        .forUpdate()
        .compile(),
    );
  }

  async stale(cutoffs: StaleCutoffs, limit: number): Promise<JobRow[]> {
    const b = this.q.dialect.builder;
    // Status literals stay in the SQL text so the partial indexes jobs_pending / jobs_in_progress apply.
    const pending = await this.all<JobRow>(
      b
        .selectFrom("jobs")
        .selectAll()
        .where(sql<SqlBool>`${ref("status")} = 'PENDING' AND ${ref("created_at")} < ${cutoffs.pendingBefore}`)
        .orderBy("created_at")
        .limit(limit)
        .forUpdate()
        .skipLocked()
        .compile(),
    );
    if (pending.length >= limit) return pending;
    const running = await this.all<JobRow>(
      b
        .selectFrom("jobs")
        .selectAll()
        .where(
          sql<SqlBool>`${ref("status")} = 'IN_PROGRESS' AND (
            coalesce(${ref("heartbeat_at")}, ${ref("started_at")}, ${ref("created_at")}) < ${cutoffs.heartbeatBefore}
            OR ${ref("cancel_requested_at")} < ${cutoffs.cancelRequestedBefore})`,
        )
        .orderBy("created_at")
        .limit(limit - pending.length)
        .forUpdate()
        .skipLocked()
        .compile(),
    );
    return [...pending, ...running];
  }

  purgeCandidates(before: string, limit: number): Promise<PurgeCandidate[]> {
    return this.all<PurgeCandidate>(
      this.q.dialect.builder
        .selectFrom("jobs")
        .select(["job_id", "domain_id", "workspace_id", "status", "finished_at"])
        .where(
          sql<SqlBool>`${ref("finished_at")} < ${before} AND ${ref("status")} IN ('SUCCESS', 'FAILURE', 'CANCELED')`,
        )
        .orderBy("finished_at")
        .limit(limit)
        .forUpdate()
        .skipLocked()
        .compile(),
    );
  }

  async purge(candidates: readonly PurgeCandidate[], purgedAt: string): Promise<void> {
    if (candidates.length === 0) return;
    await this.all(
      sql`INSERT INTO ${ref("job_tombstones")} (job_id, domain_id, workspace_id, status, finished_at, purged_at)
        SELECT j, d, w, s, f, ${purgedAt}::timestamptz
        FROM unnest(${candidates.map((c) => c.job_id)}::text[], ${candidates.map((c) => c.domain_id)}::text[],
                    ${candidates.map((c) => c.workspace_id)}::text[], ${candidates.map((c) => c.status)}::text[],
                    ${candidates.map((c) => c.finished_at)}::timestamptz[]) AS t(j, d, w, s, f)
        ON CONFLICT (job_id) DO UPDATE SET purged_at = EXCLUDED.purged_at`.compile(this.q.dialect.builder),
    );
    const deleted = await this.all<Pick<JobRow, "job_id" | "domain_id" | "workspace_id">>(
      sql`DELETE FROM ${ref("jobs")} WHERE ${ref("job_id")} = ANY(${candidates.map((c) => c.job_id)}::text[])
        RETURNING job_id, domain_id, workspace_id`.compile(this.q.dialect.builder),
    );
    for (const row of deleted) this.record(row, "deleted");
  }

  async dropTombstones(before: string, limit: number): Promise<number> {
    const rows = await this.all(
      sql`DELETE FROM ${ref("job_tombstones")} WHERE ${ref("job_id")} IN (
        SELECT ${ref("job_id")} FROM ${ref("job_tombstones")} WHERE ${ref("purged_at")} < ${before}
        ORDER BY ${ref("purged_at")} LIMIT ${limit} FOR UPDATE SKIP LOCKED) RETURNING 1`.compile(
        this.q.dialect.builder,
      ),
    );
    return rows.length;
  }

  async dropChanges(before: string, limit: number): Promise<number> {
    const rows = await this.all(
      sql`DELETE FROM ${ref("job_changes")} WHERE ${ref("id")} IN (
        SELECT ${ref("id")} FROM ${ref("job_changes")} WHERE ${ref("created_at")} < ${before}
        ORDER BY ${ref("id")} LIMIT ${limit} FOR UPDATE SKIP LOCKED) RETURNING 1`.compile(
        this.q.dialect.builder,
      ),
    );
    return rows.length;
  }

  /** Delete one job within a scope (JobStore.delete runs this in its own write transaction). */
  async deleteOne(jobId: string, scope: readonly Condition[]): Promise<boolean> {
    const rows = await this.all<Pick<JobRow, "job_id" | "domain_id" | "workspace_id">>(
      this.q.deleteById(jobId, scope),
    );
    for (const row of rows) this.record(row, "deleted");
    return rows.length > 0;
  }
}
