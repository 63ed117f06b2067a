/**
 * The flat binary request reader (src/wire/unary/flat-binary.ts) against protobuf-es's `fromBinary`
 * (what connect's binary serialization runs): for every body of a corpus, the reader either gives the
 * message `fromBinary` gives (equal, the same bytes written back, no unknown fields) or declines
 * (undefined), so connect's parser reads it and its errors stay connect-node's. The corpus holds what
 * clients send, and unknown fields, repeated fields, other wire types, bad varints, truncated input,
 * invalid UTF-8 and random mutations of each.
 */
import { create, type DescMessage, equals, fromBinary, type Message, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { JobRequestSchema, JobsQuerySchema } from "../gen/spaceone/api/identity/v2/job_pb.js";
import { flatBinaryReader } from "../src/wire/unary/flat-binary.js";

const utf8 = (text: string) => new TextEncoder().encode(text);
const bytes = (...parts: (number | Uint8Array)[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === "number" ? [p] : [...p])));
const varint = (n: number): number[] => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, ...varint(n >>> 7)]);
/** A length-delimited record of field `no`. */
const record = (no: number, value: Uint8Array) =>
  bytes(...varint((no << 3) | 2), ...varint(value.length), value);

/** The reader's answer for `body`: "declined", or the message, which must be `fromBinary`'s. */
function compare(desc: DescMessage, body: Uint8Array): "declined" | "read" {
  const reader = flatBinaryReader(desc, 4096);
  if (!reader) throw new Error(`${desc.typeName} has string fields`);
  const ours = reader(body);
  if (ours === undefined) return "declined";
  let theirs: Message;
  try {
    theirs = fromBinary(desc, body);
  } catch (error) {
    throw new Error(
      `read a body fromBinary refuses (${String(error)}): ${Buffer.from(body).toString("hex")}`,
    );
  }
  const hex = Buffer.from(body).toString("hex");
  expect(equals(desc, ours as never, theirs as never), hex).toBe(true);
  expect((ours as { $unknown?: unknown }).$unknown, hex).toBeUndefined();
  expect((theirs as { $unknown?: unknown }).$unknown, hex).toBeUndefined();
  expect(toBinary(desc, ours as never), hex).toEqual(toBinary(desc, theirs as never));
  expect({ ...ours }, hex).toEqual({ ...theirs });
  return "read";
}

const id = utf8("job-12bc90aac22d");

/** Bodies the reader takes: what clients send, and the legal variations of it. */
const readable: [string, Uint8Array][] = [
  ["a get", toBinary(JobRequestSchema, create(JobRequestSchema, { jobId: "job-12bc90aac22d" }))],
  ["empty body", new Uint8Array(0)],
  ["empty string", record(1, new Uint8Array(0))],
  ["non-ASCII", record(1, utf8("jöb-✓-𝄞"))],
  ["leading U+FEFF is text", record(1, utf8("\uFEFFjob"))],
  ["field twice: the last wins", bytes(record(1, utf8("first")), record(1, id))],
  ["non-minimal tag varint", bytes(0x8a, 0x00, id.length, id)],
  ["non-minimal length varint", bytes(0x0a, 0x80 | id.length, 0x00, id)],
  ["a 200-byte value (two-byte length)", bytes(0x0a, 0xc8, 0x01, new Uint8Array(200).fill(0x61))],
];

/** Bodies it must leave to protobuf-es (kept unknown fields, other kinds, or an error). */
const declined: [string, Uint8Array][] = [
  ["unknown field", bytes(record(1, id), record(2, utf8("x")))],
  ["unknown varint field", bytes(record(1, id), 0x10, 0x01)],
  ["unknown field first", bytes(record(7, utf8("x")), record(1, id))],
  ["field 0", bytes(0x02, 0x01, 0x61)],
  ["known field as varint", bytes(0x08, 0x05)],
  ["known field as fixed32", bytes(0x0d, 1, 2, 3, 4)],
  ["known field as group", bytes(0x0b, 0x0c)],
  ["truncated value", bytes(0x0a, 0x10, utf8("job-"))],
  ["truncated length", bytes(0x0a)],
  ["truncated tag", bytes(0x8a)],
  ["unterminated length varint", bytes(0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80)],
  ["over-long length", bytes(0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x61)],
  ["invalid UTF-8", bytes(0x0a, 0x03, 0x61, 0xff, 0x62)],
  ["lone surrogate (CESU)", bytes(0x0a, 0x03, 0xed, 0xa0, 0x80)],
  ["trailing garbage byte", bytes(record(1, id), 0x00)],
];

describe("flat binary requests", () => {
  it("read as protobuf-es's fromBinary reads them", () => {
    for (const [name, body] of readable) expect(compare(JobRequestSchema, body), name).toBe("read");
  });

  it("decline every other body, so connect's parser answers (or errs) as before", () => {
    for (const [name, body] of declined) expect(compare(JobRequestSchema, body), name).toBe("declined");
    const reader = flatBinaryReader(JobRequestSchema, 64);
    expect(reader?.(record(1, new Uint8Array(70).fill(0x61)))).toBeUndefined();
  });

  it("read only the string fields of a message with others (repeated, message, enum)", () => {
    const both = bytes(record(21, utf8("w-1")), record(22, utf8("ta-1")), record(2, id));
    expect(compare(JobsQuerySchema, both)).toBe("read");
    expect(compare(JobsQuerySchema, bytes(record(1, new Uint8Array(0))))).toBe("declined");
    expect(compare(JobsQuerySchema, bytes(record(2, id), 0x18, 0x04))).toBe("declined");
    const full = toBinary(
      JobsQuerySchema,
      create(JobsQuerySchema, { query: { only: ["job_id", "status"], keyword: "k" }, jobId: "j" }),
    );
    expect(compare(JobsQuerySchema, full)).toBe("declined");
  });

  it("agree with fromBinary on every mutation of the corpus", () => {
    // A seeded generator: the same mutations every run, and each a case that can fail.
    let seed = 0x2f6b_a3c1;
    const random = () => {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
      return seed / 2 ** 32;
    };
    const counts = { read: 0, declined: 0 };
    const base = [...readable, ...declined].map(([, body]) => body).filter((b) => b.length > 0);
    for (let n = 0; n < 20_000; n++) {
      const body = Uint8Array.from(base[Math.floor(random() * base.length)] as Uint8Array);
      const edits = 1 + Math.floor(random() * 3);
      let mutated = body;
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(random() * mutated.length);
        const kind = random();
        if (kind < 0.5) mutated[at] = Math.floor(random() * 256);
        else if (kind < 0.75) mutated = mutated.subarray(0, at);
        else mutated = bytes(mutated, record(1 + Math.floor(random() * 3), utf8("z")));
      }
      for (const desc of [JobRequestSchema, JobsQuerySchema]) counts[compare(desc, mutated)]++;
    }
    // Both outcomes occur, so the comparison above ran on messages the reader produced.
    expect(counts.read).toBeGreaterThan(1000);
    expect(counts.declined).toBeGreaterThan(1000);
  });
});
