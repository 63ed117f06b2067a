/**
 * The answer's message bytes, once, in the caller's format: the serializer connect-node uses (with the
 * server's `writeMaxBytes`), or, when the handler returned a shell carrying a `SelfEncoder`
 * (self-encoded.ts), the encoder's whole answer if it gives one at once, else its pieces collected up to
 * the same limit. An error thrown while encoding is the call's error.
 *
 * Synchronous whenever the answer is in memory (a whole message, or an encoder's whole answer): a
 * promise only for pieces.
 *
 * `text` (the Connect path, which writes the body itself): an encoder's whole JSON answer comes back as
 * its string with its UTF-8 size (measured once, for the limit and `Content-Length`), for `res.end(string)`: Node then writes it to the socket from C++, with no `Buffer` made
 * and filled in JS first (-3 to -8 % instructions per JSON `get`, callgrind; docs/benchmarks.md "get
 * JSON: the answer as a string, measured again").
 */
import type { Message } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { UnaryMethod } from "./methods.js";
import { type SelfEncoder, selfEncoderOf } from "./self-encoded.js";

/** A whole JSON answer as its string, and its length in UTF-8 bytes. */
export interface AnswerText {
  readonly text: string;
  readonly size: number;
}

export function encodeAnswer(
  output: unknown,
  unary: UnaryMethod,
  binary: boolean,
  maxBytes: number,
  text = false,
): Uint8Array | AnswerText | Promise<Uint8Array> {
  const encoder = selfEncoderOf(output);
  if (encoder === undefined) return unary.serialization.getO(binary).serialize(output as Message);
  if (binary) {
    const whole = encoder.binaryBytes?.();
    if (whole !== undefined) {
      if (whole.byteLength > maxBytes) throw tooLarge(whole.byteLength, maxBytes);
      return whole;
    }
  } else {
    const json = encoder.jsonText?.();
    if (json !== undefined) {
      if (text) {
        const size = Buffer.byteLength(json);
        if (size > maxBytes) throw tooLarge(size, maxBytes);
        return { text: json, size };
      }
      const bytes = Buffer.from(json);
      if (bytes.byteLength > maxBytes) throw tooLarge(bytes.byteLength, maxBytes);
      return bytes;
    }
  }
  return collect(encoder, binary, maxBytes);
}

async function collect(encoder: SelfEncoder, binary: boolean, maxBytes: number): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  let size = 0;
  for await (const piece of binary ? encoder.binary(maxBytes) : encoder.json(maxBytes)) {
    size += piece.byteLength;
    // The encoder should have stopped itself; never hold more than the limit whatever it does.
    if (size > maxBytes) throw tooLarge(size, maxBytes);
    pieces.push(piece);
  }
  return pieces.length === 1 ? (pieces[0] as Uint8Array) : Buffer.concat(pieces, size);
}

/** connect's own words for an answer over `writeMaxBytes` (limit-io.ts `assertWriteMaxBytes`). */
function tooLarge(size: number, maxBytes: number): ConnectError {
  return new ConnectError(
    `message size ${size} is larger than configured writeMaxBytes ${maxBytes}`,
    Code.ResourceExhausted,
  );
}
