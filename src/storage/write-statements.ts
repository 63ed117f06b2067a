/**
 * The statements of a write transaction, compiled over a `Dialect`: the version-checked update, the
 * event append, the change-feed append, the idempotent insert and the housekeeping batches. Both
 * backends run exactly these (write-tx.ts); what differs between them comes from the dialect (row
 * locks, the query compiler) and from the store that runs them (how a statement reaches the
 * database, the change feed's commit-order lock on PostgreSQL).
 *
 * Every statement that writes returns what it wrote (`RETURNING`), so no backend reads a row back.
 */
import { type RawBuilder, type SqlBool, sql } from "kysely";
import type { Condition } from "../query/ast.js";
import { compileWhere } from "./compile-where.js";
import { type Compiled, CompiledTemplates, PointTemplates } from "./compiled-template.js";
import type { Dialect, Expr } from "./dialect/dialect.js";
import type { JobChangesTable } from "./schema.js";
import {
  type JobPatch,
  LOCKED_COLUMNS,
  type NewJob,
  type NewJobEvent,
  type PurgeCandidate,
  type StaleCutoffs,
} from "./store.js";

const ref = sql.ref;

/** Six parameters a change row: far below SQLite's 32,766 and PostgreSQL's 65,535 per statement. */
const CHANGES_PER_STATEMENT = 1000;

/** A change-feed row to append (the id is assigned by the database). */
export type ChangeRow = Omit<JobChangesTable, "id" | "created_at">;

/** A change row's columns, in the order its values are bound. */
const CHANGE_COLUMNS = [
  "job_id",
  "domain_id",
  "workspace_id",
  "kind",
  "event_seq",
] as const satisfies readonly (keyof ChangeRow)[];

/**
 * Change-feed appends of up to this many rows are compiled once per row count (at most this many
 * texts kept, 385 slots for the largest); a larger group compiles its own, a cost shared by its
 * writes. Not the templates' default of 64 values: that sent every group of more than 10 writes
 * through Kysely at each commit (docs/benchmarks.md, "Progress writes, fifth pass").
 */
const TEMPLATED_CHANGE_ROWS = 64;

export class WriteStatements {
  private readonly templates = new CompiledTemplates();
  private readonly points = new PointTemplates();
  /** Apart from the point statements': one per group size, which must not evict those. */
  private readonly changeTemplates = new CompiledTemplates(TEMPLATED_CHANGE_ROWS * CHANGE_COLUMNS.length + 1);

  constructor(readonly dialect: Dialect) {}

  private get b() {
    return this.dialect.builder;
  }

  private scoped(conditions: readonly Condition[]) {
    return conditions.length === 0
      ? this.dialect.true
      : compileWhere(this.dialect, { and: conditions, or: [] });
  }

  /** One job by id within a scope, locked for the transaction (compiled once per scope shape). */
  find(jobId: string, scope: readonly Condition[]): Compiled {
    return this.lockedJob("find", jobId, scope, (id, conditions) =>
      this.dialect.lockRows(this.jobWhere(id, conditions).selectAll(), "wait").compile(),
    );
  }

  /** `find`, reading only `LOCKED_COLUMNS`. */
  lock(jobId: string, scope: readonly Condition[]): Compiled {
    return this.lockedJob("lock", jobId, scope, (id, conditions) =>
      this.dialect.lockRows(this.jobWhere(id, conditions).select(LOCKED_COLUMNS), "wait").compile(),
    );
  }

  private jobWhere(id: unknown, conditions: readonly Condition[]) {
    return this.b
      .selectFrom("jobs")
      .where(sql<SqlBool>`${ref("job_id")} = ${id}`)
      .where(this.scoped(conditions));
  }

  /** A locked read of one job, compiled once per scope shape when the scope has one. */
  private lockedJob(
    name: string,
    jobId: string,
    scope: readonly Condition[],
    build: (id: unknown, conditions: readonly Condition[]) => Compiled,
  ): Compiled {
    return this.points.compile(name, jobId, scope, build);
  }

  findByIdempotencyKey(domainId: string, workspaceId: string, key: string): Compiled {
    return this.b
      .selectFrom("jobs")
      .selectAll()
      .where(
        sql<SqlBool>`${ref("domain_id")} = ${domainId} AND ${ref("workspace_id")} = ${workspaceId} AND ${ref(
          "idempotency_key",
        )} = ${key}`,
      )
      .compile();
  }

  /** `taken`: truthy when the id belongs to a job or to a purged job's tombstone. */
  idTaken(jobId: string): Compiled {
    return sql`SELECT (EXISTS (SELECT 1 FROM ${ref("jobs")} WHERE ${ref("job_id")} = ${jobId})
      OR EXISTS (SELECT 1 FROM ${ref("job_tombstones")} WHERE ${ref("job_id")} = ${jobId})) AS taken`.compile(
      this.b,
    );
  }

