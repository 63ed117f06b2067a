/**
 * PostgreSQL failures as SpaceOneErrors (the dialect's error classification). A lost or refused
 * connection, a failover, a server shutting down, too many connections, a serialization failure or
 * a deadlock is `unavailable` (retry); `statement_timeout` is `deadline_exceeded`; a full disk is
 * `resource_exhausted`. Anything else is a bug and stays unclassified (`internal` at the wire, logged
 * there). Messages never include the connection string or the SQL.
 */
import { errors, SpaceOneError } from "../../../errors.js";

/** SQLSTATE codes whose transaction can simply be run again from the start. */
const RETRYABLE = new Set([
  "40001", // serialization_failure
  "40P01", // deadlock_detected
]);

/** Node socket errors that mean the server is unreachable or went away. */
const SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "EAI_AGAIN",
]);

function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** True when running the whole transaction again is safe and may succeed. */
export function isRetryable(err: unknown): boolean {
  const state = sqlState(err);
  return state !== undefined && RETRYABLE.has(state);
}

/** True when the connection itself failed (the statement may or may not have reached the server). */
export function isConnectionFailure(err: unknown): boolean {
  const state = sqlState(err);
  if (state !== undefined) return state.startsWith("08") || state.startsWith("57P");
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string" && SOCKET_CODES.has(code)) return true;
  if (!(err instanceof Error)) return false;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended|not queryable/i.test(
    err.message,
  );
}

export function deadlineExceeded(reason: string): SpaceOneError {
  return new SpaceOneError(
    "ERROR_DEADLINE_EXCEEDED",
    "deadline_exceeded",
    `Deadline exceeded. (reason = ${reason})`,
  );
}

/** The SpaceOneError for a PostgreSQL failure, or null when `err` is not one this layer knows. */
export function classifyPostgresError(err: unknown): SpaceOneError | null {
  if (err instanceof SpaceOneError) return err;
  const state = sqlState(err);
  if (state === "57014") return deadlineExceeded("the statement ran past its timeout");
  if (state !== undefined) {
    if (RETRYABLE.has(state)) return errors.unavailable("the write conflicted with a concurrent one; retry");
    if (state === "57P01" || state === "57P02" || state === "57P03")
      return errors.unavailable("the database server is restarting or failing over; retry");
    if (state.startsWith("08")) return errors.unavailable("the database connection failed; retry");
    if (state === "53300") return errors.unavailable("the database has no free connections; retry");
    if (state === "53100")
      return new SpaceOneError(
        "ERROR_STORAGE_FULL",
        "resource_exhausted",
        "Storage is full. (reason = the database or its disk has no space left)",
      );
    if (state.startsWith("53")) return errors.unavailable("the database is out of resources; retry");
    // A write reached a read-only server: the old primary after a failover, or a standby.
    if (state === "25006")
      return errors.unavailable("the database is read-only (failover in progress); retry");
    if (state === "55P03") return errors.unavailable("a row is locked by another writer; retry");
    return null;
  }
  if (isConnectionFailure(err)) return errors.unavailable("the database connection failed; retry");
  if (err instanceof Error && /Cannot use a pool after calling end|pool is ending/i.test(err.message))
    return errors.unavailable("the service is shutting down");
  return null;
}

/** True for a unique violation of the named constraint or index (SQLSTATE 23505). */
export function isUniqueViolationOf(err: unknown, constraint: string): boolean {
  const e = err as { code?: unknown; constraint?: unknown } | null;
  return e?.code === "23505" && e.constraint === constraint;
}
