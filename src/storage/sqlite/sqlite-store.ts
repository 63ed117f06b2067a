/**
 * The `JobStore` on SQLite (better-sqlite3, synchronous, one connection per process for writes).
 *
 * Writes: group commit (group-commit.ts). Concurrent `write()` callers share one BEGIN IMMEDIATE
 * transaction, each in its own SAVEPOINT and one after the other, so two async callers never
 * interleave statements and a failing write undoes only itself; the change-feed rows of the group are
 * written just before COMMIT, every caller is answered after it, and `onCommit` listeners hear the new
 * head. In WAL mode with `synchronous = NORMAL` a COMMIT is durable against a crash of the process
 * (not of the machine's power: docs/lifecycle.md, "Crash safety"); what a group saves is the per-
 * transaction work of BEGIN/COMMIT and of writing the same pages to the WAL again for every caller.
 *
 * Reads on the main connection never run while a write transaction is open on it (they would see
 * uncommitted rows): they wait for that one transaction to end. Heavy reads (list, stat) may be
 * handed to a `ReadPool` of worker threads with their own read-only connections, where a deadline
 * can stop them; without a pool (":memory:" databases, tests) they run here.
 *
 * Driver errors leave this class as SpaceOneErrors classified by the dialect (`storage/errors.ts`).
 */
import type { MaybePromise } from "../../maybe-promise.js";
import type { Condition } from "../../query/ast.js";
import type { StatQuery } from "../../query/stat-ast.js";
import type { Compiled } from "../compiled-template.js";
import type { Db } from "../database.js";
import { sqliteDialect } from "../dialect/sqlite/sqlite-dialect.js";
import { asStorageError, deadlineExceeded } from "../errors.js";
import { GroupCommit, type GroupSession, type GroupWrite, runWrites, settle } from "../group-commit.js";
import { databaseProblem } from "../readiness.js";
import type { JobEventRow, JobRow, JobTombstoneRow } from "../schema.js";
import {
  batchesOf,
  type ChangeCursor,
  type JobChange,
  type JobStore,
  type ListRequest,
  type ListResult,
  type PoolUse,
  type ReadOptions,
  type StatementHook,
  type StatOptions,
  type StatResult,
  type WriteTx,
} from "../store.js";
import { WriteStatements } from "../write-statements.js";
import { StatementWriteTx } from "../write-tx.js";
import { SqliteJobs } from "./sqlite-jobs.js";
import { rowsOf } from "./sqlite-statements.js";

/** Writes one SQLite transaction takes at most (each is a savepoint; a group holds the write lock). */
const MAX_GROUP = 256;
/** Turns a group may wait for more writes (`GroupCommitOptions.gatherTurns`; docs/benchmarks.md, "Progress writes, fourth pass"). */
const GATHER_TURNS = 2;

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
  /** The most writes one transaction takes (default 256; 1 = a transaction per write, for comparisons). */
  readonly maxGroupWrites?: number;
  /** Turns of the event loop a group may wait for more writes while they keep coming (default 2). */
  readonly gatherTurns?: number;
  /**
   * Told every statement run on the main connection. Statements a `reader` runs reach it only if
   * the reader was given it too (`ReadPoolOptions.onStatement`: the workers send theirs back).
   */
  readonly onStatement?: StatementHook;
}

export class SqliteStore implements JobStore {
  readonly jobs: SqliteJobs;
  private readonly statements = new WriteStatements(sqliteDialect);
  private readonly group: GroupCommit;
  private readonly now: () => Date;
  private readonly reader: HeavyReader | undefined;
  private readonly ownsConnection: boolean;
  private readonly listeners = new Set<(head: ChangeCursor) => void>();
  /** Settles when the open write transaction ends; null when none is open. */
  private open: Promise<void> | null = null;

  constructor(
    readonly db: Db,
    options: SqliteStoreOptions = {},
  ) {
    this.jobs = new SqliteJobs(db, options.onStatement);
    this.now = options.now ?? (() => new Date());
    this.reader = options.reader;
    this.ownsConnection = options.ownsConnection ?? false;
    this.group = new GroupCommit({
      maxWrites: options.maxGroupWrites ?? MAX_GROUP,
      // One connection: a group's COMMIT is synchronous, there is nothing to overlap it with.
      maxInFlight: 1,
      gatherTurns: options.gatherTurns ?? GATHER_TURNS,
      run: (writes) => this.runGroup(writes),
    });
  }

  async ping(): Promise<string | null> {
    return databaseProblem(this.db);
  }

