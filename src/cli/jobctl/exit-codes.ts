/**
 * jobctl's exit codes: one per kind of failure, so a script can tell "retry later" from "fix the
 * request" from "log in again". Listed in `jobctl --help` and the README.
 */
import { Code } from "@connectrpc/connect";

export const EXIT = {
  ok: 0,
  /** Anything else: an internal server error, an unexpected answer. */
  failure: 1,
  /** Bad command line (commander's own usage errors also exit 1 -> mapped to 2 by main). */
  usage: 2,
  /** unauthenticated or permission_denied: a missing, bad or expired token, or a role that may not. */
  auth: 3,
  /** not_found: no such job in the token's scope. */
  notFound: 4,
  /** invalid_argument, failed_precondition, out_of_range, already_exists, aborted: fix the request. */
  invalid: 5,
  /** unavailable, deadline_exceeded, resource_exhausted, or the server cannot be reached: retry. */
  unavailable: 6,
  /** `wait`: the job finished, but not with SUCCESS (FAILURE or CANCELED). */
  jobFailed: 10,
  /** `wait`: the timeout passed before the job finished. */
  timedOut: 11,
} as const;

export function exitCodeFor(code: Code): number {
  switch (code) {
    case Code.Unauthenticated:
    case Code.PermissionDenied:
      return EXIT.auth;
    case Code.NotFound:
      return EXIT.notFound;
    case Code.InvalidArgument:
    case Code.FailedPrecondition:
    case Code.OutOfRange:
    case Code.AlreadyExists:
    case Code.Aborted:
      return EXIT.invalid;
    case Code.Unavailable:
    case Code.DeadlineExceeded:
    case Code.ResourceExhausted:
      return EXIT.unavailable;
    default:
      return EXIT.failure;
  }
}
