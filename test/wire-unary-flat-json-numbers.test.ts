/**
 * The flat JSON reader's numbers and booleans (src/wire/unary/flat-json.ts), held to protobuf-es's JSON
 * reader (what connect's serialization runs) over a corpus: every body the flat reader reads gives the
 * message protobuf-es gives, value for value (`-0` and `0` told apart), and every body it declines is left
 * to protobuf-es, which then reads it or refuses it with its own error.
 */
import {
  create,
  createFileRegistry,
  type DescMessage,
  equals,
  fromJsonString,
  type Message,
  toBinary,
} from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
  Int32ValueSchema,
} from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { ReportJobProgressRequestSchema } from "../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import { flatJsonReader } from "../src/wire/unary/flat-json.js";

const utf8 = (text: string) => new TextEncoder().encode(text);

/** A proto3 message with one field of each scalar type the reader takes, and an int64 it does not. */
const T = FieldDescriptorProto_Type;
const scalarFields = [
  ["int32_f", T.INT32],
  ["sint32_f", T.SINT32],
  ["sfixed32_f", T.SFIXED32],
  ["uint32_f", T.UINT32],
  ["fixed32_f", T.FIXED32],
  ["double_f", T.DOUBLE],
  ["float_f", T.FLOAT],
  ["bool_f", T.BOOL],
  ["string_f", T.STRING],
  ["int64_f", T.INT64],
] as const;
const file = create(FileDescriptorProtoSchema, {
  name: "flat_numbers.proto",
  package: "flat.numbers",
  syntax: "proto3",
  messageType: [
    {
      name: "Scalars",
      field: scalarFields.map(([name, type], i) => ({
        name,
        number: i + 1,
        type,
        label: FieldDescriptorProto_Label.OPTIONAL,
        jsonName: name.replace(/_f$/, "F"),
      })),
    },
  ],
});
const Scalars = createFileRegistry(file, () => undefined).getMessage("flat.numbers.Scalars") as DescMessage;

/** Number texts: plain, at and past each range's ends, and every form the reader leaves to protobuf-es. */
const numbers = [
  "0",
  "1",
  "-1",
  "42",
  "100",
  "2147483647",
  "2147483648",
  "-2147483648",
  "-2147483649",
  "4294967295",
  "4294967296",
  "99999999999",
  "-0",
  "0.0",
  "-0.0",
  "1.0",
  "1.5",
  "-1.5",
  "0.1",
  "12.25",
  "123456789.123456789",
  "9007199254740993",
  "3.4028234663852886",
  "340282346638528859811704183484516925440",
  "340282366920938463463374607431768211456",
  `1${"0".repeat(400)}`,
  `0.${"0".repeat(400)}1`,
  "1e2",
  "1E2",
  "1e-2",
  "1.5e1",
  "01",
  "00",
  "-01",
  "+1",
  ".5",
  "1.",
  "-",
  "--1",
  "- 1",
  "0x10",
  "1_000",
  "Infinity",
  "-Infinity",
  "NaN",
  "true",
  "false",
  "null",
  "tru",
  "truex",
  '"1"',
  '"1.5"',
  '"NaN"',
  '"Infinity"',
  '"true"',
  '"x"',
  "[1]",
  "{}",
];

type Outcome = { message: Message } | { error: string };

/** What connect's JSON serialization does with a request body, with the server's options. */
function protobufEs(desc: DescMessage, body: string): Outcome {
  try {
    return { message: fromJsonString(desc, body, { ignoreUnknownFields: false }) };
  } catch (error) {
    return { error: String(error) };
  }
}

/** Every field's value as stored, compared with `Object.is` (protobuf-es's `equals` takes -0 for 0). */
function sameValues(desc: DescMessage, a: Message, b: Message): boolean {
  const x = a as unknown as Record<string, unknown>;
  const y = b as unknown as Record<string, unknown>;
  return (
    desc.fields.every((f) => Object.is(x[f.localName], y[f.localName])) &&
    equals(desc, a, b) &&
    Buffer.from(toBinary(desc, a)).equals(Buffer.from(toBinary(desc, b)))
  );
}

