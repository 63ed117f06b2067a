/**
 * The self-encoded get, list and stat answers (src/wire/encode/) against protobuf-es, byte for byte: for
 * many generated jobs (and the seed generator's) (every status and resource group, nulls, empty strings, options with nested
 * values, unicode including lone surrogates, extreme numbers, `only` projections) and stat results,
 * the JSON and binary pieces joined are exactly what protobuf-es writes for the message the handler
 * builds without the contract (`jobsInfo()`, `fromJson(StructSchema, ...)`). Also: the answer stops
 * with resource_exhausted, naming MAX_RESPONSE_BYTES, as soon as it would pass the limit, without
 * reading the rest of the rows.
 */
import { fromBinary, fromJson, toBinary, toJsonString } from "@bufbuild/protobuf";
import { StructSchema } from "@bufbuild/protobuf/wkt";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JobInfoSchema, JobsInfoSchema } from "../gen/spaceone/api/identity/v2/job_pb.js";
import { JOB_STATUSES, RESOURCE_GROUPS } from "../src/catalogue/job-fields.js";
import { parseListQuery } from "../src/query/parse-query.js";
import { generateJobs } from "../src/seed/generate.js";
import type { JobRows } from "../src/service/job-service.js";
import { type JsonObject, toJobView } from "../src/service/job-view.js";
import type { JobRow } from "../src/storage/schema.js";
import { batchesOf, LIST_BATCH_ROWS, type RowBatches } from "../src/storage/store.js";
import { jobAnswer } from "../src/wire/encode/job-answer.js";
import { toJobInfo } from "../src/wire/encode/job-info.js";
import { jobInfoBinary } from "../src/wire/encode/job-info-binary.js";
import { jobInfoJson, jobRowJson } from "../src/wire/encode/job-json.js";
import { listEncoder } from "../src/wire/encode/list-answer.js";
import { statEncoder } from "../src/wire/encode/stat-answer.js";
import { jobsInfo } from "../src/wire/job-handlers.js";
import { selfEncoderOf } from "../src/wire/unary/self-encoded.js";

/** The server's JSON write options (app.ts: proto field names; enums as names; defaults left out). */
const JSON_WRITE = { useProtoFieldName: true } as const;
const NO_LIMIT = Number.MAX_SAFE_INTEGER;

async function joined(pieces: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const piece of pieces) parts.push(piece);
  return Buffer.concat(parts);
}

const utf8 = (text: string) => Buffer.from(new TextEncoder().encode(text));

// ---- generated jobs -------------------------------------------------------------------------------

/** Text with what JSON escapes and UTF-8 encodes differently: quotes, controls, U+2028, astral, lone surrogates. */
const text = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.constantFrom("", '"', "\\", "\n\t\u0000\u001f", "\u2028\u2029", "💥é", "\ud800", "x\udfffy", "null"),
);
const nullableText = fc.option(text, { nil: null });
const iso = fc
  .date({ min: new Date("0001-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59Z"), noInvalidDate: true })
  .map((d) => d.toISOString());
const nullableIso = fc.option(iso, { nil: null });
const uint32 = fc.option(fc.oneof(fc.constantFrom(0, 1, 2 ** 32 - 1), fc.nat({ max: 2 ** 32 - 1 })), {
  nil: null,
});
const double = fc.option(
  fc.oneof(
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom(0, -0, 100, 1e-7, 5e-324, 1e21),
  ),
  { nil: null },
);
/** Options as stored: JSON text of an object (nested values, unicode keys, `__proto__`, integer-like keys), or not an object. */
const jsonKey = fc.oneof(text, fc.constantFrom("__proto__", "constructor", "1", "01", "-1", "a.b", ""));
const jsonLeaf = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.constantFrom(-0, 1e300, 2 ** 53, 0.1),
  text,
);
const { json: jsonValue } = fc.letrec<{ json: unknown }>((tie) => ({
  json: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    jsonLeaf,
    fc.array(tie("json"), { maxLength: 4 }),
    fc.dictionary(jsonKey, tie("json"), { maxKeys: 4, noNullPrototype: true }),
  ),
}));
const optionsText = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .dictionary(jsonKey, jsonValue, { maxKeys: 6, noNullPrototype: true })
      .map((o) => JSON.stringify(o)),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(null, "{}", "[]", "[1,2]", '"text"', "3", '{"a":{"b":{"c":[1,{"d":null}]}}}'),
  },
);

