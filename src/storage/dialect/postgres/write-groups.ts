/**
 * Group commit on PostgreSQL (storage/group-commit.ts): concurrent `write()` callers share one READ
 * COMMITTED transaction on one pooled client, each in its own SAVEPOINT (storage/write-tx.ts: row
 * locks, ON CONFLICT, SKIP LOCKED). The group appends its change rows last under the change feed's
 * lock (change-feed.ts), commits, and only then answers every caller.
 *
 * While one group waits for its commit, the next runs its writes on another connection (two groups in
 * flight): its reads queue on the row locks of the committing group, which never waits for it, so the
 * two cannot deadlock. A serialization failure, a deadlock or a connection lost before the COMMIT was
 * sent rolls the group back and runs its callbacks again (at most 3 times); a failure during the
 * COMMIT itself is reported to every caller as `unavailable` without a retry, since the outcome is
 * unknown (the version check makes a client's retry safe).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";
import type { MaybePromise } from "../../../maybe-promise.js";
import { GroupCommit, type GroupSession, type GroupWrite, runWrites, settle } from "../../group-commit.js";
import type { ChangeCursor } from "../../store.js";
import { WriteStatements } from "../../write-statements.js";
import { StatementWriteTx } from "../../write-tx.js";
import { appendChanges } from "./change-feed.js";
import { isConnectionFailure, isRetryable } from "./errors.js";
import { postgresDialect } from "./postgres-dialect.js";
import { runQuery } from "./queries.js";

const WRITE_ATTEMPTS = 3;
/**
 * Writes one transaction takes at most. Each write is a subtransaction; PostgreSQL caches 64
 * subtransaction ids per session, and beyond that every other session's snapshot checks must read
 * pg_subtrans (the "suboverflow" slowdown).
 */
const MAX_GROUP = 64;

export interface WriteGroupDeps {
  /** A pooled connection (throws a SpaceOneError when none can be had). */
  client(): Promise<pg.PoolClient>;
  /** A failure as the caller must see it. */
  fail(error: unknown): unknown;
  /** Clock of the change feed's timestamps; the database's clock when null. */
  readonly now: (() => Date) | null;
  /** Called with the new change-feed head after a commit that changed jobs. */
  committed(head: ChangeCursor): void;
}

export class PostgresWriteGroups {
  readonly statements = new WriteStatements(postgresDialect);
  private readonly group = new GroupCommit({
    maxWrites: MAX_GROUP,
    maxInFlight: 2,
    run: (writes, released) => this.runGroup(writes, released),
  });

  constructor(private readonly deps: WriteGroupDeps) {}

  submit<T>(fn: (tx: StatementWriteTx) => MaybePromise<T>): Promise<T> {
    return this.group.submit(fn);
  }

  drained(): Promise<void> {
    return this.group.drained();
  }

  /** One group of writes in one transaction; every caller answered after the commit (or the failure). */
  private async runGroup(writes: GroupWrite[], released: () => void): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await this.deps.client();
      } catch (error) {
        for (const write of writes) write.reject(error);
        return;
      }
      let commitSent = false;
      let broken = false;
      try {
        await client.query("BEGIN");
        const { outcomes, changes } = await runWrites(writes, this.session(client));
        released();
        const head =
          changes.size > 0
            ? await appendChanges(client, changes.rows(), this.deps.now?.().toISOString() ?? null)
            : null;
        commitSent = true;
        await client.query("COMMIT");
        if (head !== null) this.deps.committed(head);
        settle(writes, outcomes, (error) => this.deps.fail(error));
        return;
      } catch (error) {
        broken = isConnectionFailure(error);
        if (!broken && !commitSent) await client.query("ROLLBACK").catch(() => {});
        const retry = !commitSent && attempt < WRITE_ATTEMPTS && (isRetryable(error) || broken);
        if (!retry) {
          const failure = this.deps.fail(error);
          for (const write of writes) write.reject(failure);
          return;
        }
      } finally {
        client.release(broken);
      }
      // Jittered backoff so two instances that deadlocked do not collide again.
      await sleep(10 * attempt + Math.floor(Math.random() * 20));
    }
  }

  /** Savepoints of one write inside a group's transaction on `client`. */
  private session(client: pg.PoolClient): GroupSession {
    return {
      tx: () => new StatementWriteTx((query, hot) => runQuery(client, query, hot), this.statements),
      savepoint: async (name) => {
        await client.query(`SAVEPOINT ${name}`);
      },
      // Not released one by one (a round trip each): the COMMIT releases them all.
      keep: async () => {},
      undo: async (name, error) => {
        // The transaction itself is lost or must start over: the whole group is retried or failed.
        if (isConnectionFailure(error) || isRetryable(error)) throw error;
        await client.query(`ROLLBACK TO SAVEPOINT ${name}`);
      },
    };
  }
}
