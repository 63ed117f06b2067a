/**
 * Group commit, for both stores: concurrent `write()` callers share one database transaction, and
 * each caller is answered only after that transaction committed.
 *
 * - `GroupCommit` queues the callers. When no group is running, the queued callers (at most
 *   `maxWrites`) become the next group; callers arriving meanwhile wait for the one after. The first
 *   caller of an idle queue starts its group on the next turn of the event loop, so requests read in
 *   the same turn share it.
 * - `runWrites` runs a group's writes one after the other, each inside a SAVEPOINT of the group's
 *   transaction: a write that fails (its callback throws: version conflict, invalid transition; or one
 *   of its statements fails: a constraint, a statement timeout) is rolled back to its savepoint and
 *   fails only its own caller; the writes after it see the database as if it never ran. A failure of
 *   the transaction itself (a lost connection, a deadlock or serialization failure, SQLite rolling the
 *   transaction back on a full disk) is thrown to the store, which retries the group or fails it whole.
 *
 * Each write records its changes in its own `ChangeSet`; those of the writes that succeeded are
 * merged in order, and the store appends them to the change feed once, just before the commit.
 */
import { type MaybePromise, whenReady } from "../maybe-promise.js";
import { ChangeSet } from "./change-set.js";
import type { StatementWriteTx } from "./write-tx.js";

export interface GroupWrite {
  readonly fn: (tx: StatementWriteTx) => MaybePromise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * How a store marks and undoes one write inside its group's transaction. A synchronous driver
 * (better-sqlite3) answers without a promise, and the write's turn does not wait a microtask for it.
 */
export interface GroupSession {
  /** A WriteTx for one write, on the group's connection. */
  tx(): StatementWriteTx;
  savepoint(name: string): MaybePromise<void>;
  /** The write succeeded: keep its changes. */
  keep(name: string): MaybePromise<void>;
  /**
   * The write failed with `error`: undo it to its savepoint. Throws (`error` or its own) when the
   * transaction itself is lost, so the group must be retried or failed.
   */
  undo(name: string, error: unknown): MaybePromise<void>;
}

export type WriteOutcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: unknown };

export interface GroupResult {
  readonly outcomes: WriteOutcome[];
  readonly changes: ChangeSet;
}

/**
 * Run the writes in order, each in its own savepoint; the changes of those that succeeded. When the
 * session and every write answer at once (SQLite, whose lifecycle writes chain with `whenReady`), the
 * whole group runs in one synchronous stretch, without a promise or a microtask per write; the first
 * promise met makes the rest wait for it. A throw of the session (the transaction lost) is thrown, or
 * rejects the promise, to the store.
 */
export function runWrites(writes: readonly GroupWrite[], session: GroupSession): MaybePromise<GroupResult> {
  const result: GroupResult = { outcomes: [], changes: new ChangeSet() };
  const from = (start: number): MaybePromise<GroupResult> => {
    for (let i = start; i < writes.length; i++) {
      const ran = runOne(writes[i] as GroupWrite, `w${i}`, session, result);
      if (ran instanceof Promise) return ran.then(() => from(i + 1));
    }
    return result;
  };
  return from(0);
}

/** One write in its savepoint: its outcome and, when it succeeded, its changes added to `into`. */
function runOne(
  write: GroupWrite,
  name: string,
  session: GroupSession,
  into: GroupResult,
): MaybePromise<void> {
  return whenReady(session.savepoint(name), () => {
    const tx = session.tx();
    const end = (outcome: WriteOutcome): MaybePromise<void> => {
      tx.close();
      const ended = outcome.ok ? session.keep(name) : session.undo(name, outcome.error);
      return whenReady(ended, () => {
        if (outcome.ok) into.changes.merge(tx.changes);
        into.outcomes.push(outcome);
      });
    };
    let value: MaybePromise<unknown>;
    try {
      value = write.fn(tx);
    } catch (error) {
      return end({ ok: false, error });
    }
    if (value instanceof Promise) {
      return value.then(
        (v: unknown) => end({ ok: true, value: v }),
        (error: unknown) => end({ ok: false, error }),
      );
    }
    return end({ ok: true, value });
  });
}

