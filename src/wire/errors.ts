/**
 * Wire encodings of errors (docs/compatibility.md, "Errors").
 *
 * Connect/gRPC/gRPC-Web: the status code plus SpaceONE's details string `"ERROR_CODE: message"` as the
 * error message, which is what python-core puts in gRPC status details and what SpaceONE clients split
 * on the first `:`. REST: `{"detail": {"code": "ERROR_CODE", "message": "..."}}` with the HTTP status
 * console-api-v2 uses, the body shape the Cloudforet console parses.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { errors, SpaceOneError, type StatusName } from "../errors.js";
import { storageError } from "../storage/errors.js";
import { aroundCall, type CallInterceptor } from "./interceptor.js";

/** Response header (gRPC: trailer) that repeats the SpaceONE error code, so no client has to parse it. */
export const errorCodeHeader = "x-spaceone-error-code";
/** Prefix of the headers that carry a SpaceOneError's meta (`x-spaceone-error-reason`). */
export const errorMetaHeaderPrefix = "x-spaceone-error-";

const codeByStatus: Record<StatusName, Code> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  permission_denied: Code.PermissionDenied,
  unauthenticated: Code.Unauthenticated,
  failed_precondition: Code.FailedPrecondition,
  aborted: Code.Aborted,
  out_of_range: Code.OutOfRange,
  resource_exhausted: Code.ResourceExhausted,
  deadline_exceeded: Code.DeadlineExceeded,
  unavailable: Code.Unavailable,
  unimplemented: Code.Unimplemented,
  internal: Code.Internal,
};

/** Connect's code names (the strings in Connect error JSON), written out rather than using internals. */
const codeNames: Record<Code, string> = {
  [Code.Canceled]: "canceled",
  [Code.Unknown]: "unknown",
  [Code.InvalidArgument]: "invalid_argument",
  [Code.DeadlineExceeded]: "deadline_exceeded",
  [Code.NotFound]: "not_found",
  [Code.AlreadyExists]: "already_exists",
  [Code.PermissionDenied]: "permission_denied",
  [Code.ResourceExhausted]: "resource_exhausted",
  [Code.FailedPrecondition]: "failed_precondition",
  [Code.Aborted]: "aborted",
  [Code.OutOfRange]: "out_of_range",
  [Code.Unimplemented]: "unimplemented",
  [Code.Internal]: "internal",
  [Code.Unavailable]: "unavailable",
  [Code.DataLoss]: "data_loss",
  [Code.Unauthenticated]: "unauthenticated",
};

/** The Connect code for a SpaceONE status name. */
export function codeForStatus(status: StatusName): Code {
  return codeByStatus[status];
}

/** The Connect JSON name of a code (`not_found`), or undefined for a number that is not a code. */
export function codeName(code: Code): string | undefined {
  return codeNames[code];
}

/** What an unexpected fault is shown as (its cause is logged, never sent). */
const unknownError = new SpaceOneError("ERROR_UNKNOWN", "internal", "internal error");

/**
 * Turn anything a handler threw into the ConnectError to send. Unknown errors become a bare
 * `ERROR_UNKNOWN: internal error`: their message or stack may hold secrets or internals. The caller
 * logs the original.
 */
export function toConnectError(thrown: unknown): ConnectError {
  if (thrown instanceof ConnectError) return thrown;
  // A locked, read-only or full database, or a bad number in a binary request: not a server bug.
  const err =
    thrown instanceof SpaceOneError ? thrown : (storageError(thrown) ?? requestError(thrown) ?? thrown);
  if (err instanceof SpaceOneError) {
    // The error's meta travels as headers (gRPC: trailers) `x-spaceone-error-<key>`, e.g. a purged
    // job's `x-spaceone-error-reason: EXPIRED`; REST answers keep them too.
    const metadata: Record<string, string> = { [errorCodeHeader]: err.code };
    for (const [key, value] of Object.entries(err.meta)) {
      if (/^[a-z0-9_-]{1,40}$/.test(key))
        metadata[`${errorMetaHeaderPrefix}${key.replaceAll("_", "-")}`] = value;
    }
    // The SpaceOneError rides along as the cause: a REST answer is written from it (restErrorOf).
    return new ConnectError(err.details, codeForStatus(err.status), metadata, undefined, err);
  }
  return new ConnectError(
    "ERROR_UNKNOWN: internal error",
    Code.Internal,
    {
      [errorCodeHeader]: "ERROR_UNKNOWN",
    },
    undefined,
    unknownError,
  );
}

