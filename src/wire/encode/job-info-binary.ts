/**
 * A job's `JobInfo` as binary protobuf, written straight from its view: the bytes protobuf-es writes for
 * `toBinary(JobInfoSchema, toJobInfo(view))` (test/job-info-binary.test.ts holds the two byte for byte),
 * without the message, protobuf-es's `BinaryWriter` (a byte array per fork, TextEncoder per string) or
 * the `Struct`/`Value` messages of `options`. Field numbers, wire types, presence and enum numbers come
 * from the generated descriptor (through job-info.ts's view-to-field table), so a proto change cannot
 * silently diverge from it; a field kind this writer does not know fails at start-up.
 *
 * The rules protobuf-es applies, and this reproduces: fields in field-number order; an implicit-presence
 * field at its zero value ("", 0, the enum's first value; for doubles 0 but not -0) is left out, an
 * explicit-presence (`optional`) one is written whenever set; enums and uint32 as varints, doubles as
 * little-endian fixed64, strings as UTF-8 (a lone surrogate as U+FFFD, as TextEncoder writes it); a
 * `Struct` as its map entries in the object's key order (key always written), each value a `Value` with
 * exactly its oneof case written (null as 0, lists as `ListValue`, objects as nested `Struct`).
 *
 * A value outside those shapes (a non-string in a string field, a uint32 out of range, a Struct value
 * JSON cannot hold) is written by protobuf-es itself, which then encodes it or fails with its own words.
 *
 * One module-level buffer is reused: the writer is synchronous and calls nothing that could re-enter it.
 * A nested message's length goes before its body, so one byte is reserved for it and the body moved
 * forward in the rare case the length needs more.
 */
import { type DescField, ScalarType, toBinary } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { FeatureSet_FieldPresence, ListValueSchema, StructSchema, ValueSchema } from "@bufbuild/protobuf/wkt";
import { JobInfoSchema } from "../../../gen/spaceone/api/identity/v2/job_pb.js";
import type { ViewField } from "../../catalogue/job-fields.js";
import type { JobView } from "../../service/job-view.js";
import { JOB_INFO_FIELDS, toJobInfo } from "./job-info.js";

/** A tag's bytes: the varint of (field number << 3 | wire type). */
function tagBytes(field: number, wireType: WireType): readonly number[] {
  const bytes: number[] = [];
  let v = ((field << 3) | wireType) >>> 0;
  while (v > 127) {
    bytes.push((v & 127) | 128);
    v >>>= 7;
  }
  bytes.push(v);
  return bytes;
}

// ---- the writer ---------------------------------------------------------------------------------

let buf = Buffer.allocUnsafe(16 * 1024);
let pos = 0;

function room(n: number): void {
  if (pos + n <= buf.length) return;
  const next = Buffer.allocUnsafe(Math.max(2 * buf.length, pos + n));
  buf.copy(next, 0, 0, pos);
  buf = next;
}

function tag(bytes: readonly number[]): void {
  room(bytes.length);
  for (let i = 0; i < bytes.length; i++) buf[pos++] = bytes[i] as number;
}

function varint(value: number): void {
  room(5);
  let v = value >>> 0;
  while (v > 127) {
    buf[pos++] = (v & 127) | 128;
    v >>>= 7;
  }
  buf[pos++] = v;
}

function varintSize(value: number): number {
  let size = 1;
  for (let v = value >>> 7; v !== 0; v >>>= 7) size++;
  return size;
}

/** Reserve one byte for a length; returns where the body starts. */
function open(): number {
  room(1);
  pos++;
  return pos;
}

/** Write the length of the body that started at `start`, moving the body when it needs more bytes. */
function close(start: number): void {
  const length = pos - start;
  if (length < 128) {
    buf[start - 1] = length;
    return;
  }
  const extra = varintSize(length) - 1;
  room(extra);
  buf.copyWithin(start + extra, start, pos);
  const end = pos + extra;
  pos = start - 1;
  varint(length);
  pos = end;
}

/** A string at most this long has at most 127 UTF-8 bytes: its length is one byte, known after writing. */
const SHORT_STRING = 42;

function string(text: string): void {
  if (text.length <= SHORT_STRING) {
    room(1 + 3 * text.length);
    // ASCII (ids, dates, most text) byte by byte: cheaper than a call into the native encoder.
    const start = pos + 1;
    const n = text.length;
    let i = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c >= 128) break;
      buf[start + i] = c;
    }
    const written = i === n ? n : i + buf.write(text.slice(i), start + i);
    buf[pos] = written;
    pos = start + written;
    return;
  }
  const length = Buffer.byteLength(text);
  varint(length);
  room(length);
  pos += buf.write(text, pos);
}

function double(value: number): void {
  room(8);
  pos = buf.writeDoubleLE(value, pos);
}

// ---- google.protobuf.Struct -----------------------------------------------------------------------

/** Thrown where protobuf-es must write the view itself (see the file's comment). */
const NOT_PLAIN = Symbol("not plain");

const STRUCT_ENTRY = tagBytes(StructSchema.field.fields.number, WireType.LengthDelimited);
/** A map entry's key and value are always fields 1 and 2. */
const ENTRY_KEY = tagBytes(1, WireType.LengthDelimited);
const ENTRY_VALUE = tagBytes(2, WireType.LengthDelimited);
const VALUE_NULL = tagBytes(ValueSchema.field.nullValue.number, WireType.Varint);
const VALUE_NUMBER = tagBytes(ValueSchema.field.numberValue.number, WireType.Bit64);
const VALUE_STRING = tagBytes(ValueSchema.field.stringValue.number, WireType.LengthDelimited);
const VALUE_BOOL = tagBytes(ValueSchema.field.boolValue.number, WireType.Varint);
const VALUE_STRUCT = tagBytes(ValueSchema.field.structValue.number, WireType.LengthDelimited);
const VALUE_LIST = tagBytes(ValueSchema.field.listValue.number, WireType.LengthDelimited);
const LIST_VALUES = tagBytes(ListValueSchema.field.values.number, WireType.LengthDelimited);