  /** Insert a job; a taken idempotency key inserts (and returns) nothing. */
  insert(row: NewJob): Compiled {
    return this.b
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
  }

  /**
   * Apply a patch and bump the version if the version is still `version`; returns the new row, or
   * nothing when the version moved. The hottest write (progress reports): compiled once per set of
   * patched columns when the values are plain.
   */
  update(jobId: string, version: number, patch: JobPatch): Compiled {
    const keys = Object.keys(patch).sort() as (keyof JobPatch)[];
    const build = (args: readonly unknown[]) =>
      this.b
        .updateTable("jobs")
        .set({
          ...(Object.fromEntries(keys.map((k, i) => [k, args[i + 2]])) as JobPatch),
          version: sql<number>`${ref("version")} + 1`,
        })
        .where(sql<SqlBool>`${ref("job_id")} = ${args[0]} AND ${ref("version")} = ${args[1]}`)
        .returningAll()
        .compile();
    const args: unknown[] = [jobId, version];
    let plain = true;
    for (const k of keys) {
      const value = patch[k];
      args.push(value);
      if (!isPlain(value)) plain = false;
    }
    return plain ? this.templates.compile(`update|${keys.join(",")}`, args, build) : build(args);
  }

  /** Append an event with the job's next sequence number (computed under the job's lock). */
  appendEvent(event: NewJobEvent): Compiled {
    const next = sql<number>`(SELECT coalesce(max(${ref("seq")}), 0) + 1 FROM ${ref("job_events")} WHERE ${ref(
      "job_id",
    )} = ${event.job_id})`;
    return this.b
      .insertInto("job_events")
      .values({ ...event, seq: next })
      .returningAll()
      .compile();
  }

  /** A job's events, oldest first. */
  events(jobId: string): Compiled {
    return this.b
      .selectFrom("job_events")
      .selectAll()
      .where(sql<SqlBool>`${ref("job_id")} = ${jobId}`)
      .orderBy("seq")
      .compile();
  }

  /** The tombstone of a purged job, within a scope (the same conditions as a job lookup). */
  tombstone(jobId: string, scope: readonly Condition[]): Compiled {
    return this.b
      .selectFrom("job_tombstones")
      .selectAll()
      .where(sql<SqlBool>`${ref("job_id")} = ${jobId}`)
      .where(this.scoped(scope))
      .compile();
  }

  /** Jobs matching `where` in `order`, at most `limit`, locked for the transaction as `mode` says. */
  private lockedJobs(
    where: RawBuilder<SqlBool>,
    order: "seq" | "created_at",
    mode: "wait" | "skip",
    limit?: number,
  ) {
    const query = this.b.selectFrom("jobs").selectAll().where(where).orderBy(order);
    return this.dialect.lockRows(limit === undefined ? query : query.limit(limit), mode).compile();
  }

  /** Other IN_PROGRESS jobs of a trusted account in a workspace (the duplicate rule), locked. */
  runningFor(job: { job_id: string; domain_id: string; workspace_id: string; trusted_account_id: string }) {
    return this.lockedJobs(
      sql<SqlBool>`${ref("domain_id")} = ${job.domain_id} AND ${ref("trusted_account_id")} = ${job.trusted_account_id}
        AND ${ref("workspace_id")} = ${job.workspace_id} AND ${ref("status")} = 'IN_PROGRESS'
        AND ${ref("job_id")} <> ${job.job_id}`,
      "seq",
      "wait",
    );
  }

  /**
   * The reaper's batches: PENDING jobs never started, then IN_PROGRESS jobs whose heartbeat or cancel
   * is overdue, oldest first, skipping rows another transaction holds. Status literals stay in the SQL
   * text so the partial indexes `jobs_pending` / `jobs_in_progress` apply.
   */
  stalePending(cutoffs: StaleCutoffs, limit: number): Compiled {
    return this.lockedJobs(
      sql<SqlBool>`${ref("status")} = 'PENDING' AND ${ref("created_at")} < ${cutoffs.pendingBefore}`,
      "created_at",
      "skip",
      limit,
    );
  }

  staleRunning(cutoffs: StaleCutoffs, limit: number): Compiled {
    return this.lockedJobs(
      sql<SqlBool>`${ref("status")} = 'IN_PROGRESS' AND (
        coalesce(${ref("heartbeat_at")}, ${ref("started_at")}, ${ref("created_at")}) < ${cutoffs.heartbeatBefore}
        OR ${ref("cancel_requested_at")} < ${cutoffs.cancelRequestedBefore})`,
      "created_at",
      "skip",
      limit,
    );
  }

