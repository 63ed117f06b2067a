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
import type { JobView } from "../../service/job-view.js";

type Writer = (value: unknown) => string | undefined;

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
  return JSON.stringify(value);
}

function fieldWriter(field: DescField): Writer {
  const implicit = field.presence === FeatureSet_FieldPresence.IMPLICIT;
  const key = `${JSON.stringify(field.name)}:`;
  switch (field.fieldKind) {
    case "enum": {
      // The view holds the TypeScript name (what toJobInfo indexes the enum with); JSON has the proto name.
      const names = new Map(field.enum.values.map((v) => [v.localName, v]));
      return (value) => {
        const known = typeof value === "string" ? names.get(value) : undefined;
        if (known === undefined || (implicit && known.number === 0)) return undefined;
        return key + JSON.stringify(known.name);
      };
    }
    case "message":
      if (field.message.typeName !== "google.protobuf.Struct") break;
      return (value) => (value === undefined ? undefined : key + structValueJson(value));
    case "scalar":
      switch (field.scalar) {
        case ScalarType.STRING:
          return (value) =>
            value === undefined || (implicit && value === "") ? undefined : key + JSON.stringify(value);
        case ScalarType.DOUBLE:
          return (value) =>
            value === undefined || (implicit && value === 0) ? undefined : key + doubleJson(value as number);
        case ScalarType.UINT32:
        case ScalarType.INT32:
          return (value) =>
            value === undefined || (implicit && value === 0) ? undefined : key + JSON.stringify(value);
      }
  }
  throw new Error(`job-json.ts cannot write ${field.toString()}; teach it this field's JSON`);
}

function compile(schema: DescMessage): (view: JobView) => string {
  const fields = schema.fields.map((field) => ({ name: field.name, write: fieldWriter(field) }));
  return (view) => {
    let out = "";
    const record = view as Record<string, unknown>;
    for (const field of fields) {
      const text = field.write(record[field.name]);
      if (text === undefined) continue;
      out += out === "" ? `{${text}` : `,${text}`;
    }
    return out === "" ? "{}" : `${out}}`;
  };
}

/** One job's JobInfo JSON. */
export const jobInfoJson: (view: JobView) => string = compile(JobInfoSchema);