const jobRow: fc.Arbitrary<JobRow> = fc.record({
  seq: fc.nat(),
  job_id: text,
  status: fc.constantFrom(...JOB_STATUSES),
  options: optionsText,
  resource_group: fc.constantFrom(...RESOURCE_GROUPS),
  error_message: nullableText,
  domain_id: text,
  workspace_id: text,
  trusted_account_id: text,
  plugin_id: nullableText,
  created_at: iso,
  updated_at: iso,
  finished_at: nullableIso,
  started_at: nullableIso,
  heartbeat_at: nullableIso,
  progress_percent: double,
  current_step: nullableText,
  records_processed: uint32,
  records_total: uint32,
  records_created: uint32,
  records_updated: uint32,
  records_deleted: uint32,
  cancel_requested_at: nullableIso,
  cancel_reason: nullableText,
  canceled_by: nullableText,
  error_code: nullableText,
  idempotency_key: nullableText,
  version: fc.oneof(fc.constant(0), fc.nat({ max: 2 ** 32 - 1 })),
  duration_seconds: double,
}) as fc.Arbitrary<JobRow>;

/** `only` projections as a client writes them (parsed by the real parser). */
const ONLY_FIELDS = [
  "job_id",
  "status",
  "options",
  "options.a",
  "options.1",
  "options.__proto__",
  "options.a.b",
  "resource_group",
  "error_message",
  "progress_percent",
  "records_total",
  "version",
  "duration_seconds",
  "created_at",
];
const only = fc.option(fc.subarray(ONLY_FIELDS, { minLength: 1 }), { nil: null });
const CTX = { now: new Date("2026-03-15T12:00:00.000Z"), maxPageSize: 1000 };
const onlyRefs = (names: string[] | null) =>
  names === null ? null : parseListQuery({ only: names }, CTX, []).only;

const answer = fc.record({
  rows: fc.array(jobRow, { maxLength: 12 }),
  only,
  total: fc.oneof(fc.constant(0), fc.nat({ max: 2 ** 31 - 1 })),
  cursor: fc.oneof(fc.constant(""), text),
});

/** A list answer over `rows`, readable once (as the store hands it). */
function listOf(rows: readonly JobRow[], names: string[] | null, total: number, cursor: string): JobRows {
  const refs = onlyRefs(names);
  return {
    rows: batchesOf(rows),
    total_count: total,
    cursor,
    view: (row) => toJobView(row, refs),
    whole: refs === null,
  };
}

