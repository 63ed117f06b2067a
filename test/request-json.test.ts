/**
 * `requestJson`: a decoded request as the proto JSON the service reads. Flat requests (the lifecycle
 * rpcs but `create`) are written without protobuf-es's writer; each cell holds that answer to
 * protobuf-es's own `toJson` (proto field names), byte for byte, key order included.
 */
import { create, type DescMessage, fromJson, type MessageInitShape, toJson } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  CancelJobRequestSchema,
  CreateJobRequestSchema,
  FailJobRequestSchema,
  ReportJobProgressRequestSchema,
  StartJobRequestSchema,
  SucceedJobRequestSchema,
} from "../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import { JobsQuerySchema } from "../gen/spaceone/api/identity/v2/job_pb.js";
import { SpaceOneError } from "../src/errors.js";
import { requestJson } from "../src/wire/request-json.js";

function reference<Desc extends DescMessage>(schema: Desc, init: MessageInitShape<Desc>): string {
  return JSON.stringify(toJson(schema, create(schema, init), { useProtoFieldName: true }));
}

function ours<Desc extends DescMessage>(schema: Desc, init: MessageInitShape<Desc>): string {
  return JSON.stringify(requestJson(schema, create(schema, init)));
}

const progress: [string, MessageInitShape<typeof ReportJobProgressRequestSchema>][] = [
  ["nothing set", {}],
  ["the id alone", { jobId: "job-1" }],
  ["implicit zeros are left out (empty string)", { jobId: "job-1", currentStep: "" }],
  [
    "explicit zeros are written",
    { jobId: "job-1", recordsProcessed: 0, progressPercent: 0, expectedVersion: 0 },
  ],
  [
    "every field",
    {
      jobId: "job-1",
      expectedVersion: 7,
      progressPercent: 42.5,
      currentStep: "listing buckets",
      recordsProcessed: 1200,
      recordsTotal: 5000,
      recordsCreated: 3,
      recordsUpdated: 4,
      recordsDeleted: 5,
    },
  ],
  ["a negative zero percent", { jobId: "job-1", progressPercent: -0 }],
  ["NaN", { jobId: "job-1", progressPercent: Number.NaN }],
  ["Infinity", { jobId: "job-1", progressPercent: Number.POSITIVE_INFINITY }],
  ["-Infinity", { jobId: "job-1", progressPercent: Number.NEGATIVE_INFINITY }],
  ["the largest uint32", { jobId: "job-1", recordsProcessed: 4294967295 }],
  ["text beyond ASCII", { jobId: "job-é", currentStep: "étape 2 — 🚀" }],
];

describe("requestJson of a flat request equals protobuf-es's toJson", () => {
  for (const [name, init] of progress) {
    it(`report_progress: ${name}`, () => {
      expect(ours(ReportJobProgressRequestSchema, init)).toBe(
        reference(ReportJobProgressRequestSchema, init),
      );
    });
  }
  it("start, succeed, fail and cancel: set, zero and unset fields alike", () => {
    const cases = [
      [StartJobRequestSchema, { jobId: "job-1", expectedVersion: 0 }],
      [StartJobRequestSchema, { jobId: "" }],
      [SucceedJobRequestSchema, { jobId: "job-1", recordsTotal: 0, recordsDeleted: 9 }],
      [FailJobRequestSchema, { jobId: "job-1", errorCode: "ERROR_X", errorMessage: "" }],
      [CancelJobRequestSchema, { jobId: "job-1", expectedVersion: 3, reason: "operator" }],
    ] as const;
    for (const [schema, init] of cases) {
      expect(ours(schema as DescMessage, init), schema.typeName).toBe(reference(schema as DescMessage, init));
    }
  });
});

describe("requestJson refuses a NUL character by field name", () => {
  for (const [field, init] of [
    ["job_id", { jobId: "job\u0000" }],
    ["current_step", { jobId: "job-1", currentStep: "a\u0000b" }],
  ] as const) {
    it(`in ${field}: invalid_argument naming it`, () => {
      const call = () =>
        requestJson(ReportJobProgressRequestSchema, create(ReportJobProgressRequestSchema, init));
      expect(call).toThrow(SpaceOneError);
      try {
        call();
      } catch (error) {
        expect((error as SpaceOneError).status).toBe("invalid_argument");
        expect((error as SpaceOneError).message).toContain(`key = ${field}`);
      }
    });
  }
});

describe("requestJson of a request that is not flat goes through protobuf-es", () => {
  it("create (a Struct and an enum) equals toJson", () => {
    const init = {
      trustedAccountId: "ta-1",
      options: { regions: ["eu-west-1"], retry: 0, nested: { on: true } },
      idempotencyKey: "k",
    };
    expect(ours(CreateJobRequestSchema, init)).toBe(reference(CreateJobRequestSchema, init));
  });
  it("a query (messages, lists, Values) equals toJson", () => {
    const message = fromJson(JobsQuerySchema, {
      query: { filter: [{ k: "status", v: "FAILURE", o: "eq" }], page: { start: 1, limit: 10 } },
    });
    const expected = JSON.stringify(toJson(JobsQuerySchema, message, { useProtoFieldName: true }));
    expect(JSON.stringify(requestJson(JobsQuerySchema, message))).toBe(expected);
    expect(expected).toContain('"filter":[{"k":"status","v":"FAILURE","o":"eq"}]');
  });
});
