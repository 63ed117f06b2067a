/**
 * A job's `JobInfo` as proto JSON, written straight from its view: the bytes protobuf-es writes for
 * `toJsonString(JobInfoSchema, toJobInfo(view), { useProtoFieldName: true })` (the server's JSON write
 * options), at the cost of JSON.stringify on the view (test/encode-differential.test.ts holds the two
 * byte for byte). Field order, names, presence and enum names come from the generated descriptor, so a
 * proto change cannot silently diverge from it.
 *
 * The rules protobuf-es applies, and this reproduces: fields in declaration order under their proto
 * names; an unset field, or an implicit-presence field at its zero value ("", 0, the enum's 0), is
 * left out; enums as their value names; a double that is not finite as "NaN"/"Infinity"/"-Infinity";
 * `google.protobuf.Struct` as its JSON object, and an error when it holds a number that is not finite.
 */
import { type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import { FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt";
import { JobInfoSchema } from "../../../gen/spaceone/api/identity/v2/job_pb.js";
import { VIEW_FIELDS } from "../../catalogue/job-fields.js";
import { type JobView, jsonColumnValue } from "../../service/job-view.js";

/** protobuf-es refuses such a Value; so does this (the same message). */
function assertFinite(value: unknown): void {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error("google.protobuf.Value cannot be NaN or Infinity");
  } else if (Array.isArray(value)) {
    for (const item of value) assertFinite(item);
  } else if (value !== null && typeof value === "object") {
    for (const key of Object.keys(value)) assertFinite((value as Record<string, unknown>)[key]);
  }
}

/**
 * A JSON value as `google.protobuf.Value`/`Struct` JSON: JSON.stringify's text, which is protobuf-es's,
 * except that protobuf-es refuses numbers that are not finite where JSON.stringify writes `null`; only
 * text with a `null` in it can hide one, so only that is checked.
 */
export function structValueJson(value: unknown): string {
  const text = JSON.stringify(value);
  if (text.includes("null")) assertFinite(value);
  return text;
}

function doubleJson(value: number): string {
  if (Number.isNaN(value)) return '"NaN"';
  if (value === Number.POSITIVE_INFINITY) return '"Infinity"';
  if (value === Number.NEGATIVE_INFINITY) return '"-Infinity"';
  // A finite number's JSON is its String (-0 included: both "0"), without JSON.stringify's entry cost.
  return String(value);
}

enum Kind {
  String,
  Double,
  Integer,
  Enum,
  Struct,
}

interface Field {
  /** Declaration order. */
  readonly index: number;
  readonly name: string;
  /** `"name":` */
  readonly key: string;
  readonly kind: Kind;
  /** Implicit presence: the zero value is left out. */
  readonly implicit: boolean;
  /** Enums: the JSON name of each TypeScript name (what toJobInfo indexes the enum with) but the zero value's. */
  readonly enumNames?: ReadonlyMap<string, string | null>;
}

function describe(field: DescField, index: number): Field {
  const base = {
    index,
    name: field.name,
    key: `${JSON.stringify(field.name)}:`,
    implicit: field.presence === FeatureSet_FieldPresence.IMPLICIT,
  };
  switch (field.fieldKind) {
    case "enum": {
      const names = new Map(
        field.enum.values.map((v) => [
          v.localName,
          base.implicit && v.number === 0 ? null : JSON.stringify(v.name),
        ]),
      );
      return { ...base, kind: Kind.Enum, enumNames: names };
    }
    case "message":
      if (field.message.typeName === "google.protobuf.Struct") return { ...base, kind: Kind.Struct };
      break;
    case "scalar":
      switch (field.scalar) {
        case ScalarType.STRING:
          return { ...base, kind: Kind.String };
        case ScalarType.DOUBLE:
          return { ...base, kind: Kind.Double };
        case ScalarType.UINT32:
        case ScalarType.INT32:
          return { ...base, kind: Kind.Integer };
      }
  }
  throw new Error(`job-json.ts cannot write ${field.toString()}; teach it this field's JSON`);
}

/** `"name":value`, or undefined when protobuf-es leaves the field out. */
function member(field: Field, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  switch (field.kind) {
    case Kind.String:
      return field.implicit && value === "" ? undefined : field.key + JSON.stringify(value);
    case Kind.Integer:
      return field.implicit && value === 0 ? undefined : field.key + JSON.stringify(value);
    case Kind.Double:
      return field.implicit && value === 0 ? undefined : field.key + doubleJson(value as number);
    case Kind.Enum: {
      const name = typeof value === "string" ? field.enumNames?.get(value) : undefined;
      return name === undefined || name === null ? undefined : field.key + name;
    }
    case Kind.Struct:
      return field.key + structValueJson(value);
  }
}

/**
 * Whether JSON.stringify writes this member as protobuf-es does: a set value of the field's JSON type
 * that protobuf-es keeps and writes as JSON.stringify would (strings, finite numbers, enum values whose
 * JSON name is the view's, objects for Struct; a Struct's non-finite numbers are checked afterwards).
 */
function plain(field: Field, value: unknown): boolean {
  switch (field.kind) {
    case Kind.String:
      return typeof value === "string" && !(field.implicit && value === "");
    case Kind.Integer:
    case Kind.Double:
      return typeof value === "number" && Number.isFinite(value) && !(field.implicit && value === 0);
    case Kind.Enum:
      return typeof value === "string" && field.enumNames?.get(value) === JSON.stringify(value);
    case Kind.Struct:
      return typeof value === "object" && value !== null && !Array.isArray(value);
  }
}

/** A stored row's columns, as the store reads them (json columns as their text). */
export type StoredRow = Readonly<Record<string, unknown>>;

/** A string as JSON: the quotes alone when it holds nothing JSON.stringify would escape. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the controls are what JSON escapes.
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;
function stringJson(value: string): string {
  return NEEDS_ESCAPE.test(value) ? JSON.stringify(value) : `"${value}"`;
}

/** The json-column texts whose members are kept, and the longest kept (`compileRow`). */
const MEMO_ENTRIES = 512;
const MEMO_TEXT_CHARS = 2048;

/**
 * The JSON of `toJobView(row)` written from the row itself, member by member as `members` writes a
 * view (the same `member`), with no view object in between: only the view's fields, in declaration
 * order, a json column parsed as the view parses it.
 */
function compileRow(fields: readonly Field[]): (row: StoredRow) => string {
  const viewFields = new Set<string>(VIEW_FIELDS);
  const plan = fields.filter((f) => viewFields.has(f.name));
  const memos = new Map(
    plan.filter((f) => f.kind === Kind.Struct).map((f) => [f, new Map<string, string | null>()]),
  );
  /**
   * A json column's member from its stored text: a pure function of the text (parse, then write), so
   * the member of a text seen lately is reused. Jobs repeat their options (one collector's settings per
   * account), and parsing and writing them again was a third of a page's JSON. Bounded: short texts
   * only, and the memo starts over when full; a text that fails (a number not finite) is not kept.
   */
  const structMember = (field: Field, text: string): string | undefined => {
    const memo = memos.get(field) as Map<string, string | null>;
    const known = memo.get(text);
    if (known !== undefined) return known === null ? undefined : known;
    const written = member(field, jsonColumnValue(text));
    if (text.length <= MEMO_TEXT_CHARS) {
      if (memo.size >= MEMO_ENTRIES) memo.clear();
      memo.set(text, written ?? null);
    }
    return written;
  };
  return (row) => {
    let out = "";
    for (const field of plan) {
      const stored = row[field.name];
      if (stored === null || stored === undefined) continue;
      let text: string | undefined;
      if (field.kind === Kind.String && typeof stored === "string") {
        if (field.implicit && stored === "") continue;
        text = field.key + stringJson(stored);
      } else {
        text =
          field.kind !== Kind.Struct
            ? member(field, stored)
            : typeof stored === "string"
              ? structMember(field, stored)
              : member(field, jsonColumnValue(stored as string));
      }
      if (text !== undefined) out += out === "" ? `{${text}` : `,${text}`;
    }
    return out === "" ? "{}" : `${out}}`;
  };
}

function compile(schema: DescMessage): (view: JobView) => string {
  const fields = schema.fields.map(describe);
  const byName = new Map(fields.map((f) => [f.name, f]));
  /** Member by member, in declaration order: what protobuf-es writes for any view. */
  const members = (record: Record<string, unknown>): string => {
    let out = "";
    for (const field of fields) {
      const text = member(field, record[field.name]);
      if (text !== undefined) out += out === "" ? `{${text}` : `,${text}`;
    }
    return out === "" ? "{}" : `${out}}`;
  };
  return (view) => {
    // A view holds only its set members, in declaration order (toJobView). When each is one that
    // JSON.stringify writes as protobuf-es does, the view's JSON.stringify (V8's fast native path) is
    // the answer; anything else (a member to leave out, a double to quote, another order) goes member
    // by member.
    const record = view as Record<string, unknown>;
    let last = -1;
    for (const name in record) {
      const field = byName.get(name);
      if (field === undefined || field.index < last || !plain(field, record[name])) return members(record);
      last = field.index;
    }
    const text = JSON.stringify(record);
    // A Struct member holding a non-finite number reads as null here; protobuf-es refuses it.
    if (text.includes("null"))
      for (const field of fields) if (field.kind === Kind.Struct) assertFinite(record[field.name]);
    return text;
  };
}

/** One job's JobInfo JSON. */
export const jobInfoJson: (view: JobView) => string = compile(JobInfoSchema);

/** One stored row's JobInfo JSON, whole (every view field): `jobInfoJson(toJobView(row))`'s bytes. */
export const jobRowJson: (row: StoredRow) => string = compileRow(JobInfoSchema.fields.map(describe));
