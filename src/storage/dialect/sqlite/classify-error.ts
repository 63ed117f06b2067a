/**
 * better-sqlite3 failures, classified (`Dialect.classifyError`). A locked, read-only, unreadable or
 * full database is not a bug in the request or in the service: callers get a status they can act
 * on (retry later, or stop writing) instead of `internal`.
 */
import Database from "better-sqlite3";
import type { StorageFailure } from "../dialect.js";

export function classifySqliteError(err: unknown): StorageFailure | null {
  if (err instanceof Database.SqliteError) {
    const code = err.code;
    // SQLITE_BUSY_SNAPSHOT, SQLITE_LOCKED_SHAREDCACHE...: extended codes start with the primary one.
    if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) {
      return { kind: "unavailable", message: "the database is busy (locked by another writer); retry" };
    }
    if (code === "SQLITE_CONSTRAINT_UNIQUE" && err.message.includes("idempotency_key")) {
      return { kind: "key_taken" };
    }
    if (code.startsWith("SQLITE_FULL")) {
      return { kind: "resource_exhausted", message: "the database or its disk has no space left" };
    }
    if (code.startsWith("SQLITE_READONLY"))
      return { kind: "unavailable", message: "the database is read-only" };
    if (code.startsWith("SQLITE_CANTOPEN"))
      return { kind: "unavailable", message: "the database file cannot be opened" };
    if (code.startsWith("SQLITE_IOERR"))
      return { kind: "unavailable", message: "the database file cannot be read or written" };
    if (code === "SQLITE_INTERRUPT") return { kind: "deadline_exceeded", message: "the query was stopped" };
    return null;
  }
  // better-sqlite3 after close() (e.g. a call racing the shutdown): the service is going away.
  if (err instanceof TypeError && err.message === "The database connection is not open") {
    return { kind: "unavailable", message: "the service is shutting down" };
  }
  return null;
}
