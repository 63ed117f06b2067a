/**
 * What the lean path does with an error, once, at the source: anything thrown becomes the ConnectError
 * to send. A SpaceOneError (e.g. a self-encoded answer refused at the response limit, thrown outside the
 * interceptors) is mapped as the error interceptor maps it; a request that cannot be decoded is
 * `invalid_argument` (connect's decoders say `internal` for a protobuf body they cannot parse and for a
 * compressed frame without an encoding; its JSON decoder and connect-go say `invalid_argument`).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { SpaceOneError } from "../../errors.js";
import { toConnectError } from "../errors.js";

/** connect's messages for a request it could not decode (never produced for a server fault). */
export const DECODE_FAILURE =
  /^(?:parse binary: |received compressed envelope, but do not know how to decompress)/;

export function leanError(thrown: unknown): ConnectError {
  if (thrown instanceof ConnectError) {
    if (thrown.code === Code.Internal && DECODE_FAILURE.test(thrown.rawMessage)) {
      // connect's decode errors carry no details.
      return new ConnectError(thrown.rawMessage, Code.InvalidArgument, thrown.metadata);
    }
    return thrown;
  }
  if (thrown instanceof SpaceOneError) return toConnectError(thrown);
  return new ConnectError("internal error", Code.Internal, undefined, undefined, thrown);
}
