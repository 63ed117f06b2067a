/**
 * The common binary request, read without protobuf-es's binary reader: a message whose records are all
 * string fields of the request message (`0a 10 "job-…"`, what every client sends for a gRPC or Connect
 * proto `get`). protobuf-es's `fromBinary` builds a `BinaryReader` (a `DataView` over the bytes), an
 * array per tag and per ASCII string, and looks each field up in a map of compiled readers; for this
 * shape the message it gives is `create` with the values (a field given twice: the last one).
 *
 * Anything else (a field the message does not have, a field that is not a plain string, a record of
 * another wire type, a malformed or truncated varint or length, invalid UTF-8) is not read here
 * (`undefined`): the caller then takes connect's own parser, so every unknown field is kept and every
 * error is the one connect-node gives.
 */
import { create, type DescMessage, type Message, ScalarType } from "@bufbuild/protobuf";

export type FlatBinaryReader = (bytes: Uint8Array) => Message | undefined;

/** Wire type 2, length-delimited: the only one a string field is written with. */
const LENGTH_DELIMITED = 2;

/**
 * A reader for `desc`'s flat string fields; undefined when it has none (the body is never flat then).
 * Bodies over `readMaxBytes` are declined (connect's parser gives its error).
 */
export function flatBinaryReader(desc: DescMessage, readMaxBytes: number): FlatBinaryReader | undefined {
  // Field number -> local name; a sparse array, as field numbers of request messages are small.
  const names: string[] = [];
  for (const field of desc.fields) {
    if (field.fieldKind !== "scalar" || field.scalar !== ScalarType.STRING || field.oneof) continue;
    if (field.number > 1024) continue;
    names[field.number] = field.localName;
  }
  if (names.length === 0) return undefined;
  // Invalid UTF-8 is declined: protobuf-es refuses it in a proto3 string, or replaces it in another.
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  return (bytes) => {
    const end = bytes.length;
    if (end > readMaxBytes) return undefined;
    const init: Record<string, string> = {};
    let i = 0;
    while (i < end) {
      // The tag, a varint: field number << 3 | wire type (numbers over 1024 are not ours anyway).
      let tag = bytes[i++] as number;
      if (tag >= 0x80) {
        if (i >= end) return undefined;
        const b = bytes[i++] as number;
        if (b >= 0x80) return undefined;
        tag = (tag & 0x7f) | (b << 7);
      }
      if ((tag & 7) !== LENGTH_DELIMITED) return undefined;
      const name = names[tag >>> 3];
      if (name === undefined) return undefined;
      // The length, a varint within what is left (at most 4 bytes: bodies are far under 2^28 bytes).
      let length = 0;
      let shift = 0;
      for (;;) {
        if (i >= end || shift > 21) return undefined;
        const b = bytes[i++] as number;
        length |= (b & 0x7f) << shift;
        if (b < 0x80) break;
        shift += 7;
      }
      if (length > end - i) return undefined;
      const value = text(bytes, i, i + length, decoder);
      if (value === undefined) return undefined;
      init[name] = value;
      i += length;
    }
    return create(desc, init);
  };
}

/** The string of bytes [start, stop): ASCII directly, else UTF-8 (undefined if invalid). */
function text(
  bytes: Uint8Array,
  start: number,
  stop: number,
  decoder: { decode(bytes: Uint8Array): string },
): string | undefined {
  let ascii = "";
  for (let j = start; j < stop; j++) {
    const c = bytes[j] as number;
    if (c >= 0x80) {
      try {
        return decoder.decode(bytes.subarray(start, stop));
      } catch {
        return undefined;
      }
    }
    ascii += String.fromCharCode(c);
  }
  return ascii;
}
