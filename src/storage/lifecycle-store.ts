/**
 * The writes of the job lifecycle, and the reads they depend on: jobs by id or idempotency key, the
 * job's events, the reaper's and retention's scans, tombstones. Built with Kysely (compile only) and
 * run through the JobStore's cached statements, like every other query.
 *
 * Every read-modify-write runs inside `write()`, a `BEGIN IMMEDIATE` transaction: it takes the write
 * lock before the first read, so no other connection (another process on the same file) can commit
 * between our read and our write, and the read never fails later with SQLITE_BUSY_SNAPSHOT.
 */
import { type SqlBool, sql } from "kysely";
import type { Condition } from "../query/ast.js";
import { compileWhere } from "./compile-where.js";
import { CompiledTemplates } from "./compiled-template.js";
import { builder } from "./dialect/sqlite.js";
import type { JobStore } from "./job-store.js";
import type { JobEventRow, JobRow, JobTombstoneRow } from "./schema.js";

/** Columns a lifecycle write may set (never the id, the owner, the version or the generated duration). */
export type JobPatch = Partial<
  Omit<
    JobRow,
    | "seq"
    | "job_id"
    | "domain_id"
    | "workspace_id"
    | "trusted_account_id"
    | "created_at"
    | "idempotency_key"
    | "version"
    | "duration_seconds"
  >
>;

export type NewJobEvent = Omit<JobEventRow, "id" | "seq">;

/** A finished job the retention may purge: what its tombstone keeps. */
export type PurgeCandidate = Pick<
  JobTombstoneRow,
  "job_id" | "domain_id" | "workspace_id" | "status" | "finished_at"
>;

export interface StaleCutoffs {
  /** PENDING jobs created before this. */
  readonly pendingBefore: string;
  /** IN_PROGRESS jobs whose last heartbeat (or start, or creation) is before this. */
  readonly heartbeatBefore: string;
  /** IN_PROGRESS jobs whose cancel was requested before this. */
  readonly cancelRequestedBefore: string;
}

const ref = sql.ref;

export class LifecycleStore {
  private readonly templates = new CompiledTemplates();

  constructor(readonly jobs: JobStore) {}

  /** Run `fn` in one IMMEDIATE transaction (the write lock is taken before the first read). */
  write<T>(fn: () => T): T {
    return this.jobs.db.transaction(fn).immediate();
  }

  /** One job by id within a scope. */
  find(jobId: string, scope: readonly Condition[]): JobRow | undefined {
    return this.jobs.get(jobId, scope);
  }

  findByIdempotencyKey(domainId: string, key: string): JobRow | undefined {
    const query = builder
      .selectFrom("jobs")
      .selectAll()
      .where(sql<SqlBool>`${ref("domain_id")} = ${domainId} AND ${ref("idempotency_key")} = ${key}`)
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

  insert(row: Omit<JobRow, "seq" | "version" | "duration_seconds">): JobRow {
    this.jobs.insert(row);
    return this.mustFind(row.job_id);
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

  /** Other IN_PROGRESS jobs of a trusted account in a workspace (upstream's duplicate check, docs/compatibility.md, "Jobs and their lifecycle"). */
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

  /** Replace jobs by tombstones (their events go with them: ON DELETE CASCADE). Call inside `write()`. */
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

  /** The tombstone of a purged job, within a scope (the same conditions as a job lookup). */
  tombstone(jobId: string, scope: readonly Condition[]): JobTombstoneRow | undefined {
    const query = builder
      .selectFrom("job_tombstones")
      .selectAll()
      .where(sql<SqlBool>`${ref("job_id")} = ${jobId}`)
      .where(compileWhere({ and: scope, or: [] }))
      .compile();
    return this.jobs.one<JobTombstoneRow>(query);
  }

  private mustFind(jobId: string): JobRow {
    const row = this.jobs.get(jobId, []);
    if (!row) throw new Error(`job ${jobId} vanished inside a write transaction`);
    return row;
  }
}