  /** The writer (its open transaction, the writes queued behind it) and the read workers, if any. */
  poolUse(): PoolUse[] {
    const uses: PoolUse[] = [
      { pool: "writer", state: "in_use", count: this.open ? 1 : 0 },
      { pool: "writer", state: "waiting", count: this.group.waiting() },
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

  get(jobId: string, scope: readonly Condition[], options?: ReadOptions): MaybePromise<JobRow | undefined> {
    return this.readNow(options, () => this.jobs.get(jobId, scope));
  }

  list(request: ListRequest, options?: ReadOptions): Promise<ListResult> {
    // Never back to the main thread while workers (re)start: a heavy read there could not be stopped.
    if (this.reader) return this.reader.list(request, options);
    // On the main connection the rows are read at once: a read transaction left open across turns of
    // the event loop would stand in the way of this connection's writes. Only stores without workers
    // (":memory:" databases, tests) read lists here.
    return this.read(options, (): ListResult => {
      const page = this.jobs.readList(request);
      const { kind, total, cursor } = page.header;
      if (kind === "too_many") return { kind, total, cursor };
      return { kind, total, cursor, rows: batchesOf(rowsOf(page)) };
    });
  }

  stat(query: StatQuery, statOptions: StatOptions, options?: ReadOptions): Promise<StatResult> {
    if (this.reader) return this.reader.stat(query, statOptions, options);
    return this.read(options, () => this.jobs.stat(query, statOptions));
  }

  delete(jobId: string, scope: readonly Condition[]): Promise<boolean> {
    return this.group.submit((tx) => tx.deleteOne(jobId, scope));
  }

  tombstone(
    jobId: string,
    scope: readonly Condition[],
    options?: ReadOptions,
  ): Promise<JobTombstoneRow | undefined> {
    return this.read(options, () => this.jobs.one<JobTombstoneRow>(this.statements.tombstone(jobId, scope)));
  }

  events(
    jobId: string,
    scope: readonly Condition[],
    options?: ReadOptions,
  ): Promise<JobEventRow[] | undefined> {
    return this.read(options, () =>
      this.jobs.snapshot(() =>
        this.jobs.get(jobId, scope) ? this.jobs.all<JobEventRow>(this.statements.events(jobId)) : undefined,
      ),
    );
  }

  write<T>(fn: (tx: WriteTx) => MaybePromise<T>): Promise<T> {
    return this.group.submit(fn);
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
    await this.group.drained();
    await this.reader?.close();
    if (this.ownsConnection && this.db.open) this.db.close();
  }

  /** One group of writes in one BEGIN IMMEDIATE transaction; every caller answered after it ends. */
  private async runGroup(writes: GroupWrite[]): Promise<void> {
    let end = () => {};
    this.open = new Promise<void>((resolve) => {
      end = resolve;
    });
    try {
      this.exec("BEGIN IMMEDIATE");
      // A group of lifecycle writes runs at once (no promise per write): awaited only when one waits.
      const ran = runWrites(writes, this.session);
      const { outcomes, changes } = ran instanceof Promise ? await ran : ran;
      let head = 0;
      if (changes.size > 0) {
        for (const query of this.statements.appendChanges(changes.rows(), this.now().toISOString())) {
          for (const { id } of this.jobs.rows<{ id: number }>(query)) head = Math.max(head, id);
        }
      }
      this.exec("COMMIT");
      if (head > 0) this.notify(head);
      settle(writes, outcomes, asStorageError);
    } catch (error) {
      // The transaction itself failed (BEGIN, the change rows, COMMIT, or SQLite rolled it back):
      // nothing of the group was committed, so every caller gets the failure.
      if (this.db.inTransaction) this.exec("ROLLBACK");
      const failure = asStorageError(error);
      for (const write of writes) write.reject(failure);
    } finally {
      this.open = null;
      end();
    }
  }

  private exec(text: string): void {
    this.jobs.run({ sql: text, parameters: [] });
  }

  /** One statement of a write, on the main connection, at once; `hot` ones read whole jobs rows as values. */
  private readonly runStatement = <T>(query: Compiled, hot: boolean): T[] =>
    hot ? this.jobs.jobRows<T>(query) : this.jobs.rows<T>(query);

  /**
   * Savepoints of one write inside the group's transaction, synchronous as the driver is. Each is
   * released when its write ends (kept, or rolled back to and then released): left open, each write's
   * savepoint nested in the earlier ones, and SQLite journals a page again for every open level, so a
   * write cost more the larger its group (groups of 16 point updates: 37.7-38.4 µs per write nested
   * against 27.1-27.6 released; docs/benchmarks.md "Progress writes, fourth pass").
   */
  private readonly session: GroupSession = {
    tx: () => new StatementWriteTx(this.runStatement, this.statements),
    savepoint: (name) => this.exec(`SAVEPOINT ${name}`),
    keep: (name) => this.exec(`RELEASE ${name}`),
    undo: (name, error) => {
      // Some failures (a full disk, an I/O error) make SQLite roll the whole transaction back.
      if (!this.db.inTransaction) throw error;
      this.exec(`ROLLBACK TO ${name}`);
      this.exec(`RELEASE ${name}`);
    },
  };

  /**
   * Run a read on the main connection: at once when no write transaction is open on it (no extra
   * turn of the event loop for the hot `get`), else after that transaction ends. A read already past
   * its deadline is refused.
   */
  /** `read`, answered at once (a value, or a throw) unless a write transaction is open. */
  private readNow<T>(options: ReadOptions | undefined, fn: () => T): MaybePromise<T> {
    if (this.open) return this.open.then(() => this.read(options, fn));
    if (options?.signal?.aborted || (options?.deadline !== undefined && Date.now() >= options.deadline)) {
      throw deadlineExceeded();
    }
    try {
      return fn();
    } catch (error) {
      throw asStorageError(error);
    }
  }

  /** A read after the open write transaction, if any, within the call's deadline; as a promise. */
  private read<T>(options: ReadOptions | undefined, fn: () => T): Promise<T> {
    try {
      return Promise.resolve(this.readNow(options, fn));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private notify(head: ChangeCursor): void {
    for (const listener of this.listeners) listener(head);
  }
}