/**
 * Faults of the request that surface as plain errors inside a handler. A binary (protobuf) request
 * may carry a google.protobuf.Value double that is NaN or Infinity, which proto JSON cannot express,
 * so the handler's `toJson` throws: the client's value, not a server fault.
 */
function requestError(err: unknown): SpaceOneError | null {
  if (err instanceof Error && / cannot be NaN or Infinity$/.test(err.message)) {
    return errors.invalidParameter("request", "a number is NaN or Infinity, which JSON cannot carry");
  }
  return null;
}

/**
 * An interceptor applying `toConnectError` to whatever an implementation throws, so handlers can throw
 * `SpaceOneError`s directly. `onUnknown` sees the original of every error that was not already a
 * SpaceOneError or ConnectError (a bug or an infrastructure fault): log it there, it is not sent.
 */
export function createErrorInterceptor(
  onUnknown?: (err: unknown, procedure: string) => void,
): CallInterceptor {
  return (next) => (req) =>
    aroundCall(next, req, passThrough, (err) => {
      if (!(err instanceof ConnectError) && !(err instanceof SpaceOneError)) {
        onUnknown?.(err, `${req.service.typeName}/${req.method.name}`);
      }
      throw toConnectError(err);
    });
}

const passThrough = <T>(res: T): T => res;

/**
 * HTTP status of a REST error (docs/compatibility.md, "Errors", python-core fastapi `_STATUS_CODE_MAP`, plus 429 for
 * resource_exhausted as Connect does, so an oversized body reads as "too much", not as a server fault).
 */
export function httpStatusForCode(code: Code): number {
  switch (code) {
    case Code.InvalidArgument:
    case Code.FailedPrecondition:
    case Code.OutOfRange:
      return 400;
    case Code.Unauthenticated:
      return 401;
    case Code.PermissionDenied:
      return 403;
    case Code.NotFound:
      return 404;
    case Code.AlreadyExists:
    case Code.Aborted:
      return 409;
    case Code.ResourceExhausted:
      return 429;
    case Code.Canceled:
      return 499;
    case Code.Unimplemented:
      return 501;
    case Code.Unavailable:
      return 503;
    case Code.DeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

export interface RestErrorBody {
  readonly detail: { readonly code: string; readonly message: string };
}

export interface RestError {
  readonly status: number;
  readonly body: RestErrorBody;
}

/**
 * The REST error for a ConnectError, from the SpaceOneError it was made from (`toConnectError` keeps it
 * as the cause): its code and message as they are. An error that never was a SpaceOneError (connect's
 * own, such as "message size is larger than configured readMaxBytes") gets a code named after its
 * status, such as `ERROR_INVALID_ARGUMENT` or `ERROR_RESOURCE_EXHAUSTED`, and its raw message.
 */
export function restErrorOf(err: ConnectError): RestError {
  const status = httpStatusForCode(err.code);
  if (err.cause instanceof SpaceOneError) {
    return { status, body: { detail: { code: err.cause.code, message: err.cause.message } } };
  }
  const name = codeNames[err.code] ?? "unknown";
  return { status, body: { detail: { code: `ERROR_${name.toUpperCase()}`, message: err.rawMessage } } };
}

/** gRPC's Percent-Encoded: bytes 0x20-0x7E except `%` stay as they are; every other byte is `%XX`. */
export function minimalPercentEncode(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