  /** Finished jobs that finished before `before`, oldest first, at most `limit`, locked. */
  purgeCandidates(before: string, limit: number): Compiled {
    return this.dialect
      .lockRows(
        this.b
          .selectFrom("jobs")
          .select(["job_id", "domain_id", "workspace_id", "status", "finished_at"])
          .where(
            sql<SqlBool>`${ref("finished_at")} < ${before} AND ${ref("status")} IN ('SUCCESS', 'FAILURE', 'CANCELED')`,
          )
          .orderBy("finished_at")
          .limit(limit),
        "skip",
      )
      .compile();
  }

  /** Tombstones for purged jobs (a second purge of one id only moves its time). */
  insertTombstones(candidates: readonly PurgeCandidate[], purgedAt: string): Compiled {
    return this.b
      .insertInto("job_tombstones")
      .values(candidates.map((c) => ({ ...c, purged_at: purgedAt })))
      .onConflict((oc) => oc.column("job_id").doUpdateSet({ purged_at: purgedAt }))
      .compile();
  }

  /** Delete jobs by id (their events go with them: ON DELETE CASCADE); returns who owned them. */
  deleteJobs(jobIds: readonly string[]): Compiled {
    return this.b
      .deleteFrom("jobs")
      .where("job_id", "in", [...jobIds])
      .returning(["job_id", "domain_id", "workspace_id"])
      .compile();
  }

  /** Delete one job within a scope; returns who owned it. */
  deleteOne(jobId: string, scope: readonly Condition[]): Compiled {
    return this.b
      .deleteFrom("jobs")
      .where(sql<SqlBool>`${ref("job_id")} = ${jobId}`)
      .where(this.scoped(scope))
      .returning(["job_id", "domain_id", "workspace_id"])
      .compile();
  }

  /** Delete up to `limit` tombstones written before `before`; returns one row per deleted one. */
  dropTombstones(before: string, limit: number): Compiled {
    return this.b
      .deleteFrom("job_tombstones")
      .where("job_id", "in", () =>
        this.dialect.lockRows(
          this.b
            .selectFrom("job_tombstones")
            .select("job_id")
            .where(sql<SqlBool>`${ref("purged_at")} < ${before}`)
            .orderBy("purged_at")
            .limit(limit),
          "skip",
        ),
      )
      .returning("job_id")
      .compile();
  }

  /** Delete up to `limit` change-feed rows created before `before`; returns one row per deleted one. */
  dropChanges(before: string, limit: number): Compiled {
    return this.b
      .deleteFrom("job_changes")
      .where("id", "in", () =>
        this.dialect.lockRows(
          this.b
            .selectFrom("job_changes")
            .select("id")
            .where(sql<SqlBool>`${ref("created_at")} < ${before}`)
            .orderBy("id")
            .limit(limit),
          "skip",
        ),
      )
      .returning("id")
      .compile();
  }

  /**
   * Append change-feed rows; each statement returns its rows' ids. `createdAt` is a time or an
   * expression of the database's clock. Call it last in the transaction: see the store for what keeps
   * ids in commit order. Split so no statement binds more parameters than SQLite allows.
   */
  appendChanges(changes: readonly ChangeRow[], createdAt: string | Expr): Compiled[] {
    const statements: Compiled[] = [];
    for (let i = 0; i < changes.length; i += CHANGES_PER_STATEMENT) {
      const rows = changes.slice(i, i + CHANGES_PER_STATEMENT);
      const build = (values: readonly unknown[]) =>
        this.b
          .insertInto("job_changes")
          .values(
            rows.map((_, r) => {
              const at = r * CHANGE_COLUMNS.length;
              return {
                ...(Object.fromEntries(CHANGE_COLUMNS.map((k, c) => [k, values[at + c]])) as ChangeRow),
                created_at: (typeof createdAt === "string" ? values[values.length - 1] : createdAt) as string,
              };
            }),
          )
          .returning("id")
          .compile();
      const values = rows.flatMap((c) => CHANGE_COLUMNS.map((k) => c[k]));
      // Every group commit appends these: compiled once per row count (the text depends on nothing else),
      // the time bound as a value or written as a database-clock expression (PostgreSQL's `now()`, whose
      // text goes into the key). An expression with values of its own is compiled as it is.
      if (typeof createdAt === "string") {
        statements.push(
          this.changeTemplates.compile(`changes|${rows.length}`, [...values, createdAt], build),
        );
        continue;
      }
      const clock = createdAt.compile(this.b);
      statements.push(
        clock.parameters.length === 0
          ? this.changeTemplates.compile(`changes|${rows.length}|${clock.sql}`, values, build)
          : build(values),
      );
    }
    return statements;
  }
}

/** A value bound as it is (a template's parameter), not one Kysely would turn into SQL of its own. */
function isPlain(value: unknown): boolean {
  const type = typeof value;
  return value === null || type === "string" || type === "number" || type === "boolean";
}
