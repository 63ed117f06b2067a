/**
 * The change feed on PostgreSQL: commit-ordered ids and a wake-up across instances.
 *
 * Commit order. An identity column is not commit-ordered: a transaction that took id 41 can commit
 * after one that took 42, and a watcher that already read 42 would never see 41. So a write
 * transaction appends its change rows last, after taking a transaction-level advisory lock that is
 * held until its COMMIT (PostgreSQL releases locks only after the commit is visible). The next writer
 * can only take an id once the previous one is visible or rolled back: id order is commit order, and
 * a reader that saw id N has seen every id below N that will ever exist. The lock is held only for
 * the append and the commit, so writers on different jobs still run their transactions in parallel.
 *
 * Wake-up. The appending transaction also sends `NOTIFY job_changes, '<head>'` (delivered at commit,
 * to every instance). `ChangeListener` keeps one dedicated connection per process on `LISTEN` and
 * calls its listeners with the new head; after a lost connection it reconnects and reports the
 * current head, so a watcher re-reads the feed and misses nothing.
 */
import { sql } from "kysely";
import pg from "pg";
import type { ChangeCursor } from "../../store.js";
import { type ChangeRow, WriteStatements } from "../../write-statements.js";
import { clientConfig, type PoolOptions } from "./pool.js";
import { postgresDialect } from "./postgres-dialect.js";
import { runQuery } from "./queries.js";

/** Advisory lock key that serializes change-feed appends (migrations use another key). */
export const CHANGE_FEED_LOCK = 0x6a6f6202;
export const CHANGE_CHANNEL = "job_changes";

const statements = new WriteStatements(postgresDialect);

/**
 * Append the transaction's changes (call last, just before COMMIT, on the transaction's client),
 * under the commit-order lock, and announce the new head to every instance. Returns the new head.
 */
export async function appendChanges(
  client: pg.ClientBase,
  changes: readonly ChangeRow[],
  /** The changes' timestamp (ISO); the transaction's `now()` when null. */
  createdAt: string | null = null,
): Promise<ChangeCursor> {
  await client.query("SELECT pg_advisory_xact_lock($1)", [CHANGE_FEED_LOCK]);
  let head = 0;
  for (const insert of statements.appendChanges(changes, createdAt ?? sql`now()`)) {
    // The insert and its NOTIFY (delivered at commit, to every instance's listener) in one round trip.
    const channel = `$${insert.parameters.length + 1}`;
    const rows = await runQuery<{ head: number }>(client, {
      sql: `WITH ins AS (${insert.sql}) SELECT max(id) AS head, pg_notify(${channel}, max(id)::text) FROM ins`,
      parameters: [...insert.parameters, CHANGE_CHANNEL],
    });
    head = Math.max(head, rows[0]?.head ?? 0);
  }
  return head;
}

type Listener = (head: ChangeCursor) => void;

/** One LISTEN connection per process; reconnects with backoff while anyone listens. */
export class ChangeListener {
  private readonly listeners = new Set<Listener>();
  private client: pg.Client | null = null;
  private connecting: Promise<void> | null = null;
  private closed = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private backoffMs = 100;

  constructor(
    private readonly options: PoolOptions,
    /** Reads the current head (after a reconnect, to report what may have been missed). */
    private readonly readHead: () => Promise<ChangeCursor>,
  ) {}

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    if (!this.client && !this.connecting && !this.closed) this.connecting = this.connect();
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Resolves once the LISTEN is in place (tests and start-up use it). */
  async ready(): Promise<void> {
    if (this.connecting) await this.connecting;
  }

  /** Report a head to every listener (also used by the local writer right after its commit). */
  emit(head: ChangeCursor): void {
    for (const listener of this.listeners) {
      try {
        listener(head);
      } catch {
        // A listener must not throw; one that does must not stop the others.
      }
    }
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ ...clientConfig(this.options), application_name: "job-service-listen" });
    client.on("notification", (msg) => {
      const head = Number(msg.payload);
      if (Number.isSafeInteger(head)) this.emit(head);
    });
    client.on("error", () => this.lost(client));
    client.on("end", () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGE_CHANNEL}`);
      if (this.closed) {
        await client.end().catch(() => {});
        return;
      }
      this.client = client;
      this.backoffMs = 100;
      // Whatever committed while we were not listening: watchers re-read from their cursor.
      this.emit(await this.readHead());
    } catch {
      await client.end().catch(() => {});
      this.scheduleRetry();
    } finally {
      this.connecting = null;
    }
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    client.end().catch(() => {});
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer || this.listeners.size === 0) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.client && !this.connecting && !this.closed) this.connecting = this.connect();
    }, this.backoffMs);
    this.retryTimer.unref();
    this.backoffMs = Math.min(this.backoffMs * 2, 5000);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.connecting) await this.connecting.catch(() => {});
    const client = this.client;
    this.client = null;
    this.listeners.clear();
    if (client) await client.end().catch(() => {});
  }
}
