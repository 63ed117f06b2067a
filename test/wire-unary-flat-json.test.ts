/**
 * The flat JSON request reader (src/wire/unary/flat-json.ts) gives the message connect's own JSON parser
 * gives, and declines (undefined) every body that is not the flat shape, so those take connect's parser
 * and its errors.
 */
import { type DescMessage, equals, fromJsonString } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { JobRequestSchema, JobsQuerySchema } from "../gen/spaceone/api/identity/v2/job_pb.js";
import { flatJsonReader } from "../src/wire/unary/flat-json.js";

const utf8 = (text: string) => new TextEncoder().encode(text);

/** What connect's JSON serialization does with a request body (protocol/serialization.ts). */
function connectParser(desc: DescMessage) {
  const decoder = new TextDecoder();
  return {
    parse: (bytes: Uint8Array) => fromJsonString(desc, decoder.decode(bytes), { ignoreUnknownFields: true }),
  };
}

const flat = [
  '{"job_id":"job-12bc90aac22d"}',
  '{"jobId":"job-12bc90aac22d"}',
  ' \t\r\n{ "job_id" : "job-1" } \n',
  "{}",
  '{"job_id":""}',
  '{"job_id":"jöb-✓-𝄞"}',
  '\uFEFF{"job_id":"with a BOM"}',
];

const declined = [
  '{"job_id":"a","job_id":"b"}',
  '{"job_id":"a","jobId":"b"}',
  '{"job_id":"a\\"b"}',
  '{"job_id":"\\u006a"}',
  '{"job_id":"tab\there"}',
  '{"job_id":1}',
  '{"job_id":null}',
  '{"job_id":"a",}',
  '{"job_id":"a"} x',
  '{"job_id":"a"',
  '{"job_id" "a"}',
  '{"other":"a"}',
  '{"[some.ext]":"a"}',
  '["job_id"]',
  '"job_id"',
  "",
  "{",
];

describe("flat JSON requests", () => {
  const reader = flatJsonReader(JobRequestSchema, 1024, new TextDecoder());
  const connect = connectParser(JobRequestSchema);

  it("read as connect's parser reads them", () => {
    if (!reader) throw new Error("JobRequest has a string field");
    for (const body of flat) {
      const ours = reader(utf8(body));
      expect(ours, body).toBeDefined();
      expect(equals(JobRequestSchema, ours as never, connect.parse(utf8(body)) as never), body).toBe(true);
    }
    const invalidUtf8 = new Uint8Array([...utf8('{"job_id":"a'), 0xff, 0xfe, ...utf8('b"}')]);
    expect(equals(JobRequestSchema, reader(invalidUtf8) as never, connect.parse(invalidUtf8) as never)).toBe(
      true,
    );
  });

  it("decline every other body, so connect's parser answers (or errs) as before", () => {
    if (!reader) throw new Error("JobRequest has a string field");
    for (const body of declined) expect(reader(utf8(body)), body).toBeUndefined();
    expect(reader(utf8(`{"job_id":"${"x".repeat(2000)}"}`))).toBeUndefined();
    // The server's decoder is fatal: invalid UTF-8 is left to connect's parser, which refuses it.
    const fatal = flatJsonReader(JobRequestSchema, 1024, new TextDecoder("utf-8", { fatal: true }));
    expect(fatal?.(new Uint8Array([...utf8('{"job_id":"a'), 0xff, ...utf8('"}')]))).toBeUndefined();
    expect(fatal?.(utf8('{"job_id":"a"}'))).toBeDefined();
  });

  it("take only the string fields of a message with others", () => {
    const list = flatJsonReader(JobsQuerySchema, 1024, new TextDecoder());
    if (!list) throw new Error("JobsQuery has string fields");
    const listParser = connectParser(JobsQuerySchema);
    const body = utf8('{"workspace_id":"w-1","trustedAccountId":"ta-1"}');
    const ours = list(body);
    expect(ours).toBeDefined();
    expect(equals(JobsQuerySchema, ours as never, listParser.parse(body) as never)).toBe(true);
    expect(list(utf8('{"query":{}}'))).toBeUndefined();
    expect(list(utf8('{"status":"SUCCESS"}'))).toBeUndefined();
  });
});
