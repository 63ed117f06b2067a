/**
 * The `JobStore` on SQLite (better-sqlite3, synchronous, one connection per process for writes).
 *
 * Writes: one queue. `write()` callers run one at a time, each in its own BEGIN IMMEDIATE
 * transaction, so two async callers never interleave statements inside one transaction; the
 * change-feed rows are written just before COMMIT and `onCommit` listeners hear the new head after it.
 *
 * Reads on the main connection never run while a write transaction is open on it (they would see
 * uncommitted rows): they wait for that one transaction to end. Heavy reads (list, stat) may be
 * handed to a `ReadPool` of worker threads with their own read-only connections, where a deadline
 * can stop them; without a pool (":memory:" databases, tests) they run here.
 *
 * Driver errors leave this class as SpaceOneErrors classified by the dialect (`storage/errors.ts`).
 */
import type { Condition } from "../../query/ast.js";
import type { StatQuery } from "../../query/stat-ast.js";
import type { Db } from "../database.js";
import { asStorageError, deadlineExceeded } from "../errors.js";
import { databaseProblem } from "../readiness.js";
import type { JobEventRow, JobRow, JobTombstoneRow } from "../schema.js";
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
} from "../store.js";
import { type DeletedJob, SqliteJobs } from "./sqlite-jobs.js";
import { SqliteLifecycle, SqliteWriteTx } from "./sqlite-write-tx.js";

/** Runs heavy reads elsewhere (worker threads); see `read-pool.ts`. */
export interface HeavyReader {
  list(request: ListRequest, options?: ReadOptions): Promise<ListResult>;
  stat(query: StatQuery, statOptions: StatOptions, options?: ReadOptions): Promise<StatResult>;
  close(): Promise<void>;
  /** How busy it is now (the pool gauge). */
  use?(): ReaderUse;
}

export interface ReaderUse {
  readonly inUse: number;
  readonly idle: number;
  readonly starting: number;
  readonly waiting: number;
}

export interface SqliteStoreOptions {
  /** Clock of the change rows' `created_at` (tests inject one). */
  readonly now?: () => Date;
  /** Where list and stat run; without one they run on the main connection. */
  readonly reader?: HeavyReader;
  /** `close()` also closes `db` (the store opened it). */
  readonly ownsConnection?: boolean;
}

export class SqliteStore implements JobStore {
  readonly jobs: SqliteJobs;
  private readonly lifecycle: SqliteLifecycle;
  private readonly now: () => Date;
  private readonly reader: HeavyReader | undefined;
  private readonly ownsConnection: boolean;
  private readonly listeners = new Set<(head: ChangeCursor) => void>();
  /** The end of the last queued write. */
  private tail: Promise<unknown> = Promise.resolve();
  /** Settles when the open write transaction ends; null when none is open. */
  private open: Promise<void> | null = null;
  /** Writes queued behind the open one. */
  private queued = 0;

  constructor(
    readonly db: Db,
    options: SqliteStoreOptions = {},
  ) {
    this.jobs = new SqliteJobs(db);
    this.lifecycle = new SqliteLifecycle(this.jobs);
    this.now = options.now ?? (() => new Date());
    this.reader = options.reader;
    this.ownsConnection = options.ownsConnection ?? false;
  }

  async ping(): Promise<string | null> {
    return databaseProblem(this.db);
  }

  /** The writer (its open transaction, the writes queued behind it) and the read workers, if any. */
  poolUse(): PoolUse[] {
    const uses: PoolUse[] = [
      { pool: "writer", state: "in_use", count: this.open ? 1 : 0 },
      { pool: "writer", state: "waiting", count: this.queued },
    ];
    const reader = this.reader?.use?.();
    if (reader) {
      uses.push(
        { pool: "read_workers", state: "in_use", count: reader.inUse },
        { pool: "read_workers", state: "idle", count: reader.idle },
        { pool: "read_workers", state: "starting", count: reader.starting },
        { pool: "read_workers", state: "waiting", count: reader.waiting },
      );
    }
    return uses;
  }

  /** Insert rows as they are (seeds and test fixtures), in one transaction, without change rows. */
  insertRows(rows: readonly Omit<JobRow, "seq">[]): void {
    this.db.transaction(() => {
      for (const row of rows) this.jobs.insert(row);
    })();
  }

  get(jobId: string, scope: readonly Condition[], options?: ReadOptions): Promise<JobRow | undefined> {
    return this.read(options, () => this.jobs.get(jobId, scope));
  }

