/**
 * "The same SQL by the plain driver": a pg client class that records what the store sends, so a
 * baseline replays exactly those statements (text, parameters, prepared-statement name, and the
 * BEGIN/COMMIT of a snapshot) on a bare `pg.Pool`, following whatever SQL the store builds.
 */
import pg from "pg";

type Sent = string | pg.QueryConfig;

let recording: Sent[] | null = null;

/** Passed as the store's `Client`: records while `record()` runs, otherwise a plain pg.Client. */
export class RecordingClient extends pg.Client {
  // biome-ignore lint/suspicious/noExplicitAny: forwards every overload of pg's query unchanged
  override query(...args: any[]): any {
    const first = args[0] as Sent;
    if (recording !== null) {
      recording.push(
        typeof first === "string" ? first : { text: first.text, values: first.values, name: first.name },
      );
    }
    // biome-ignore lint/suspicious/noExplicitAny: as above
    return (super.query as (...a: any[]) => any)(...args);
  }
}

/** The statements `fn` sends (run it alone: concurrent callers would be recorded too). */
export async function record(fn: () => Promise<unknown>): Promise<Sent[]> {
  const sent: Sent[] = [];
  recording = sent;
  try {
    await fn();
  } finally {
    recording = null;
  }
  if (sent.length === 0) throw new Error("the store sent no statement");
  return sent;
}

/** Sends `statements` in order on one connection of `pool`, as the store did. */
export async function replay(pool: pg.Pool, statements: readonly Sent[]): Promise<void> {
  const client = await pool.connect();
  try {
    for (const s of statements) await client.query(s);
  } finally {
    client.release();
  }
}

export function describeStatements(statements: readonly Sent[]): string {
  return statements
    .map((s) => (typeof s === "string" ? s : s.text).replace(/\s+/g, " ").slice(0, 160))
    .join("; ");
}
