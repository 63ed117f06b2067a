/**
 * The answer's message bytes, once, in the caller's format: the serializer connect-node uses (with the
 * server's `writeMaxBytes`), or, when the handler returned a shell carrying a `SelfEncoder`
 * (self-encoded.ts), the encoder's whole answer if it gives one at once, else its pieces collected up to
 * the same limit. An error thrown while encoding is the call's error.
 *
 * Synchronous whenever the answer is in memory (a whole message, or an encoder's whole answer): a
 * promise only for pieces. A JSON answer may be returned as its text (`text`), its UTF-8 length counted
 * against the limit as the bytes would be, so that HTTP/1.1 can write it with the head in one write.
 */
import type { Message } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { UnaryMethod } from "./methods.js";
import { type SelfEncoder, selfEncoderOf } from "./self-encoded.js";

/** A JSON answer as text, and its length in UTF-8 bytes (what Content-Length and the limit count). */
export interface AnswerText {
  readonly text: string;
  readonly bytes: number;
}

export type Answer = Uint8Array | AnswerText;

export function encodeAnswer(
  output: unknown,
  unary: UnaryMethod,
  binary: boolean,
  maxBytes: number,
  text: boolean,
): Answer | Promise<Uint8Array> {
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
      const bytes = Buffer.byteLength(json);
      if (bytes > maxBytes) throw tooLarge(bytes, maxBytes);
      return text ? { text: json, bytes } : Buffer.from(json);
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
