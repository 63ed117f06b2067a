/** Connect code names as metric label values: a fixed set of 17 (`ok` and the 16 error codes). */
import { Code } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";

export function codeLabel(code: Code | undefined): string {
  if (code === undefined) return "ok";
  return Code[code] === undefined ? "unknown" : codeToString(code);
}

/**
 * The code behind an HTTP error status we (or connect-node) answered without a handler running: the
 * inverse of the Connect and REST status mappings, where 404 is a path nobody serves.
 */
const codeByStatus: Record<number, Code> = {
  400: Code.InvalidArgument,
  401: Code.Unauthenticated,
  403: Code.PermissionDenied,
  404: Code.Unimplemented,
  405: Code.Unimplemented,
  408: Code.DeadlineExceeded,
  409: Code.Aborted,
  412: Code.FailedPrecondition,
  413: Code.ResourceExhausted,
  415: Code.InvalidArgument,
  429: Code.ResourceExhausted,
  499: Code.Canceled,
  500: Code.Internal,
  501: Code.Unimplemented,
  503: Code.Unavailable,
  504: Code.DeadlineExceeded,
};

export function codeLabelFromHttpStatus(status: number): string {
  if (status >= 200 && status < 300) return "ok";
  const code = codeByStatus[status];
  return code === undefined ? "unknown" : codeLabel(code);
}
