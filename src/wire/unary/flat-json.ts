/**
 * The common request body, read without protobuf-es's JSON reader: a flat JSON object whose members
 * are scalar fields of the request message, each given once, with plain values: strings (`{"job_id":
 * "job-…"}`, what every client sends for `get`), 32-bit integers and floating-point numbers as plain
 * JSON numbers, booleans (`{"job_id": "job-…", "progress_percent": 40, "records_processed": 1200}`, a
 * worker's progress report). protobuf-es's `fromJsonString` parses the text, scans it again for duplicate
 * keys and runs its compiled reader (about a tenth of a `get`'s own code, docs/benchmarks.md "get JSON ...
 * third pass"); for this shape the message is the same as `create` with the values.
 *
 * Anything else is not read here (`undefined`): another member (a 64-bit integer, an enum, a message, a
 * list, a oneof member; any member of a well-known type), a string value for a number, `null`, an escape
 * or control character in a string, an integer with a fraction or an exponent, a number with an
 * exponent, a leading `+` or zero, `-0`, a value out of its field's range, a member given twice or by
 * both its names, malformed JSON. The caller then takes connect's own parser, so every error is the one
 * connect-node gives; what is read here is what that parser reads (test/wire-unary-flat-json*.test.ts
 * hold the two to each other over a corpus).
 */
import { create, type DescMessage, type Message, ScalarType } from "@bufbuild/protobuf";

export type FlatJsonReader = (bytes: Uint8Array) => Message | undefined;

/**
 * How a member's value is read (`readValue`); also how `request-json.ts` writes a flat request back
 * (the same scalars are plain JSON values both ways).
 */
export enum Kind {
  String,
  Bool,
  Int32,
  Uint32,
  Double,
  Float,
}

interface FlatField {
  readonly localName: string;
  readonly kind: Kind;
}

/** A scalar whose JSON is a plain string, boolean or number; undefined for the others. */
export function kindOf(scalar: ScalarType): Kind | undefined {
  switch (scalar) {
    case ScalarType.STRING:
      return Kind.String;
    case ScalarType.BOOL:
      return Kind.Bool;
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return Kind.Int32;
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return Kind.Uint32;
    case ScalarType.DOUBLE:
      return Kind.Double;
    case ScalarType.FLOAT:
      return Kind.Float;
    default:
      // 64-bit integers (a bigint or a decimal string in the message) and bytes (base64): connect's parser.
      return undefined;
  }
}

/**
 * A reader for `desc`'s flat scalar fields; undefined when it has none (the body is never flat then).
 * `decoder`: the one connect's JSON serialization uses (the server's `textDecoder` JSON option, which may
 * be fatal: then invalid UTF-8 is declined here and refused by connect's parser).
 */
export function flatJsonReader(
  desc: DescMessage,
  readMaxBytes: number,
  decoder: { decode(bytes: Uint8Array): string },
): FlatJsonReader | undefined {
  // A well-known type has a JSON form of its own (a wrapper is its bare value, `{"value": 1}` is refused).
  if (desc.typeName.startsWith("google.protobuf.")) return undefined;
  // Both the proto name and the JSON name, as protobuf-es's reader accepts them.
  const fields = new Map<string, FlatField>();
  for (const field of desc.fields) {
    if (field.fieldKind !== "scalar" || field.oneof) continue;
    const kind = kindOf(field.scalar);
    if (kind === undefined) continue;
    const flat = { localName: field.localName, kind };
    fields.set(field.name, flat).set(field.jsonName, flat);
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
    const init: Record<string, string | number | boolean> = {};
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
        const valueEnd = readValue(text, i, field.kind);
        if (valueEnd < 0) return undefined;
        init[field.localName] = read.value;
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

/** The value `readValue` read last (one module-level slot: no pair allocated per member). */
const read: { value: string | number | boolean } = { value: "" };

/** Reads a value of `kind` at `i` into `read.value`; the index after it, or -1 to decline the body. */
function readValue(text: string, i: number, kind: Kind): number {
  switch (kind) {
    case Kind.String: {
      const end = stringEnd(text, i);
      if (end >= 0) read.value = text.slice(i + 1, end - 1);
      return end;
    }
    case Kind.Bool:
      if (text.startsWith("true", i)) {
        read.value = true;
        return i + 4;
      }
      if (text.startsWith("false", i)) {
        read.value = false;
        return i + 5;
      }
      return -1;
    default:
      return readNumber(text, i, kind);
  }
}

/**
 * A JSON number of the plain forms `-?(0|[1-9][0-9]*)`, and for floating-point fields `(\.[0-9]+)?` after
 * it, whose value protobuf-es would store unchanged: JSON.parse gives a number literal the value
 * `Number` gives its text, and protobuf-es keeps a number that passes its field check (an integer in
 * range; a finite double; a float finite once rounded to 32 bits) as it is. `-0`, out-of-range values
 * (refused by protobuf-es) and exponents are declined rather than reasoned about.
 */
function readNumber(text: string, i: number, kind: Kind): number {
  let j = i;
  if (text.charCodeAt(j) === MINUS) j++;
  const first = text.charCodeAt(j);
  if (first === ZERO) {
    j++;
  } else if (first > ZERO && first <= NINE) {
    j = digitsEnd(text, j + 1);
  } else {
    return -1;
  }
  const integer = kind === Kind.Int32 || kind === Kind.Uint32;
  if (text.charCodeAt(j) === DOT) {
    if (integer) return -1;
    const fractionEnd = digitsEnd(text, j + 1);
    if (fractionEnd === j + 1) return -1;
    j = fractionEnd;
  }
  const c = text.charCodeAt(j);
  if (c === LOWER_E || c === UPPER_E) return -1;
  // At most 10 digits and a sign for a 32-bit integer: anything longer is out of range anyway.
  if (integer && j - i > 11) return -1;
  const value = Number(text.slice(i, j));
  if (Object.is(value, -0)) return -1;
  switch (kind) {
    case Kind.Int32:
      if (value > INT32_MAX || value < INT32_MIN) return -1;
      break;
    case Kind.Uint32:
      if (value > UINT32_MAX || value < 0) return -1;
      break;
    case Kind.Double:
      if (!Number.isFinite(value)) return -1;
      break;
    default:
      if (!Number.isFinite(Math.fround(value))) return -1;
  }
  read.value = value;
  return j;
}

/** The index after the decimal digits from `i`. */
function digitsEnd(text: string, i: number): number {
  let j = i;
  for (;;) {
    const c = text.charCodeAt(j);
    if (c < ZERO || c > NINE) return j;
    j++;
  }
}

const INT32_MAX = 0x7fffffff;
const INT32_MIN = -0x80000000;
const UINT32_MAX = 0xffffffff;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
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