/** Runs the corpus; the bodies the flat reader read, and those it declined. */
function compare(desc: DescMessage, bodies: readonly string[]) {
  const reader = flatJsonReader(desc, 1 << 20, new TextDecoder("utf-8", { fatal: true }));
  if (!reader) throw new Error(`${desc.typeName} has flat fields`);
  const read: string[] = [];
  const declined: string[] = [];
  for (const body of bodies) {
    const ours = reader(utf8(body));
    if (ours === undefined) {
      declined.push(body);
      continue;
    }
    read.push(body);
    const theirs = protobufEs(desc, body);
    expect("message" in theirs ? "read" : theirs.error, body).toBe("read");
    if ("message" in theirs) expect(sameValues(desc, ours, theirs.message), body).toBe(true);
  }
  return { read, declined };
}

describe("flat JSON requests with numbers and booleans", () => {
  it("read each scalar field's values as protobuf-es reads them, or decline them", () => {
    const bodies: string[] = [];
    for (const field of Scalars.fields) {
      for (const key of [field.name, field.jsonName]) {
        for (const n of numbers) bodies.push(`{"${key}":${n}}`, ` { "${key}" : ${n} } `);
      }
    }
    const { read } = compare(Scalars, bodies);
    // What must be read here (else the reader fell back for the common shapes).
    for (const body of [
      '{"int32_f":-2147483648}',
      '{"sint32F":2147483647}',
      '{"uint32_f":4294967295}',
      '{"fixed32_f":0}',
      '{"double_f":12.25}',
      '{"doubleF":-1.5}',
      '{"float_f":0.1}',
      '{"bool_f":true}',
      '{"boolF":false}',
    ]) {
      expect(read, body).toContain(body);
    }
  });

  it("decline what protobuf-es refuses, and the forms it reads that are left to it", () => {
    const reader = flatJsonReader(Scalars, 1 << 20, new TextDecoder());
    if (!reader) throw new Error("Scalars has flat fields");
    for (const body of [
      '{"uint32_f":-1}',
      '{"uint32_f":4294967296}',
      '{"int32_f":2147483648}',
      '{"int32_f":1.5}',
      '{"int32_f":1.0}',
      '{"int32_f":1e2}',
      '{"int32_f":-0}',
      '{"double_f":-0.0}',
      '{"double_f":1e2}',
      `{"double_f":1${"0".repeat(400)}}`,
      '{"float_f":340282366920938463463374607431768211456}',
      '{"double_f":"1.5"}',
      '{"double_f":"NaN"}',
      '{"int32_f":"7"}',
      '{"bool_f":"true"}',
      '{"bool_f":1}',
      '{"int32_f":null}',
      '{"int64_f":1}',
      '{"string_f":1}',
      '{"int32_f":01}',
      '{"int32_f":+1}',
      '{"double_f":.5}',
      '{"double_f":1.}',
      '{"bool_f":truex}',
      '{"int32_f":1,"int32F":2}',
      '{"bool_f":false,"bool_f":false}',
    ]) {
      expect(reader(utf8(body)), body).toBeUndefined();
    }
  });

  it("read a worker's progress report, with and without its optional fields", () => {
    const bodies = [
      '{"job_id":"job-1","progress_percent":40,"current_step":"collecting","records_processed":1200}',
      '{"jobId":"job-1","progressPercent":99.5,"currentStep":"","recordsProcessed":0,"recordsTotal":5000}',
      '{"job_id":"job-1","expected_version":3,"records_created":1,"records_updated":2,"records_deleted":0}',
      '{"job_id":"job-1","progress_percent":0}',
      '{"job_id":"job-1","progress_percent":100.0,"records_total":4294967295}',
    ];
    const { read, declined } = compare(ReportJobProgressRequestSchema, [
      ...bodies,
      '{"job_id":"job-1","records_processed":-1}',
      '{"job_id":"job-1","progress_percent":-0}',
      '{"job_id":"job-1","records_total":4294967296}',
      '{"job_id":"job-1","progress_percent":null}',
    ]);
    expect(read).toEqual(bodies);
    expect(declined).toHaveLength(4);
    // An optional field given 0 is set (present), as protobuf-es sets it.
    const zero = flatJsonReader(
      ReportJobProgressRequestSchema,
      1024,
      new TextDecoder(),
    )?.(utf8('{"job_id":"job-1","progress_percent":0}')) as unknown as Record<string, unknown>;
    expect(Object.hasOwn(zero, "progressPercent")).toBe(true);
  });

  it("leave well-known types to protobuf-es (a wrapper's JSON is its bare value)", () => {
    expect(flatJsonReader(Int32ValueSchema, 1024, new TextDecoder())).toBeUndefined();
  });
});