function struct(object: Record<string, unknown>): void {
  for (const key of Object.keys(object)) {
    tag(STRUCT_ENTRY);
    const entry = open();
    tag(ENTRY_KEY);
    string(key);
    tag(ENTRY_VALUE);
    const body = open();
    value(object[key]);
    close(body);
    close(entry);
  }
}

/** A JSON value as `google.protobuf.Value`'s body. */
function value(json: unknown): void {
  switch (typeof json) {
    case "number":
      tag(VALUE_NUMBER);
      double(json);
      return;
    case "string":
      tag(VALUE_STRING);
      string(json);
      return;
    case "boolean":
      tag(VALUE_BOOL);
      varint(json ? 1 : 0);
      return;
    case "object": {
      if (json === null) {
        tag(VALUE_NULL);
        varint(0);
        return;
      }
      if (Array.isArray(json)) {
        tag(VALUE_LIST);
        const list = open();
        for (const item of json) {
          tag(LIST_VALUES);
          const body = open();
          value(item);
          close(body);
        }
        close(list);
        return;
      }
      tag(VALUE_STRUCT);
      const body = open();
      struct(json as Record<string, unknown>);
      close(body);
      return;
    }
  }
  throw NOT_PLAIN;
}

// ---- JobInfo --------------------------------------------------------------------------------------

enum Kind {
  String,
  Enum,
  Uint32,
  Double,
  Struct,
}

interface Field {
  readonly view: ViewField;
  readonly tag: readonly number[];
  readonly kind: Kind;
  /** Implicit presence: the zero value is left out. */
  readonly implicit: boolean;
  /** Enums: the number of each value name (what toJobInfo maps the view's names with). */
  readonly enumNumbers: ReadonlyMap<string, number> | null;
  /** Enums: the zero value's number (protobuf-es leaves an implicit enum out at the first value's). */
  readonly enumZero: number;
}

function describe(view: ViewField, field: DescField, enumNumbers: ReadonlyMap<string, number> | null): Field {
  const implicit = field.presence === FeatureSet_FieldPresence.IMPLICIT;
  const base = { view, implicit, enumNumbers, enumZero: 0 };
  switch (field.fieldKind) {
    case "enum":
      return {
        ...base,
        kind: Kind.Enum,
        tag: tagBytes(field.number, WireType.Varint),
        enumZero: (field.enum.values[0] as { number: number }).number,
      };
    case "message":
      if (field.message.typeName === "google.protobuf.Struct" && !field.delimitedEncoding)
        return { ...base, kind: Kind.Struct, tag: tagBytes(field.number, WireType.LengthDelimited) };
      break;
    case "scalar":
      switch (field.scalar) {
        case ScalarType.STRING:
          return { ...base, kind: Kind.String, tag: tagBytes(field.number, WireType.LengthDelimited) };
        case ScalarType.UINT32:
          return { ...base, kind: Kind.Uint32, tag: tagBytes(field.number, WireType.Varint) };
        case ScalarType.DOUBLE:
          return { ...base, kind: Kind.Double, tag: tagBytes(field.number, WireType.Bit64) };
      }
  }
  throw new Error(`job-info-binary.ts cannot write ${field.toString()}; teach it this field's encoding`);
}

/** The view's fields in field-number order (protobuf-es's order). */
const FIELDS: readonly Field[] = [...JOB_INFO_FIELDS]
  .sort((a, b) => a.field.number - b.field.number)
  .map(({ view, field, enumNumbers }) => describe(view, field, enumNumbers));

function write(field: Field, value: unknown): void {
  switch (field.kind) {
    case Kind.String:
      if (typeof value !== "string") throw NOT_PLAIN;
      if (field.implicit && value === "") return;
      tag(field.tag);
      string(value);
      return;
    case Kind.Enum: {
      // toJobInfo leaves a name the enum lacks unset.
      const number = field.enumNumbers?.get(value as string);
      if (number === undefined || (field.implicit && number === field.enumZero)) return;
      if (number < 0) throw NOT_PLAIN;
      tag(field.tag);
      varint(number);
      return;
    }
    case Kind.Uint32:
      if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 0xffffffff)
        throw NOT_PLAIN;
      if (field.implicit && value === 0) return;
      tag(field.tag);
      varint(value);
      return;
    case Kind.Double:
      if (typeof value !== "number") throw NOT_PLAIN;
      if (field.implicit && Object.is(value, 0)) return;
      tag(field.tag);
      double(value);
      return;
    case Kind.Struct: {
      if (value === null || typeof value !== "object" || Array.isArray(value)) throw NOT_PLAIN;
      tag(field.tag);
      const body = open();
      struct(value as Record<string, unknown>);
      close(body);
      return;
    }
  }
}

/** One job's JobInfo in binary protobuf. */
export function jobInfoBinary(view: JobView): Uint8Array {
  pos = 0;
  try {
    const record = view as Record<string, unknown>;
    for (const field of FIELDS) {
      const value = record[field.view];
      if (value !== undefined) write(field, value);
    }
  } catch (e) {
    if (e === NOT_PLAIN) return toBinary(JobInfoSchema, toJobInfo(view));
    throw e;
  }
  const out = Buffer.allocUnsafe(pos);
  buf.copy(out, 0, 0, pos);
  return out;
}
