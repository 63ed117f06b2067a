/**
 * The `Job.stat` answer (`google.protobuf.Struct`) encoded from the service's result object, without a
 * Struct message of every value beside it: as proto JSON or binary, the bytes protobuf-es writes for
 * `fromJson(StructSchema, result)` (test/encode-differential.test.ts), produced a value at a time, so
 * an answer past the response limit stops there.
 *
 * JSON: the object's members in their order, list members a value at a time (`structValueJson`).
 * Binary: the Struct's `fields` map entries in the object's order; a list member's values are encoded
 * one by one and their lengths summed before the entry's header is written (protobuf lengths come
 * first), so a list is held as its encoded values, never as messages.
 */
import { fromJson, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { StructSchema, ValueSchema } from "@bufbuild/protobuf/wkt";
import type { JsonObject, JsonValue } from "../../service/job-view.js";
import type { SelfEncoder } from "../unary/self-encoded.js";
import { structValueJson } from "./job-json.js";
import { BytePieces, TextPieces } from "./pieces.js";

/** Field numbers: Struct.fields, its map entry's key and value, Value.list_value, ListValue.values. */
const STRUCT_FIELDS = StructSchema.field.fields.number;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;
const VALUE_LIST = ValueSchema.field.listValue.number;
const LIST_VALUES = 1;

function* members(result: JsonObject): Generator<[string, JsonValue]> {
  for (const key of Object.keys(result)) {
    const value = result[key];
    // JSON.stringify and protobuf-es's fromJson both skip a member whose value is undefined.
    if (value !== undefined) yield [key, value];
  }
}

async function* statJson(result: JsonObject, maxBytes: number): AsyncGenerator<Uint8Array> {
  const out = new TextPieces(maxBytes);
  let first = true;
  for (const [key, value] of members(result)) {
    const name = `${first ? "{" : ","}${JSON.stringify(key)}:`;
    first = false;
    if (!Array.isArray(value)) {
      out.add(name + structValueJson(value));
      continue;
    }
    out.add(`${name}[`);
    value.forEach((item, i) => {
      out.add((i === 0 ? "" : ",") + structValueJson(item));
    });
    out.add("]");
    if (out.full) yield out.take();
  }
  out.add(first ? "{}" : "}");
  yield out.take();
}

/** The length-delimited header (tag and length) of a field whose body is `length` bytes. */
function header(field: number, length: number): Uint8Array {
  return new BinaryWriter().tag(field, WireType.LengthDelimited).uint32(length).finish();
}

async function* statBinary(result: JsonObject, maxBytes: number): AsyncGenerator<Uint8Array> {
  const out = new BytePieces(maxBytes);
  for (const [key, value] of members(result)) {
    if (!Array.isArray(value)) {
      // A one-member Struct is exactly that member's map entry.
      out.add(toBinary(StructSchema, fromJson(StructSchema, { [key]: value })));
      continue;
    }
    // The values first (counted against the limit as they are made), then the headers they need.
    const values: Uint8Array[] = [];
    let listLength = 0;
    const budget = new BytePieces(maxBytes - out.size);
    for (const item of value) {
      const body = toBinary(ValueSchema, fromJson(ValueSchema, item));
      const piece = Buffer.concat([header(LIST_VALUES, body.byteLength), body]);
      budget.add(piece);
      values.push(piece);
      listLength += piece.byteLength;
    }
    const listHeader = header(VALUE_LIST, listLength);
    const keyBytes = new BinaryWriter().tag(ENTRY_KEY, WireType.LengthDelimited).string(key).finish();
    const valueLength = listHeader.byteLength + listLength;
    const valueHeader = header(ENTRY_VALUE, valueLength);
    const entryLength = keyBytes.byteLength + valueHeader.byteLength + valueLength;
    out.add(header(STRUCT_FIELDS, entryLength));
    out.add(keyBytes);
    out.add(valueHeader);
    out.add(listHeader);
    for (const piece of values) {
      out.add(piece);
      if (out.full) yield out.take();
    }
    values.length = 0;
  }
  yield out.take();
}

/** The encoder of one stat answer. */
export function statEncoder(result: JsonObject): SelfEncoder {
  return {
    json: (maxBytes) => statJson(result, maxBytes),
    binary: (maxBytes) => statBinary(result, maxBytes),
  };
}