/** Answer each caller of a committed group. */
export function settle(
  writes: readonly GroupWrite[],
  outcomes: readonly WriteOutcome[],
  classify: (e: unknown) => unknown,
): void {
  writes.forEach((write, i) => {
    const outcome = outcomes[i];
    if (!outcome) write.reject(new Error("a write of a committed group has no outcome"));
    else if (outcome.ok) write.resolve(outcome.value);
    else write.reject(classify(outcome.error));
  });
}

export interface GroupCommitOptions {
  /** The most writes one transaction takes. */
  readonly maxWrites: number;
  /**
   * Groups that may be between their start and their answers at once. With 2, the next group runs its
   * writes while the previous one waits for its commit (the group calls `released` when its writes are
   * done); with 1, groups run strictly one after the other.
   */
  readonly maxInFlight: number;
  /**
   * Run one group: settle every write (after the commit, or with the failure). `released` tells the
   * queue the group's writes are done and the next group may start its own.
   */
  readonly run: (writes: GroupWrite[], released: () => void) => Promise<void>;
  /**
   * Turns of the event loop a group may wait for more writes before it starts, as long as each turn
   * brought some (default 0: a group starts at the first turn). Under load, requests keep arriving
   * while a group is gathered; one more turn (a poll of the sockets that does not block, since the
   * group's `setImmediate` is pending) takes those that arrived into the same transaction, and a
   * transaction's fixed cost (BEGIN, the change-feed insert, COMMIT's WAL frames) is shared by more
   * writes. A lone write starts at once: its turn brought nothing more.
   */
  readonly gatherTurns?: number;
}

export class GroupCommit {
  private queue: GroupWrite[] = [];
  private inFlight = 0;
  /** A group is running its writes (only one at a time). */
  private running = false;
  private scheduled = false;
  private idle: (() => void)[] = [];
  /** While a group is gathered: the queue's length at the last turn, and the turns taken. */
  private seen = 0;
  private turns = 0;

  constructor(private readonly options: GroupCommitOptions) {}

  submit<T>(fn: (tx: StatementWriteTx) => MaybePromise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      this.kick();
    });
  }

  /** Writes submitted and not yet taken into a group. */
  waiting(): number {
    return this.queue.length;
  }

  /** Resolves when every submitted write has been answered. */
  drained(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private kick(): void {
    if (this.scheduled || this.running || this.queue.length === 0) return;
    if (this.inFlight >= this.options.maxInFlight) return;
    this.scheduled = true;
    this.seen = this.queue.length;
    this.turns = 0;
    setImmediate(this.turn);
  }

  private readonly turn = (): void => {
    const gathered = this.queue.length;
    if (
      gathered > this.seen &&
      gathered < this.options.maxWrites &&
      this.turns < (this.options.gatherTurns ?? 0)
    ) {
      this.seen = gathered;
      this.turns++;
      setImmediate(this.turn);
      return;
    }
    this.scheduled = false;
    this.start();
  };

  private start(): void {
    if (this.running || this.queue.length === 0 || this.inFlight >= this.options.maxInFlight) return;
    const writes = this.queue.splice(0, this.options.maxWrites);
    this.running = true;
    this.inFlight++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.running = false;
      this.kick();
    };
    this.options
      .run(writes, release)
      .catch((error: unknown) => {
        // `run` settles its writes itself; this only guards against a bug leaving callers waiting.
        for (const write of writes) write.reject(error);
      })
      .finally(() => {
        this.inFlight--;
        release();
        this.kick();
        if (this.queue.length === 0 && this.inFlight === 0) {
          for (const resolve of this.idle.splice(0)) resolve();
        }
      });
  }
}
