/**
 * SQLite failures as SpaceONE errors. A locked, read-only, unreadable or full database is not a bug
 * in the request or in the service: callers get a status they can act on (retry later, or stop
 * writing) instead of `internal`. Called by the wire layer (`toConnectError`) for errors that are not
 * already SpaceOneErrors; the original is still logged there.
 */
import Database from "better-sqlite3";
import { errors, SpaceOneError } from "../errors.js";

/** The SpaceOneError for a storage failure, or null when `err` is not one. */
export function storageError(err: unknown): SpaceOneError | null {
  if (err instanceof Database.SqliteError) {
    const code = err.code;
    // SQLITE_BUSY_SNAPSHOT, SQLITE_LOCKED_SHAREDCACHE...: extended codes start with the primary one.
    if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) {
      return errors.unavailable("the database is busy (locked by another writer); retry");
    }
    if (code.startsWith("SQLITE_FULL")) {
      return new SpaceOneError(
        "ERROR_STORAGE_FULL",
        "resource_exhausted",
        "Storage is full. (reason = the database or its disk has no space left)",
      );
    }
    if (code.startsWith("SQLITE_READONLY")) return errors.unavailable("the database is read-only");
    if (code.startsWith("SQLITE_CANTOPEN")) return errors.unavailable("the database file cannot be opened");
    if (code.startsWith("SQLITE_IOERR"))
      return errors.unavailable("the database file cannot be read or written");
    return null;
  }
  // better-sqlite3 after close() (e.g. a call racing the shutdown): the service is going away.
  if (err instanceof TypeError && err.message === "The database connection is not open") {
    return errors.unavailable("the service is shutting down");
  }
  return null;
}
