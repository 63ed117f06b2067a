/**
 * Storage failures as SpaceOne errors: the one mapping from a classified driver failure
 * (`Dialect.classifyError`) to what a caller sees. Stores convert every driver error they raise;
 * the wire layer's `storageError` catches driver errors raised outside a store (start-up, seeds).
 */
import { errors, SpaceOneError } from "../errors.js";
import type { StorageFailure } from "./dialect/dialect.js";
import { classifySqliteError } from "./dialect/sqlite/classify-error.js";

export type Classify = (error: unknown) => StorageFailure | null;

/** The SpaceOneError for a classified failure. */
export function failureError(failure: StorageFailure): SpaceOneError {
  switch (failure.kind) {
    case "unavailable":
      return errors.unavailable(failure.message);
    case "deadline_exceeded":
      return deadlineExceeded(failure.message);
    case "resource_exhausted":
      return new SpaceOneError(
        "ERROR_STORAGE_FULL",
        "resource_exhausted",
        `Storage is full. (reason = ${failure.message})`,
      );
    case "key_taken":
      // Stores answer a taken key as InsertResult.key_taken; reaching here is a store bug.
      return errors.unknown("an idempotency key conflict escaped the store");
  }
}

/** The caller's deadline passed before (or while) its query ran. */
export function deadlineExceeded(
  reason = "the call's deadline passed before the query finished",
): SpaceOneError {
  return new SpaceOneError(
    "ERROR_DEADLINE_EXCEEDED",
    "deadline_exceeded",
    `Deadline exceeded. (reason = ${reason})`,
  );
}

/**
 * A heavy read needed more memory than its worker's heap may hold (DATABASE_READ_WORKER_HEAP_MB):
 * the caller's query is too big for this server, not broken, and narrower ones still answer.
 */
export function readTooLarge(heapMb: number): SpaceOneError {
  return new SpaceOneError(
    "ERROR_QUERY_TOO_LARGE",
    "resource_exhausted",
    `The query needed more than the ${heapMb} MB a read may use (DATABASE_READ_WORKER_HEAP_MB); ` +
      "narrow it (filter, page.limit, only, fewer push fields).",
  );
}

/** `error` as a SpaceOneError when it is a classified storage failure; otherwise `error` itself. */
export function asStorageError(error: unknown, classify: Classify = classifySqliteError): unknown {
  if (error instanceof SpaceOneError) return error;
  const failure = classify(error);
  return failure ? failureError(failure) : error;
}

/** The SpaceOneError for a storage failure, or null when `err` is not one. */
export function storageError(err: unknown, classify: Classify = classifySqliteError): SpaceOneError | null {
  const failure = classify(err);
  return failure ? failureError(failure) : null;
}