  list(request: ListRequest, options?: ReadOptions): Promise<ListResult> {
    // Never back to the main thread while workers (re)start: a heavy read there could not be stopped.
    if (this.reader) return this.reader.list(request, options);
    return this.read(options, () => this.jobs.list(request));
  }

  stat(query: StatQuery, statOptions: StatOptions, options?: ReadOptions): Promise<StatResult> {
    if (this.reader) return this.reader.stat(query, statOptions, options);
    return this.read(options, () => this.jobs.stat(query, statOptions));
  }

  async delete(jobId: string, scope: readonly Condition[]): Promise<boolean> {
    return this.writeSync((tx) => {
      const deleted: DeletedJob | undefined = this.jobs.delete(jobId, scope);
      if (deleted) tx.recordDeleted(deleted);
      return deleted !== undefined;
    });
  }

  tombstone(
    jobId: string,
    scope: readonly Condition[],
    options?: ReadOptions,
  ): Promise<JobTombstoneRow | undefined> {
    return this.read(options, () => this.lifecycle.tombstone(jobId, scope));
  }

  events(
    jobId: string,
    scope: readonly Condition[],
    options?: ReadOptions,
  ): Promise<JobEventRow[] | undefined> {
    return this.read(options, () =>
      this.jobs.snapshot(() => (this.jobs.get(jobId, scope) ? this.lifecycle.events(jobId) : undefined)),
    );
  }

  write<T>(fn: (tx: WriteTx) => Promise<T>): Promise<T> {
    return this.enqueue(async () => {
      const tx = new SqliteWriteTx(this.lifecycle);
      this.jobs.run({ sql: "BEGIN IMMEDIATE", parameters: [] });
      let head: number;
      try {
        const result = await fn(tx);
        head = tx.flushChanges(this.now().toISOString());
        this.jobs.run({ sql: "COMMIT", parameters: [] });
        if (head > 0) this.notify(head);
        return result;
      } catch (error) {
        if (this.db.inTransaction) this.jobs.run({ sql: "ROLLBACK", parameters: [] });
        throw error;
      }
    });
  }

  changesAfter(afterId: ChangeCursor, limit: number, options?: ReadOptions): Promise<JobChange[]> {
    return this.read(options, () =>
      this.jobs.all<JobChange>({
        sql: "SELECT id, job_id, domain_id, workspace_id, kind, event_seq, created_at FROM job_changes WHERE id > ? ORDER BY id LIMIT ?",
        parameters: [afterId, limit],
      }),
    );
  }

  changeHead(): Promise<ChangeCursor> {
    return this.read(undefined, () => this.jobs.changeHead());
  }

  oldestChange(): Promise<ChangeCursor | null> {
    return this.read(
      undefined,
      () =>
        this.jobs.one<{ id: number | null }>({ sql: "SELECT min(id) AS id FROM job_changes", parameters: [] })
          ?.id ?? null,
    );
  }

  jobsByIds(ids: readonly string[], options?: ReadOptions): Promise<JobRow[]> {
    return this.read(options, () => this.jobs.byIds(ids));
  }

  onCommit(listener: (head: ChangeCursor) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    await this.tail.catch(() => undefined);
    await this.reader?.close();
    if (this.ownsConnection && this.db.open) this.db.close();
  }

  /** A write whose body is synchronous (one statement and its change row). */
  private writeSync<T>(fn: (tx: SqliteWriteTx) => T): Promise<T> {
    return this.write(async (tx) => fn(tx as SqliteWriteTx));
  }

  /** Run `body` after every write queued before it; a failure fails only its own caller. */
  private enqueue<T>(body: () => Promise<T>): Promise<T> {
    this.queued++;
    const run = async (): Promise<T> => {
      this.queued--;
      let end = () => {};
      this.open = new Promise<void>((resolve) => {
        end = resolve;
      });
      try {
        return await body();
      } catch (error) {
        throw asStorageError(error);
      } finally {
        this.open = null;
        end();
      }
    };
    const result = this.tail.then(run, run);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /**
   * Run a read on the main connection: at once when no write transaction is open on it (no extra
   * turn of the event loop for the hot `get`), else after that transaction ends. A read already past
   * its deadline is refused.
   */
  private read<T>(options: ReadOptions | undefined, fn: () => T): Promise<T> {
    if (this.open) return this.open.then(() => this.read(options, fn));
    if (options?.signal?.aborted || (options?.deadline !== undefined && Date.now() >= options.deadline)) {
      return Promise.reject(deadlineExceeded());
    }
    try {
      return Promise.resolve(fn());
    } catch (error) {
      return Promise.reject(asStorageError(error));
    }
  }

  private notify(head: ChangeCursor): void {
    for (const listener of this.listeners) listener(head);
  }
}
