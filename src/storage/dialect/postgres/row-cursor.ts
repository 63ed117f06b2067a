/**
 * A list's rows on PostgreSQL (a list whose rows may not fit one batch; a page that does is one
 * SELECT, `fitsOneBatch`), fetched from a server-side cursor (`DECLARE ... CURSOR` inside the
 * list's REPEATABLE READ transaction, so the rows come from the snapshot its count came from), one
 * batch per `FETCH`, as the consumer asks: the process never holds more than one batch of them.
 *
 * The cursor holds its pooled connection until the last batch was read or the consumer stopped. One
 * that is left unread is closed at the read's deadline (or, without one, after `holdMs`), so an
 * abandoned answer cannot keep a connection from the pool; reading it afterwards is `deadline_exceeded`.
 */
import type pg from "pg";
import type { JobRow } from "../../schema.js";
import { LIST_BATCH_ROWS, type RowBatches } from "../../store.js";
import { deadlineExceeded, isConnectionFailure } from "./errors.js";

/** The cursor's name (one per transaction, so a fixed name). */
export const LIST_CURSOR = "list_rows";

export class PostgresRowCursor implements RowBatches {
  private state: "idle" | "fetching" | "closed" = "idle";
  private started = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly client: pg.PoolClient,
    /** Epoch ms after which no batch is fetched. */
    private readonly deadline: number,
    /** Classifies a driver failure as the store does. */
    private readonly fail: (error: unknown) => Error,
  ) {
    this.timer = setTimeout(
      () => {
        if (this.state === "idle") void this.close(false, false);
      },
      Math.max(0, deadline - Date.now()),
    );
    this.timer.unref();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<readonly JobRow[]> {
    if (this.started) throw new Error("the rows of a list can be read once");
    this.started = true;
    let finished = false;
    try {
      for (;;) {
        if (this.state === "closed" || Date.now() >= this.deadline) {
          throw deadlineExceeded("the call's deadline passed while its rows were read");
        }
        this.state = "fetching";
        let rows: JobRow[];
        try {
          rows = (await this.client.query<JobRow>(`FETCH ${LIST_BATCH_ROWS} FROM ${LIST_CURSOR}`)).rows;
        } catch (error) {
          await this.close(false, isConnectionFailure(error));
          throw this.fail(error);
        }
        this.state = "idle";
        if (rows.length > 0) yield rows;
        if (rows.length < LIST_BATCH_ROWS) {
          finished = true;
          return;
        }
      }
    } finally {
      await this.close(finished, false);
    }
  }

  /** End the transaction (COMMIT when every row was read) and give the connection back, once. */
  private async close(finished: boolean, broken: boolean): Promise<void> {
    if (this.state === "closed") return;
    this.state = "closed";
    clearTimeout(this.timer);
    let lost = broken;
    if (!broken) {
      await this.client.query(finished ? "COMMIT" : "ROLLBACK").catch((error: unknown) => {
        lost = isConnectionFailure(error);
      });
    }
    this.client.release(lost);
  }
}
