/**
 * The common request body, read without protobuf-es's JSON reader: a flat JSON object whose members
 * are string fields of the request message, each given once, with plain string values (`{"job_id":
 * "job-…"}`, what every client sends for `get`). protobuf-es's `fromJsonString` parses the text, scans it
 * again for duplicate keys and runs its compiled reader (about a tenth of a `get`'s own code,
 * docs/benchmarks.md "get JSON ... third pass"); for this shape the message is the same as `create` with
 * the values.
 *
 * Anything else (another member, a non-string value, an escape or control character in a string, a
 * member given twice or by both its names, malformed JSON) is not read here (`undefined`): the caller
 * then takes connect's own parser, so every error is the one connect-node gives.
 */
import { create, type DescField, type DescMessage, type Message, ScalarType } from "@bufbuild/protobuf";

export type FlatJsonReader = (bytes: Uint8Array) => Message | undefined;

/**
 * A reader for `desc`'s flat string fields; undefined when it has none (the body is never flat then).
 * `decoder`: the one connect's JSON serialization uses (the server's `textDecoder` JSON option, which may
 * be fatal: then invalid UTF-8 is declined here and refused by connect's parser).
 */
export function flatJsonReader(
  desc: DescMessage,
  readMaxBytes: number,
  decoder: { decode(bytes: Uint8Array): string },
): FlatJsonReader | undefined {
  // Both the proto name and the JSON name, as protobuf-es's reader accepts them.
  const fields = new Map<string, DescField>();
  for (const field of desc.fields) {
    if (field.fieldKind !== "scalar" || field.scalar !== ScalarType.STRING || field.oneof) continue;
    fields.set(field.name, field).set(field.jsonName, field);
  }
  if (fields.size === 0) return undefined;
  return (bytes) => {
    // Over the limit: connect's parser gives its error.
    if (bytes.byteLength > readMaxBytes) return undefined;
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      return undefined;
    }
    const init: Record<string, string> = {};
    let i = space(text, 0);
    if (text.charCodeAt(i) !== OPEN) return undefined;
    i = space(text, i + 1);
    if (text.charCodeAt(i) === CLOSE) {
      i++;
    } else {
      for (;;) {
        const keyEnd = stringEnd(text, i);
        if (keyEnd < 0) return undefined;
        const field = fields.get(text.slice(i + 1, keyEnd - 1));
        if (field === undefined || init[field.localName] !== undefined) return undefined;
        i = space(text, keyEnd);
        if (text.charCodeAt(i) !== COLON) return undefined;
        i = space(text, i + 1);
        const valueEnd = stringEnd(text, i);
        if (valueEnd < 0) return undefined;
        init[field.localName] = text.slice(i + 1, valueEnd - 1);
        i = space(text, valueEnd);
        const next = text.charCodeAt(i);
        if (next === CLOSE) {
          i++;
          break;
        }
        if (next !== COMMA) return undefined;
        i = space(text, i + 1);
      }
    }
    if (space(text, i) !== text.length) return undefined;
    return create(desc, init);
  };
}

const OPEN = 0x7b;
const CLOSE = 0x7d;
const COLON = 0x3a;
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The index after JSON whitespace (space, tab, line feed, carriage return) from `i`. */
function space(text: string, i: number): number {
  let j = i;
  for (;;) {
    const c = text.charCodeAt(j);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return j;
    j++;
  }
}

/** The index after a plain string literal at `i` (no escapes, no control characters), or -1. */
function stringEnd(text: string, i: number): number {
  if (text.charCodeAt(i) !== QUOTE) return -1;
  for (let j = i + 1; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === QUOTE) return j + 1;
    if (c === BACKSLASH || c < 0x20) return -1;
  }
  return -1;
}