describe("list answers: the encoders write protobuf-es's bytes", () => {
  it("one job's JSON, for generated jobs", () => {
    const samples = fc.sample(fc.tuple(jobRow, only), { numRuns: 3000, seed: 42 });
    expect(samples.length).toBe(3000);
    for (const [row, names] of samples) {
      const view = toJobView(row, onlyRefs(names));
      expect(jobInfoJson(view)).toBe(toJsonString(JobInfoSchema, toJobInfo(view), JSON_WRITE));
      // A view whose members come in another order (not toJobView's) is written in field order all the same.
      const reversed = Object.fromEntries(Object.entries(view).reverse()) as typeof view;
      expect(jobInfoJson(reversed)).toBe(toJsonString(JobInfoSchema, toJobInfo(reversed), JSON_WRITE));
    }
  });

  it("one job's answer (get, lifecycle): pieces and the whole form alike, JSON and binary", async () => {
    const samples = fc.sample(fc.tuple(jobRow, only), { numRuns: 1000, seed: 45 });
    for (const [row, names] of samples) {
      const view = toJobView(row, onlyRefs(names));
      const encoder = selfEncoderOf(jobAnswer(view));
      if (encoder === undefined) throw new Error("jobAnswer carries no encoder");
      const referenceJson = utf8(toJsonString(JobInfoSchema, toJobInfo(view), JSON_WRITE));
      const referenceBinary = Buffer.from(toBinary(JobInfoSchema, toJobInfo(view)));
      expect((await joined(encoder.json(NO_LIMIT))).equals(referenceJson)).toBe(true);
      expect(utf8(encoder.jsonText?.() as string).equals(referenceJson)).toBe(true);
      expect((await joined(encoder.binary(NO_LIMIT))).equals(referenceBinary)).toBe(true);
      expect(Buffer.from(encoder.binaryBytes?.() as Uint8Array).equals(referenceBinary)).toBe(true);
    }
  });

  it("whole answers, JSON and binary, for generated pages", async () => {
    const samples = fc.sample(answer, { numRuns: 400, seed: 7 });
    expect(samples.some((s) => s.rows.length === 0) && samples.some((s) => s.rows.length > 5)).toBe(true);
    for (const { rows, only: names, total, cursor } of samples) {
      const json = await joined(listEncoder(listOf(rows, names, total, cursor)).json(NO_LIMIT));
      const reference = await jobsInfo(listOf(rows, names, total, cursor), true);
      expect(json.equals(utf8(toJsonString(JobsInfoSchema, reference, JSON_WRITE)))).toBe(true);

      const binary = await joined(listEncoder(listOf(rows, names, total, cursor)).binary(NO_LIMIT));
      const binaryReference = await jobsInfo(listOf(rows, names, total, cursor), false);
      expect(binary.equals(Buffer.from(toBinary(JobsInfoSchema, binaryReference)))).toBe(true);
      // A decoder reads from it what it reads from protobuf-es's encoding of the message with `results`.
      expect(fromBinary(JobsInfoSchema, binary)).toEqual(
        fromBinary(JobsInfoSchema, toBinary(JobsInfoSchema, reference)),
      );
    }
  });

  it("a whole row's JSON straight from the row, for generated rows and the seed generator's jobs", () => {
    const rows = fc.sample(jobRow, { numRuns: 3000, seed: 44 });
    const now = new Date("2026-03-15T12:00:00.000Z");
    const seeded = [...generateJobs({ count: 3000, seed: 7, now })] as unknown as JobRow[];
    // A row read with only some columns (the others absent, not null) and json text that is no object.
    const edges = [{ job_id: "j" }, { job_id: "", options: "[1]", version: 0 }, { options: "null" }, {}];
    // Twice over: json texts met again (the seed's repeat; the generated ones overflow the memo).
    const all = [...rows, ...seeded, ...(edges as JobRow[])];
    for (const row of [...all, ...all]) {
      const view = toJobView(row);
      const text = jobRowJson(row);
      expect(text).toBe(jobInfoJson(view));
      expect(text).toBe(toJsonString(JobInfoSchema, toJobInfo(view), JSON_WRITE));
    }
  });

  it("a job whose options hold a number that is not finite fails as protobuf-es fails", () => {
    // Twice: a text that failed is not remembered as written.
    for (let i = 0; i < 2; i++)
      expect(() => jobRowJson({ job_id: "j", options: '{"a":[1,1e999]}' })).toThrow(
        "google.protobuf.Value cannot be NaN or Infinity",
      );
    const view = toJobView({ job_id: "j", options: '{"a":[1,1e999]}' });
    expect(() => toJsonString(JobInfoSchema, toJobInfo(view), JSON_WRITE)).toThrow(
      "google.protobuf.Value cannot be NaN or Infinity",
    );
    expect(() => jobInfoJson(view)).toThrow("google.protobuf.Value cannot be NaN or Infinity");
  });

  it("answers of several batches", async () => {
    const rows = fc.sample(jobRow, { numRuns: LIST_BATCH_ROWS * 2 + 17, seed: 3 });
    const json = await joined(listEncoder(listOf(rows, null, rows.length, "c")).json(NO_LIMIT));
    const reference = await jobsInfo(listOf(rows, null, rows.length, "c"), true);
    expect(reference.results).toHaveLength(rows.length);
    expect(json.equals(utf8(toJsonString(JobsInfoSchema, reference, JSON_WRITE)))).toBe(true);
    const binary = await joined(listEncoder(listOf(rows, null, rows.length, "c")).binary(NO_LIMIT));
    expect(
      binary.equals(
        Buffer.from(toBinary(JobsInfoSchema, await jobsInfo(listOf(rows, null, rows.length, "c"), false))),
      ),
    ).toBe(true);
  });
});

// ---- one job, binary -----------------------------------------------------------------------------

/** What protobuf-es does with a view: its bytes, or the words it fails with. */
function reference(view: object): Buffer | string {
  try {
    return Buffer.from(toBinary(JobInfoSchema, toJobInfo(view)));
  } catch (e) {
    return (e as Error).message;
  }
}

