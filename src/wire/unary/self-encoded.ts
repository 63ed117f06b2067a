/**
 * An answer that encodes itself, piece by piece, from the rows as they are read.
 *
 * Why: a `list` without a page (the console's call) can return 100,000 jobs. Built as messages, then
 * views, then JSON text, such an answer holds three copies of itself at once (about 650 MB for 50,000
 * jobs). A handler that knows its answer's shape can write the bytes straight from the rows instead.
 *
 * The contract between a handler and the unary path that writes its answer:
 * - The unary path that can write such answers sets `acceptsSelfEncodedKey` in the call's context values.
 *   A handler that sees it may return a shell message carrying a `SelfEncoder` (`withSelfEncoder`);
 *   without it, the handler returns the whole message as usual (connect-node, the differential test).
 * - The unary path asks the encoder for the caller's format and writes those bytes, exactly as if it had
 *   serialized the whole message itself (the encoders are tested byte for byte against protobuf-es).
 * - The encoder stops with `resource_exhausted` (a SpaceOneError) as soon as the bytes would pass
 *   `maxBytes`, so an answer never grows past the response limit before it is refused. Nothing is sent
 *   before the last piece: the unary path collects the pieces (bytes only, at most `maxBytes`) and then
 *   writes status, headers and body, so a refused answer is still an ordinary error response.
 * - An encoder whose answer is small and already in memory (one job) may also give it whole, at once
 *   (`jsonText`, `binaryBytes`): the unary path then encodes and writes it at once, without iterating
 *   pieces (no generator, no promise per piece, no await). The bytes are those of the pieces; the unary
 *   path counts them against the same limit, with the same error.
 */
import { createContextKey } from "@connectrpc/connect";

export interface SelfEncoder {
  /** The message's proto JSON under the server's JSON write options, in pieces. */
  json(maxBytes: number): AsyncIterable<Uint8Array>;
  /** The message's binary protobuf encoding, in pieces. */
  binary(maxBytes: number): AsyncIterable<Uint8Array>;
  /** `json`'s whole text at once (its UTF-8 bytes are `json`'s), or undefined: ask `json`. */
  jsonText?(): string | undefined;
  /** `binary`'s whole bytes at once, or undefined: ask `binary`. */
  binaryBytes?(): Uint8Array | undefined;
}

export const acceptsSelfEncodedKey = createContextKey<boolean>(false, {
  description: "the unary path writing this call's answer takes self-encoded answers",
});

const selfEncoder = Symbol("selfEncoder");

/** The shell message with its encoder attached (a property of our own object, not enumerable). */
export function withSelfEncoder<T extends object>(shell: T, encoder: SelfEncoder): T {
  Object.defineProperty(shell, selfEncoder, { value: encoder, enumerable: false });
  return shell;
}

/**
 * Shells of one message type for a hot answer: each is an object inheriting `empty`'s fields (what
 * reads of the shell see, as of an empty message) with the encoder as its only own property. Building
 * an empty message per call (every field's default set) and defining a property on it cost more than the
 * answer's encoding (docs/benchmarks.md "gRPC get: allocations, second pass"). `empty` is shared by
 * every shell: nothing may change it.
 */
export function shellsOf<T extends object>(empty: T): (encoder: SelfEncoder) => T {
  return (encoder) => {
    const shell = Object.create(empty) as { [selfEncoder]?: SelfEncoder };
    shell[selfEncoder] = encoder;
    return shell as T;
  };
}

/** The encoder a handler attached to its answer, if any. */
export function selfEncoderOf(answer: unknown): SelfEncoder | undefined {
  if (typeof answer !== "object" || answer === null) return undefined;
  return (answer as { [selfEncoder]?: SelfEncoder })[selfEncoder];
}
