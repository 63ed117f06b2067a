/**
 * A decoded request message as the proto JSON the service layer reads, for every protocol alike.
 *
 * Binary requests (gRPC, Connect proto) can carry what proto JSON cannot: a `google.protobuf.Value`
 * with no kind set (python's and grpc-js's encoders send one for `None`/`null`), and a number that is
 * NaN or Infinity. The first is read as `null`, as the JSON protocols send it. The second is the
 * caller's fault: `invalid_argument` naming the field (`query.filter[0].v`). Anything else that keeps a
 * decoded message from becoming service input is `invalid_argument` too, never `internal`.
 *
 * A NUL character in any string (field, Value, Struct key) is refused the same way: PostgreSQL text
 * cannot hold it, so it could be neither stored nor matched, and both backends answer alike.
 */
import { type DescMessage, type MessageShape, toJson } from "@bufbuild/protobuf";
import { FeatureSet_FieldPresence, NullValue } from "@bufbuild/protobuf/wkt";
import { errors } from "../errors.js";
import { Kind, kindOf } from "./unary/flat-json.js";

const jsonOptions = { useProtoFieldName: true } as const;

export function requestJson<T, Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): T {
  const flat = flatFieldsOf(schema);
  if (flat !== null) {
    const json = flatJson(flat, message as Record<string, unknown>);
    if (json !== undefined) return json as T;
  }
  normalize(schema, message as Record<string, unknown>, "");
  try {
    return toJson(schema, message, jsonOptions) as T;
  } catch (err) {
    // Unreachable for what `normalize` knows; kept so no decoded request can become `internal`.
    throw errors.invalidParameter(
      "request",
      err instanceof Error ? err.message.slice(0, 200) : "not valid JSON",
    );
  }
}

type Msg = Record<string, unknown>;

/**
 * A flat request (every field a scalar the flat JSON reader reads, `kindOf`, none in a oneof: the
 * lifecycle rpcs but `create`) needs neither the walk nor protobuf-es's writer: its proto JSON is its
 * fields, each written when protobuf-es would write it and as it would (the hottest write, a progress
 * report, spent ~2 % of its CPU on that round trip; docs/benchmarks.md, stop 25).
 */
interface FlatField {
  readonly name: string;
  readonly localName: string;
  readonly type: "string" | "boolean" | "number";
  readonly float: boolean;
  /** Implicit presence: written unless it is its type's zero; explicit: written when set. */
  readonly implicit: boolean;
}

const flatFields = new WeakMap<DescMessage, readonly FlatField[] | null>();

function flatFieldsOf(desc: DescMessage): readonly FlatField[] | null {
  let fields = flatFields.get(desc);
  if (fields === undefined) {
    fields = compileFlat(desc);
    flatFields.set(desc, fields);
  }
  return fields;
}

function compileFlat(desc: DescMessage): readonly FlatField[] | null {
  if (desc.typeName.startsWith("google.protobuf.")) return null;
  const fields: FlatField[] = [];
  for (const field of desc.fields) {
    if (field.fieldKind !== "scalar" || field.oneof) return null;
    const kind = kindOf(field.scalar);
    if (kind === undefined) return null;
    fields.push({
      name: field.name,
      localName: field.localName,
      type: kind === Kind.String ? "string" : kind === Kind.Bool ? "boolean" : "number",
      float: kind === Kind.Double || kind === Kind.Float,
      implicit: field.presence === FeatureSet_FieldPresence.IMPLICIT,
    });
  }
  return fields;
}

/** The proto JSON of a flat message; undefined (take protobuf-es's writer) for a value of another type. */
function flatJson(fields: readonly FlatField[], message: Msg): Msg | undefined {
  const json: Msg = {};
  for (const f of fields) {
    const value = message[f.localName];
    if (f.implicit) {
      // protobuf-es's zero checks: -0 is not a float's zero (Object.is), an integer's zero is.
      if (value === "" || value === false || (f.float ? Object.is(value, 0) : value === 0)) continue;
    } else if (value === undefined || !Object.hasOwn(message, f.localName)) {
      continue;
    }
    if (typeof value !== f.type) return undefined;
    if (f.type === "string") checkText(value, f.name);
    json[f.name] = f.float ? floatJson(value as number) : value;
  }
  return json;
}

/** A floating-point value as protobuf-es writes it: NaN and the infinities as strings. */
function floatJson(value: number): number | string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "Infinity";
  if (value === Number.NEGATIVE_INFINITY) return "-Infinity";
  return value;
}

/** Refuse a string with a NUL character, naming where it is. */
function checkText(text: unknown, path: string): void {
  if (typeof text === "string" && text.includes("\u0000"))
    throw errors.invalidParameter(path, "a string contains a NUL character (\\u0000)");
}

/** Walk a message: fill empty Values with null, refuse non-finite Value numbers and NULs by path. */
function normalize(desc: DescMessage, message: Msg, path: string): void {
  if (desc.typeName === "google.protobuf.Value") {
    normalizeValue(message, path);
    return;
  }
  for (const field of desc.fields) {
    const at = path === "" ? field.name : `${path}.${field.name}`;
    let value: unknown;
    if (field.oneof) {
      const slot = message[field.oneof.localName] as { case?: string; value?: unknown } | undefined;
      if (slot?.case !== field.localName) continue;
      value = slot.value;
    } else {
      value = message[field.localName];
    }
    if (value === undefined || value === null) continue;
    if (field.fieldKind === "scalar") {
      checkText(value, at);
    } else if (field.fieldKind === "list" && field.listKind === "scalar") {
      for (const [i, item] of (value as unknown[]).entries()) checkText(item, `${at}[${i}]`);
    } else if (field.fieldKind === "map") {
      for (const key of Object.keys(value as Msg))
        checkText(key, `${at}.${key.replaceAll("\u0000", "\\u0000")}`);
      if (field.mapKind === "scalar")
        for (const [key, item] of Object.entries(value as Msg)) checkText(item, `${at}.${key}`);
    }
    if (field.fieldKind === "message") {
      normalize(field.message, value as Msg, at);
    } else if (field.fieldKind === "list" && field.listKind === "message") {
      for (const [i, item] of (value as Msg[]).entries()) normalize(field.message, item, `${at}[${i}]`);
    } else if (field.fieldKind === "map" && field.mapKind === "message") {
      for (const [key, item] of Object.entries(value as Record<string, Msg>)) {
        normalize(field.message, item, `${at}.${key}`);
      }
    }
  }
}

function normalizeValue(value: Msg, path: string): void {
  const kind = value.kind as { case?: string; value?: unknown };
  switch (kind.case) {
    case undefined:
      value.kind = { case: "nullValue", value: NullValue.NULL_VALUE };
      return;
    case "numberValue":
      if (!Number.isFinite(kind.value as number)) {
        throw errors.invalidParameter(path, "a number is NaN or Infinity, which JSON cannot carry");
      }
      return;
    case "stringValue":
      checkText(kind.value, path);
      return;
    case "structValue":
      for (const [key, item] of Object.entries(((kind.value as Msg).fields ?? {}) as Record<string, Msg>)) {
        checkText(key, `${path} (a member name)`);
        normalizeValue(item, `${path}.${key}`);
      }
      return;
    case "listValue":
      for (const [i, item] of ((kind.value as Msg).values as Msg[]).entries())
        normalizeValue(item, `${path}[${i}]`);
      return;
  }
}
