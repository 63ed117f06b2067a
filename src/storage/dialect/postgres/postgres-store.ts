/**
 * `JobStore` on PostgreSQL (store.ts states the contract). Reads that need one snapshot (a page and
 * its total, a job and its events, a stat) run in a REPEATABLE READ READ ONLY transaction; a read
 * with a deadline sets `statement_timeout` for its transaction, so PostgreSQL itself stops the work.
 *
 * Writes: `write()` runs the callback in a READ COMMITTED transaction on one pooled client
 * (write-tx.ts: row locks, ON CONFLICT, SKIP LOCKED), appends the change feed last under its lock
 * (change-feed.ts), and commits. A serialization failure, a deadlock or a connection lost before the
 * COMMIT was sent rolls everything back and runs the callback again (at most 3 times); a failure
 * during the COMMIT itself is reported as `unavailable` without a retry, since the outcome is unknown
 * (the version check makes a client's retry safe).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";
import { SpaceOneError } from "../../../errors.js";
import type { Condition } from "../../../query/ast.js";
import type { StatQuery } from "../../../query/stat-ast.js";
import { compileStat } from "../../compile-stat.js";
import type { JobEventRow, JobRow, JobTombstoneRow } from "../../schema.js";
import type {
  ChangeCursor,
  JobChange,
  JobStore,
  ListRequest,
  ListResult,
  PoolUse,
  ReadOptions,
  StatOptions,
  StatResult,
  WriteTx,
} from "../../store.js";
import { appendChanges, ChangeListener } from "./change-feed.js";
import { classifyPostgresError, deadlineExceeded, isConnectionFailure, isRetryable } from "./errors.js";
import { createPool, type PoolOptions } from "./pool.js";
import { postgresDialect } from "./postgres-dialect.js";
import { PostgresQueries, runQuery } from "./queries.js";
import { PostgresWriteTx } from "./write-tx.js";

const WRITE_ATTEMPTS = 3;

export class PostgresStore implements JobStore {
  readonly pool: pg.Pool;
  private readonly q = new PostgresQueries(postgresDialect);
  private readonly listener: ChangeListener;
  private closed = false;

  constructor(
    readonly options: PoolOptions,
    /** Clock of the change feed's timestamps (tests inject one); the database's clock otherwise. */
    private readonly now: (() => Date) | null = null,
  ) {
    this.pool = createPool(options);
    this.listener = new ChangeListener(options, () => this.changeHead());
  }

  // ---- plumbing -----------------------------------------------------------------------------------

  /** A storage failure as the caller must see it (SpaceOneErrors pass through). */
  private fail(error: unknown): Error {
    if (error instanceof SpaceOneError) return error;
    return classifyPostgresError(error) ?? (error as Error);
  }

  private async client(): Promise<pg.PoolClient> {
    if (this.closed)
      throw new SpaceOneError(
        "ERROR_UNAVAILABLE",
        "unavailable",
        "Server is unavailable. (reason = the service is shutting down)",
      );
    try {
      return await this.pool.connect();
    } catch (error) {
      throw this.fail(error);
    }
  }

  /** Milliseconds left before the deadline; throws deadline_exceeded when none are. */
  private remaining(options?: ReadOptions): number | null {
    if (options?.signal?.aborted) throw deadlineExceeded("the call was cancelled");
    if (options?.deadline === undefined) return null;
    const left = Math.floor(options.deadline - Date.now());
    if (left <= 0) throw deadlineExceeded("the call's deadline passed before its query started");
    return left;
  }

  /** One statement on a pooled connection (autocommit). */
  private async run<T>(
    query: { sql: string; parameters: readonly unknown[] },
    prepare = false,
  ): Promise<T[]> {
    const client = await this.client();
    let broken = false;
    try {
      return await runQuery<T>(client, query, prepare);
    } catch (error) {
      broken = isConnectionFailure(error);
      throw this.fail(error);
    } finally {
      client.release(broken);
    }
  }

  /** `fn` in one REPEATABLE READ READ ONLY transaction (one snapshot), bounded by the deadline. */
  private async snapshot<T>(
    options: ReadOptions | undefined,
    fn: (client: pg.PoolClient) => Promise<T>,
  ): Promise<T> {
    const left = this.remaining(options);
    const client = await this.client();
    let broken = false;
    try {
      const timeout = left === null ? "" : `; SET LOCAL statement_timeout = ${left}`;
      await client.query(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY${timeout}`);
      const result = await fn(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      broken = isConnectionFailure(error);
      if (!broken) await client.query("ROLLBACK").catch(() => {});
      throw this.fail(error);
    } finally {
      client.release(broken);
    }
  }

  // ---- reads --------------------------------------------------------------------------------------

  async get(jobId: string, scope: readonly Condition[], options?: ReadOptions): Promise<JobRow | undefined> {
    this.remaining(options);
    return (await this.run<JobRow>(this.q.byId(jobId, scope), true))[0];
  }

  list(request: ListRequest, options?: ReadOptions): Promise<ListResult> {
    const count = this.q.listCount(request);
    const page = this.q.listPage(request);
    return this.snapshot(options, async (client) => {
      const total = (await runQuery<{ n: number }>(client, count))[0]?.n ?? 0;
      const cursor = await headOf(client);
      if (request.countOnly) return { kind: "ok" as const, rows: [], total, cursor };
      if (request.page.limit === null && total > request.unpagedMax)
        return { kind: "too_many" as const, total, cursor };
      return { kind: "ok" as const, rows: await runQuery<JobRow>(client, page), total, cursor };
    });
  }

  stat(query: StatQuery, statOptions: StatOptions, options?: ReadOptions): Promise<StatResult> {
    const plan = compileStat(postgresDialect, query, { maxRows: statOptions.maxRows });
    return this.snapshot(options, async (client) => {
      const rows = await runQuery<Record<string, unknown>>(client, plan.rows);
      const total =
        plan.total === null ? null : ((await runQuery<{ n: number }>(client, plan.total))[0]?.n ?? 0);
      return { rows, total, shape: plan.result, cap: plan.cap };
    });
  }

  async tombstone(
    jobId: string,
    scope: readonly Condition[],
    options?: ReadOptions,
  ): Promise<JobTombstoneRow | undefined> {
    this.remaining(options);
    return (await this.run<JobTombstoneRow>(this.q.tombstone(jobId, scope)))[0];
  }

  events(
    jobId: string,
    scope: readonly Condition[],
    options?: ReadOptions,
  ): Promise<JobEventRow[] | undefined> {
    return this.snapshot(options, async (client) => {
      const job = await runQuery<JobRow>(client, this.q.byId(jobId, scope), true);
      if (job.length === 0) return undefined;
      return runQuery<JobEventRow>(client, this.q.events(jobId));
    });
  }

  // ---- change feed --------------------------------------------------------------------------------

  async changesAfter(afterId: ChangeCursor, limit: number, options?: ReadOptions): Promise<JobChange[]> {
    this.remaining(options);
    return this.run<JobChange>(
      {
        sql: "SELECT id, job_id, domain_id, workspace_id, kind, event_seq, created_at FROM job_changes WHERE id > $1 ORDER BY id LIMIT $2",
        parameters: [afterId, limit],
      },
      true,
    );
  }

  async changeHead(): Promise<ChangeCursor> {
    const rows = await this.run<{ head: number }>({
      sql: "SELECT coalesce(max(id), 0) AS head FROM job_changes",
      parameters: [],
    });
    return rows[0]?.head ?? 0;
  }

  async oldestChange(): Promise<ChangeCursor | null> {
    const rows = await this.run<{ id: number | null }>({
      sql: "SELECT min(id) AS id FROM job_changes",
      parameters: [],
    });
    return rows[0]?.id ?? null;
  }

  async jobsByIds(ids: readonly string[], options?: ReadOptions): Promise<JobRow[]> {
    this.remaining(options);
    if (ids.length === 0) return [];
    return this.run<JobRow>({
      sql: "SELECT * FROM jobs WHERE job_id = ANY($1::text[])",
      parameters: [[...ids]],
    });
  }

  /**
   * Called with the new head after every commit of a job change by ANY instance (LISTEN/NOTIFY),
   * and right after this process's own commits.
   */
  onCommit(listener: (head: ChangeCursor) => void): () => void {
    return this.listener.subscribe(listener);
  }

  /** Resolves once the LISTEN connection is up (when anyone subscribed). */
  listening(): Promise<void> {
    return this.listener.ready();
  }

  // ---- writes -------------------------------------------------------------------------------------

  async write<T>(fn: (tx: WriteTx) => Promise<T>): Promise<T> {
    return this.transact((tx) => fn(tx));
  }

  async delete(jobId: string, scope: readonly Condition[]): Promise<boolean> {
    return this.transact((tx) => tx.deleteOne(jobId, scope));
  }

  private async transact<T>(fn: (tx: PostgresWriteTx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.client();
      let commitSent = false;
      let broken = false;
      try {
        await client.query("BEGIN");
        const tx = new PostgresWriteTx(client, this.q);
        let result: T;
        try {
          result = await fn(tx);
        } finally {
          tx.close();
        }
        const changes = [...tx.changes.values()];
        const head =
          changes.length > 0
            ? await appendChanges(client, changes, this.now?.().toISOString() ?? null)
            : null;
        commitSent = true;
        await client.query("COMMIT");
        if (head !== null) this.listener.emit(head);
        return result;
      } catch (error) {
        broken = isConnectionFailure(error);
        if (!broken && !commitSent) await client.query("ROLLBACK").catch(() => {});
        const retry = !commitSent && attempt < WRITE_ATTEMPTS && (isRetryable(error) || broken);
        if (!retry) throw this.fail(error);
      } finally {
        client.release(broken);
      }
      // Jittered backoff so two instances that deadlocked do not collide again.
      await sleep(10 * attempt + Math.floor(Math.random() * 20));
    }
  }

  /** The pool's connections checked out and idle, and the callers waiting for one. */
  poolUse(): PoolUse[] {
    const { totalCount, idleCount, waitingCount } = this.pool;
    return [
      { pool: "connections", state: "in_use", count: totalCount - idleCount },
      { pool: "connections", state: "idle", count: idleCount },
      { pool: "connections", state: "waiting", count: waitingCount },
    ];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.listener.close();
    await this.pool.end();
  }
}

async function headOf(client: pg.ClientBase): Promise<ChangeCursor> {
  const { rows } = await client.query<{ head: number }>(
    "SELECT coalesce(max(id), 0) AS head FROM job_changes",
  );
  return rows[0]?.head ?? 0;
}
