/**
 * What the lean path does with an error, once, at the source: anything thrown becomes a ConnectError as
 * connect-node would make it, except that a request connect-node cannot decode is `invalid_argument`
 * (what decode-errors.ts rewrites connect-node's responses to), and a gRPC `grpc-message` uses the
 * minimal percent-encoding (what errors.ts `normalizeGrpcMessage` rewrites them to).
 */
import { Code, ConnectError } from "@connectrpc/connect";

/** connect-node's messages for a request it could not decode (never produced for a server fault). */
const DECODE_FAILURE = /^(?:parse binary: |received compressed envelope, but do not know how to decompress)/;

export function leanError(thrown: unknown): ConnectError {
  if (thrown instanceof ConnectError) {
    if (thrown.code === Code.Internal && DECODE_FAILURE.test(thrown.rawMessage)) {
      // connect-node's decode errors carry no details.
      return new ConnectError(thrown.rawMessage, Code.InvalidArgument, thrown.metadata);
    }
    return thrown;
  }
  return new ConnectError("internal error", Code.Internal, undefined, undefined, thrown);
}