function written(view: object): Buffer | string {
  try {
    return Buffer.from(jobInfoBinary(view));
  } catch (e) {
    return (e as Error).message;
  }
}

/** Options text holding one string of `length` characters `char` (long bodies: multi-byte lengths). */
const bigOptions = (length: number, char = "x") => JSON.stringify({ big: char.repeat(length), n: 1 });

describe("one job's binary JobInfo: jobInfoBinary writes protobuf-es's bytes", () => {
  it("for generated jobs and projections, in any member order", () => {
    const samples = fc.sample(fc.tuple(jobRow, only), { numRuns: 3000, seed: 43 });
    for (const [row, names] of samples) {
      const view = toJobView(row, onlyRefs(names));
      expect(written(view)).toEqual(reference(view));
      const reversed = Object.fromEntries(Object.entries(view).reverse()) as typeof view;
      expect(written(reversed)).toEqual(reference(reversed));
    }
  });

  it("for the seed generator's jobs", () => {
    const now = new Date("2026-03-15T12:00:00.000Z");
    let count = 0;
    for (const job of generateJobs({ count: 5000, seed: 7, now })) {
      const view = toJobView(job);
      const bytes = written(view);
      expect(bytes).toBeInstanceOf(Buffer);
      expect(bytes).toEqual(reference(view));
      count++;
    }
    expect(count).toBe(5000);
  });

  it("for edge cases: zero values, presence, lengths of one to three bytes, unicode, odd values", () => {
    const cases: object[] = [
      {},
      { job_id: "", status: "NONE", resource_group: "RESOURCE_GROUP_NONE", version: 0 },
      // Explicit presence: an optional field at zero is written; -0 too.
      toJobView({ progress_percent: 0, records_total: 0, duration_seconds: -0 }),
      toJobView({ progress_percent: Number.MIN_VALUE, records_processed: 2 ** 32 - 1, version: 2 ** 31 }),
      toJobView({ job_id: "a".repeat(42), error_message: "b".repeat(43), current_step: "💥".repeat(42) }),
      // Three-byte characters: 42 of them are 126 bytes, 43 are 129 (a two-byte length).
      toJobView({ job_id: "€".repeat(42), error_message: "€".repeat(43), current_step: "€".repeat(60) }),
      toJobView({ job_id: "é".repeat(64), error_message: "x".repeat(20_000), cancel_reason: "\ud800\udfff" }),
      toJobView({ error_message: "\ud800 lone, \udfff lone, \u0000 nul, \u2028" }),
      toJobView({
        error_message: `${"\ud800".repeat(50)}${"x".repeat(100)}\udc00`,
        options: '{"\\ud800":"\\udfff"}',
      }),
      toJobView({ options: "{}" }),
      toJobView({ options: '{"":"","a":null,"b":true,"c":false,"d":-0,"e":1e999,"f":-1e999,"g":[]}' }),
      toJobView({ options: '{"2":1,"1":2,"b":{"a":{"z":[1,[2,[3,{}]],null]}},"__proto__":{"x":1}}' }),
      // Struct bodies, entries and values past 127 and 16383 bytes (their lengths take 2 and 3 bytes).
      toJobView({ options: bigOptions(100) }),
      toJobView({ options: bigOptions(200) }),
      toJobView({ options: bigOptions(20_000, "ü") }),
      // Larger than the writer's first buffer.
      toJobView({ job_id: "j", options: bigOptions(300_000), error_message: "e".repeat(70_000) }),
      toJobView({
        options: JSON.stringify({ list: Array.from({ length: 2000 }, (_, i) => ({ i, s: `${i}` })) }),
      }),
      // Names the enums lack, values of the wrong type, numbers out of range: as protobuf-es does them.
      { status: "BOGUS", resource_group: "DOMAIN" },
      { job_id: 5 },
      { options: [1, 2] },
      { options: "text" },
      { version: -1 },
      { version: 2 ** 32 },
      { records_total: 1.5 },
      { progress_percent: "1" },
      { options: { a: undefined, b: 1n } },
    ];
    for (const view of cases) expect(written(view)).toEqual(reference(view));
    // Writing one answer after a failed or a huge one starts clean.
    const plain = toJobView({ job_id: "job-1", status: "SUCCESS", options: '{"a":1}' });
    expect(written(plain)).toEqual(reference(plain));
  });
});

// ---- stat -----------------------------------------------------------------------------------------

