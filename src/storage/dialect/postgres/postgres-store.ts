/**
 * `JobStore` on PostgreSQL (store.ts states the contract). Reads that need one snapshot (a page and
 * its total, a job and its events, a stat) run in a REPEATABLE READ READ ONLY transaction; a read
 * with a deadline sets `statement_timeout` for its transaction, so PostgreSQL itself stops the work.
 *
 * Writes: group commit, in write-groups.ts.
 */
import type pg from "pg";
import { SpaceOneError } from "../../../errors.js";
import type { MaybePromise } from "../../../maybe-promise.js";
import type { Condition } from "../../../query/ast.js";
import type { StatQuery } from "../../../query/stat-ast.js";
import { compileStat } from "../../compile-stat.js";
import type { JobEventRow, JobRow, JobTombstoneRow } from "../../schema.js";
import {
  batchesOf,
  type ChangeCursor,
  fitsOneBatch,
  type JobChange,
  type JobStore,
  type ListRequest,
  type ListResult,
  type PoolUse,
  type ReadOptions,
  type StatOptions,
  type StatResult,
  type WriteTx,
} from "../../store.js";
import { WriteStatements } from "../../write-statements.js";
import { ChangeListener } from "./change-feed.js";
import { classifyPostgresError, deadlineExceeded, isConnectionFailure } from "./errors.js";
import { createPool, type PoolOptions } from "./pool.js";
import { postgresDialect } from "./postgres-dialect.js";
import { PostgresQueries, runQuery } from "./queries.js";
import { LIST_CURSOR, PostgresRowCursor } from "./row-cursor.js";
import { PostgresWriteGroups } from "./write-groups.js";

/** How long an unread list cursor may hold its connection when neither deadline nor statement timeout bounds it. */
const DEFAULT_CURSOR_HOLD_MS = 60_000;

export class PostgresStore implements JobStore {
  readonly pool: pg.Pool;
  private readonly q = new PostgresQueries(postgresDialect);
  private readonly statements = new WriteStatements(postgresDialect);
  private readonly writes: PostgresWriteGroups;
  private readonly listener: ChangeListener;
  private closed = false;

  constructor(
    readonly options: PoolOptions,
    /** Clock of the change feed's timestamps (tests inject one); the database's clock otherwise. */
    private readonly now: (() => Date) | null = null,
  ) {
    this.pool = createPool(options);
    this.listener = new ChangeListener(options, () => this.changeHead());
    this.writes = new PostgresWriteGroups({
      client: () => this.client(),
      fail: (error) => this.fail(error),
      now: this.now,
      committed: (head) => this.listener.emit(head),
    });
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

  /**
   * `fn` in one REPEATABLE READ READ ONLY transaction (one snapshot), bounded by the deadline. `fn`
   * may keep the transaction and its connection (`keep`): it then ends them itself (a list's cursor).
   */
  private async snapshot<T>(
    options: ReadOptions | undefined,
    fn: (client: pg.PoolClient, keep: () => void) => Promise<T>,
  ): Promise<T> {
    const left = this.remaining(options);
    const client = await this.client();
    let broken = false;
    let kept = false;
    try {
      const timeout = left === null ? "" : `; SET LOCAL statement_timeout = ${left}`;
      await client.query(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY${timeout}`);
      const result = await fn(client, () => {
        kept = true;
      });
      if (!kept) await client.query("COMMIT");
      return result;
    } catch (error) {
      kept = false;
      broken = isConnectionFailure(error);
      if (!broken) await client.query("ROLLBACK").catch(() => {});
      throw this.fail(error);
    } finally {
      if (!kept) client.release(broken);
    }
  }

  // ---- reads --------------------------------------------------------------------------------------

  async get(jobId: string, scope: readonly Condition[], options?: ReadOptions): Promise<JobRow | undefined> {
    this.remaining(options);
    return (await this.run<JobRow>(this.q.byId(jobId, scope), true))[0];
  }

  list(request: ListRequest, options?: ReadOptions): Promise<ListResult> {
    const header = this.q.listHeader(request);
    const page = this.q.listPage(request);
    // A cursor left unread gives its connection back at the deadline, or after the statement timeout.
    const holdUntil =
      options?.deadline ?? Date.now() + (this.options.statementTimeoutMs || DEFAULT_CURSOR_HOLD_MS);
    return this.snapshot(options, async (client, keep): Promise<ListResult> => {
      const counted = (await runQuery<{ n: number; head: number }>(client, header))[0];
      const total = counted?.n ?? 0;
      const cursor = counted?.head ?? 0;
      if (request.countOnly) return { kind: "ok", rows: batchesOf([]), total, cursor };
      if (request.page.limit === null && total > request.unpagedMax)
        return { kind: "too_many", total, cursor };
      // A page that fits one batch is read whole: a cursor would cost two round trips for one batch.
      if (fitsOneBatch(request))
        return { kind: "ok", rows: batchesOf(await runQuery<JobRow>(client, page)), total, cursor };
      await client.query({
        text: `DECLARE ${LIST_CURSOR} NO SCROLL CURSOR FOR ${page.sql}`,
        values: page.parameters as unknown[],
      });
      keep();
      return {
        kind: "ok",
        rows: new PostgresRowCursor(client, holdUntil, (e) => this.fail(e)),
        total,
        cursor,
      };
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
    return (await this.run<JobTombstoneRow>(this.statements.tombstone(jobId, scope)))[0];
  }

  events(
    jobId: string,
    scope: readonly Condition[],
    options?: ReadOptions,
  ): Promise<JobEventRow[] | undefined> {
    return this.snapshot(options, async (client) => {
      const job = await runQuery<JobRow>(client, this.q.byId(jobId, scope), true);
      if (job.length === 0) return undefined;
      return runQuery<JobEventRow>(client, this.statements.events(jobId));
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

  write<T>(fn: (tx: WriteTx) => MaybePromise<T>): Promise<T> {
    return this.writes.submit(fn);
  }

  delete(jobId: string, scope: readonly Condition[]): Promise<boolean> {
    return this.writes.submit((tx) => tx.deleteOne(jobId, scope));
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
    await this.writes.drained();
    this.closed = true;
    await this.listener.close();
    await this.pool.end();
  }
}
