/**
 * The bytes of a self-encoded answer (unary/self-encoded.ts), counted against the response limit as
 * they are produced and handed out in chunks of about `CHUNK_BYTES`: an answer is refused with
 * `resource_exhausted` as soon as it would pass `maxBytes`, before it has grown past it.
 */
import { SpaceOneError } from "../../errors.js";

/** Bytes gathered before a chunk is handed out: few chunks, none large. */
export const CHUNK_BYTES = 64 * 1024;

export function answerTooLarge(maxBytes: number): SpaceOneError {
  return new SpaceOneError(
    "ERROR_RESPONSE_TOO_LARGE",
    "resource_exhausted",
    `The answer is larger than ${maxBytes} bytes (MAX_RESPONSE_BYTES); narrow the query ` +
      "(query.only, query.page.limit, a filter).",
  );
}

abstract class Pieces<T> {
  protected parts: T[] = [];
  protected pending = 0;
  private total = 0;

  constructor(private readonly maxBytes: number) {}

  protected count(bytes: number): void {
    this.total += bytes;
    if (this.total > this.maxBytes) throw answerTooLarge(this.maxBytes);
    this.pending += bytes;
  }

  /** Bytes counted so far. */
  get size(): number {
    return this.total;
  }

  /** A chunk's worth is waiting. */
  get full(): boolean {
    return this.pending >= CHUNK_BYTES;
  }

  /** What is waiting, as one chunk (empty when nothing is). */
  abstract take(): Uint8Array;
}

/** JSON text in pieces (UTF-8). */
export class TextPieces extends Pieces<string> {
  add(text: string): void {
    this.count(Buffer.byteLength(text));
    this.parts.push(text);
  }

  take(): Uint8Array {
    const chunk = Buffer.from(this.parts.join(""));
    this.parts = [];
    this.pending = 0;
    return chunk;
  }
}

/** Binary protobuf in pieces. */
export class BytePieces extends Pieces<Uint8Array> {
  add(bytes: Uint8Array): void {
    this.count(bytes.byteLength);
    this.parts.push(bytes);
  }

  take(): Uint8Array {
    const chunk = Buffer.concat(this.parts);
    this.parts = [];
    this.pending = 0;
    return chunk;
  }
}