const statResult: fc.Arbitrary<JsonObject> = fc.oneof(
  fc.record({ results: fc.array(jsonValue, { maxLength: 8 }) }),
  fc.record({ results: fc.array(jsonValue, { maxLength: 8 }), total_count: fc.nat() }),
  fc.dictionary(jsonKey, jsonValue, { maxKeys: 5, noNullPrototype: true }),
) as fc.Arbitrary<JsonObject>;

describe("stat answers: the encoders write protobuf-es's bytes", () => {
  it("JSON and binary, for generated results", async () => {
    const samples = fc.sample(statResult, { numRuns: 1500, seed: 11 });
    expect(samples.some((s) => Array.isArray(s.results) && s.results.length > 3)).toBe(true);
    for (const result of samples) {
      const message = fromJson(StructSchema, result);
      const json = await joined(statEncoder(result).json(NO_LIMIT));
      expect(json.equals(utf8(toJsonString(StructSchema, message)))).toBe(true);
      const binary = await joined(statEncoder(result).binary(NO_LIMIT));
      expect(binary.equals(Buffer.from(toBinary(StructSchema, message)))).toBe(true);
    }
  });

  it("a value that is not finite fails as protobuf-es fails", async () => {
    const result = { results: [{ n: 1 }, { n: Number.POSITIVE_INFINITY }] };
    expect(() => toJsonString(StructSchema, fromJson(StructSchema, result))).toThrow(
      "google.protobuf.Value cannot be NaN or Infinity",
    );
    await expect(joined(statEncoder(result).json(NO_LIMIT))).rejects.toThrow(
      "google.protobuf.Value cannot be NaN or Infinity",
    );
  });
});

// ---- the response limit ---------------------------------------------------------------------------

/** Batches of generated rows that count how many were handed out and whether the reader stopped. */
function countedRows(batches: number): { rows: RowBatches; taken: () => number; closed: () => boolean } {
  const rows = fc.sample(jobRow, { numRuns: 50, seed: 5 });
  let taken = 0;
  let closed = false;
  return {
    rows: (async function* () {
      try {
        for (let i = 0; i < batches; i++) {
          taken++;
          yield rows;
        }
      } finally {
        closed = true;
      }
    })(),
    taken: () => taken,
    closed: () => closed,
  };
}

describe("resource_exhausted at MAX_RESPONSE_BYTES", () => {
  const exhausted = { status: "resource_exhausted", code: "ERROR_RESPONSE_TOO_LARGE" };

  for (const format of ["json", "binary"] as const) {
    it(`list ${format}: an answer of exactly the limit passes; one byte less stops early, reading no further`, async () => {
      const whole = countedRows(4);
      const size = (
        await joined(listEncoder({ ...listOf([], null, 9, "c"), rows: whole.rows })[format](NO_LIMIT))
      ).length;
      expect(size).toBeGreaterThan(1000);
      const exact = countedRows(4);
      const fits = await joined(listEncoder({ ...listOf([], null, 9, "c"), rows: exact.rows })[format](size));
      expect(fits.length).toBe(size);

      const over = countedRows(4);
      await expect(
        joined(listEncoder({ ...listOf([], null, 9, "c"), rows: over.rows })[format](size - 1)),
      ).rejects.toMatchObject(exhausted);
      const early = countedRows(1000);
      const error = await joined(
        listEncoder({ ...listOf([], null, 9, "c"), rows: early.rows })[format](Math.floor(size / 2)),
      ).catch((e: unknown) => e);
      expect(error).toMatchObject(exhausted);
      expect((error as Error).message).toContain("MAX_RESPONSE_BYTES");
      // Stopped within the batch that passed the limit, and told the rows' source to stop.
      expect(early.taken()).toBeLessThanOrEqual(3);
      expect(early.closed()).toBe(true);
    });

    it(`stat ${format}: exactly the limit passes, one byte less is resource_exhausted`, async () => {
      const result = {
        results: fc.sample(jsonValue, { numRuns: 300, seed: 9 }) as JsonObject[],
        total_count: 300,
      };
      const size = (await joined(statEncoder(result)[format](NO_LIMIT))).length;
      expect((await joined(statEncoder(result)[format](size))).length).toBe(size);
      await expect(joined(statEncoder(result)[format](size - 1))).rejects.toMatchObject(exhausted);
    });
  }
});
