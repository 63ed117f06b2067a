/**
 * The PostgreSQL connection pool: bounded (`max`), with a connect timeout and a per-connection
 * `statement_timeout`, and the type parsers that keep rows in the shape the SQLite backend returns:
 * timestamptz as ISO-8601 with milliseconds and `Z` (the wire format), jsonb as JSON text, bigint
 * as a number. Every connection runs in UTC so timestamptz text is `+00`.
 */
import pg from "pg";
import type { StatementHook } from "../../store.js";

export interface PoolOptions {
  /** Connection string (may hold a password: never log it). */
  readonly url: string;
  /** Most connections this process opens. */
  readonly size: number;
  /** `statement_timeout` of every connection (ms); 0 = none. */
  readonly statementTimeoutMs: number;
  /** How long `connect()` waits for a connection, new or pooled (ms). */
  readonly connectTimeoutMs: number;
  /** Shown in `pg_stat_activity`, so an operator can tell instances apart. */
  readonly applicationName?: string;
  /** The client class of the pool's connections (the benchmark's records what it sends to replay it). */
  readonly Client?: typeof pg.Client;
  /** Told every statement a pooled connection sends (the store's statement hook). */
  readonly onStatement?: StatementHook;
}

/**
 * A client class that tells `hook` each statement's text and values, then runs it unchanged: a
 * subclass of ours, so pg's own objects are never patched. pg's query() has many overloads (text,
 * config object, submittable such as COPY); all carry the SQL as the string itself or as `.text`.
 */
function observingClient(Base: typeof pg.Client, hook: StatementHook): typeof pg.Client {
  return class ObservingClient extends Base {
    // biome-ignore lint/suspicious/noExplicitAny: forwards every overload of pg's query() unchanged
    override query(config: any, values?: any, callback?: any): any {
      const text = typeof config === "string" ? config : String(config?.text ?? "");
      const params = Array.isArray(values) ? values : Array.isArray(config?.values) ? config.values : [];
      hook(text, params);
      return super.query(config, values, callback);
    }
  };
}

const OID = { int8: 20, numeric: 1700, timestamptz: 1184, jsonb: 3802, json: 114 } as const;

/** `2026-12-01 21:02:13.123+00` (UTC session) -> `2026-12-01T21:02:13.123Z`. */
export function isoFromTimestamptz(text: string): string {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?\+00$/.exec(text);
  if (!m) return new Date(text).toISOString();
  const ms = (m[3] ?? "").padEnd(3, "0").slice(0, 3);
  return `${m[1]}T${m[2]}.${ms}Z`;
}

/** Type parsers shared by every pooled and listening connection. */
export const typeParsers = new pg.TypeOverrides();
typeParsers.setTypeParser(OID.timestamptz, isoFromTimestamptz);
// JSON stays text: the service parses `options` itself, exactly as it does SQLite's JSON text.
typeParsers.setTypeParser(OID.jsonb, (text: string) => text);
typeParsers.setTypeParser(OID.json, (text: string) => text);
// Counts and ids are far below 2^53 (the SQLite backend returns them as numbers too).
typeParsers.setTypeParser(OID.int8, (text: string) => Number(text));
typeParsers.setTypeParser(OID.numeric, (text: string) => Number(text));

/** Client settings for one connection (the pool's and the change listener's). */
export function clientConfig(options: PoolOptions): pg.ClientConfig {
  return {
    connectionString: options.url,
    types: typeParsers,
    connectionTimeoutMillis: options.connectTimeoutMs,
    application_name: options.applicationName ?? "job-service",
    // UTC (timestamptz text and to_char buckets); the statement timeout is the server-side deadline.
    options: `-c TimeZone=UTC -c statement_timeout=${Math.max(0, Math.floor(options.statementTimeoutMs))}`,
    // Detect a dead server (failover, network cut) without waiting for the OS's TCP timeout.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
}

export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    ...clientConfig(options),
    max: options.size,
    ...(options.onStatement
      ? { Client: observingClient(options.Client ?? pg.Client, options.onStatement) }
      : options.Client
        ? { Client: options.Client }
        : {}),
    idleTimeoutMillis: 30_000,
    // A transaction left open by a bug must not hold row locks (and the change-feed lock) for ever.
    idle_in_transaction_session_timeout: 60_000,
  });
  // An idle pooled connection that dies (server restart) emits 'error' on the pool; without a
  // listener that would crash the process. The next checkout simply opens a new connection.
  pool.on("error", () => {});
  // A checked-out connection that dies between two statements (failover, pg_terminate_backend)
  // emits 'error' on the client too: the transaction's next statement fails and is classified and
  // retried there, so the event itself must not become an uncaught exception that ends the process.
  pool.on("connect", (client) => {
    client.on("error", () => {});
  });
  return pool;
}
