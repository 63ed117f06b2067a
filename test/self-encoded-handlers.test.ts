/**
 * The Job handlers under the self-encoded contract (src/wire/unary/self-encoded.ts), called as a unary
 * path that takes such answers calls them: with `acceptsSelfEncodedKey` set, `list` and `stat` answer a
 * shell with an encoder whose JSON and binary are the bytes protobuf-es writes for the whole message the
 * same handler answers without the key (JSON for a JSON content type, binary otherwise); so does `get`,
 * in both formats. Run over the
 * SQLite read pool (rows streamed from a worker) and both test backends. An answer refused at the limit
 * gives its reader back: the next call is answered.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type DescMessage, fromJson, type MessageShape, toBinary, toJsonString } from "@bufbuild/protobuf";
import { StructSchema } from "@bufbuild/protobuf/wkt";
import { createContextValues, createHandlerContext } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Job,
  JobInfoSchema,
  JobRequestSchema,
  JobStatQuerySchema,
  JobsInfoSchema,
  JobsQuerySchema,
} from "../gen/spaceone/api/identity/v2/job_pb.js";
import { generateJobs, insertJobs } from "../src/seed/generate.js";
import { JobService } from "../src/service/job-service.js";
import { openDatabase } from "../src/storage/database.js";
import { SqliteReadPool } from "../src/storage/sqlite/read-pool.js";
import { SqliteStore } from "../src/storage/sqlite/sqlite-store.js";
import type { JobStore } from "../src/storage/store.js";
import { jobHandlers, principalKey } from "../src/wire/job-handlers.js";
import { acceptsSelfEncodedKey, selfEncoderOf } from "../src/wire/unary/self-encoded.js";
import { BACKENDS } from "./support/backends.js";
import { principal } from "./support/fixture.js";

const NOW = new Date("2026-03-15T12:00:00.000Z");
const JSON_WRITE = { useProtoFieldName: true } as const;
const NO_LIMIT = Number.MAX_SAFE_INTEGER;
const rows = () => [...generateJobs({ count: 1500, seed: 21, now: NOW })];

/** The domain with the most jobs (the caller's: DOMAIN_ADMIN sees them all). */
function busiestDomain(all: readonly { domain_id: string }[]): string {
  const counts = new Map<string, number>();
  for (const job of all) counts.set(job.domain_id, (counts.get(job.domain_id) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] as string;
}

async function joined(pieces: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const piece of pieces) parts.push(piece);
  return Buffer.concat(parts);
}

type Format = "json" | "binary";

function encoderOf(shell: unknown) {
  const encoder = selfEncoderOf(shell);
  if (encoder === undefined) throw new Error("the handler answered without an encoder");
  return encoder;
}

function context(
  method: "get" | "list" | "stat",
  options: { self: boolean; format: Format; domainId: string },
) {
  const values = createContextValues();
  values.set(principalKey, principal({ domainId: options.domainId }));
  if (options.self) values.set(acceptsSelfEncodedKey, true);
  return createHandlerContext({
    service: Job,
    method: Job.method[method],
    protocolName: "connect",
    requestMethod: "POST",
    url: `http://localhost/spaceone.api.identity.v2.Job/${method}`,
    requestHeader: { "content-type": options.format === "json" ? "application/json" : "application/proto" },
    contextValues: values,
  });
}

/** What the handler's whole message encodes to, in the format its content type asks. */
function encoded<T extends DescMessage>(schema: T, message: MessageShape<T>, format: Format): Buffer {
  return format === "json"
    ? Buffer.from(new TextEncoder().encode(toJsonString(schema, message, JSON_WRITE)))
    : Buffer.from(toBinary(schema, message));
}

const LISTS = [
  {},
  { query: { sort: [{ key: "created_at", desc: true }] } },
  { query: { filter: [{ k: "status", v: "FAILURE", o: "eq" }], page: { start: 3, limit: 50 } } },
  { query: { only: ["job_id", "status", "options.provider", "progress_percent"] } },
  { query: { count_only: true } },
  { query: { filter: [{ k: "job_id", v: "none", o: "eq" }] } },
];
const STATS = [
  {
    query: {
      aggregate: [
        { group: { keys: [{ key: "status", name: "s" }], fields: [{ operator: "count", name: "n" }] } },
      ],
    },
  },
  { query: { distinct: "trusted_account_id", page: { limit: 5 } } },
  {
    query: {
      aggregate: [
        {
          group: {
            keys: [{ key: "plugin_id", name: "plugin" }],
            fields: [{ key: "job_id", name: "ids", operator: "push" }],
          },
        },
      ],
    },
  },
];

function handlerCases(storeOf: () => JobStore, domainId: () => string) {
  const handlers = () =>
    jobHandlers(new JobService(storeOf(), { maxPageSize: 1000, maxUnpagedRows: 100_000, now: () => NOW }));

  for (const format of ["json", "binary"] as const) {
    it(`get, ${format}: the answer's bytes are the whole message's`, async () => {
      const list = handlers().list as (
        r: unknown,
        c: unknown,
      ) => Promise<MessageShape<typeof JobsInfoSchema>>;
      const some = await list(
        fromJson(JobsQuerySchema, { query: { page: { limit: 40 } } }),
        // JSON: a binary list answer keeps its rows as bytes, not as `results`.
        context("list", { self: false, format: "json", domainId: domainId() }),
      );
      expect(some.results.length).toBe(40);
      const get = handlers().get as (r: unknown, c: unknown) => Promise<MessageShape<typeof JobInfoSchema>>;
      for (const { jobId } of some.results) {
        const request = fromJson(JobRequestSchema, { job_id: jobId });
        const whole = await get(request, context("get", { self: false, format, domainId: domainId() }));
        expect(whole.jobId).toBe(jobId);
        const answer = await get(request, context("get", { self: true, format, domainId: domainId() }));
        const encoder = encoderOf(answer);
        const bytes = await joined(format === "json" ? encoder.json(NO_LIMIT) : encoder.binary(NO_LIMIT));
        const expected = encoded(JobInfoSchema, whole, format);
        expect(bytes.equals(expected)).toBe(true);
        // The whole answer at once (what the unary path prefers) is the same bytes.
        const atOnce = format === "json" ? encoder.jsonText?.() : encoder.binaryBytes?.();
        expect(atOnce).toBeDefined();
        expect(Buffer.from(atOnce as string | Uint8Array).equals(expected)).toBe(true);
      }
    });

    it(`list, ${format}: the encoder's bytes are the whole message's`, async () => {
      for (const body of LISTS) {
        const request = fromJson(JobsQuerySchema, body as never);
        const list = handlers().list as (
          r: unknown,
          c: unknown,
        ) => Promise<MessageShape<typeof JobsInfoSchema>>;
        const whole = await list(request, context("list", { self: false, format, domainId: domainId() }));
        const shell = await list(request, context("list", { self: true, format, domainId: domainId() }));
        const encoder = encoderOf(shell);
        const bytes = await joined(format === "json" ? encoder.json(NO_LIMIT) : encoder.binary(NO_LIMIT));
        expect(bytes.equals(encoded(JobsInfoSchema, whole, format))).toBe(true);
        // The shell carries what the answer's header says.
        expect(shell.totalCount).toBe(whole.totalCount);
        expect(shell.cursor).toBe(whole.cursor);
      }
      const unpaged = await (
        handlers().list as (r: unknown, c: unknown) => Promise<MessageShape<typeof JobsInfoSchema>>
      )(fromJson(JobsQuerySchema, {}), context("list", { self: false, format, domainId: domainId() }));
      expect(unpaged.totalCount).toBeGreaterThan(100);
    });

    it(`stat, ${format}: the encoder's bytes are the whole message's`, async () => {
      for (const body of STATS) {
        const request = fromJson(JobStatQuerySchema, body as never);
        const stat = handlers().stat as (
          r: unknown,
          c: unknown,
        ) => Promise<MessageShape<typeof StructSchema>>;
        const whole = await stat(request, context("stat", { self: false, format, domainId: domainId() }));
        expect(Object.keys(whole.fields)).toContain("results");
        const shell = await stat(request, context("stat", { self: true, format, domainId: domainId() }));
        const encoder = encoderOf(shell);
        const bytes = await joined(format === "json" ? encoder.json(NO_LIMIT) : encoder.binary(NO_LIMIT));
        expect(bytes.equals(encoded(StructSchema, whole, format))).toBe(true);
      }
    });
  }

  it("an answer over the limit is resource_exhausted, and the next call is answered", async () => {
    const list = handlers().list as (r: unknown, c: unknown) => Promise<object>;
    for (let i = 0; i < 6; i++) {
      const shell = await list(
        fromJson(JobsQuerySchema, {}),
        context("list", { self: true, format: "json", domainId: domainId() }),
      );
      await expect(joined(encoderOf(shell).json(16 * 1024))).rejects.toMatchObject({
        status: "resource_exhausted",
        message: expect.stringContaining("MAX_RESPONSE_BYTES"),
      });
    }
    const shell = await list(
      fromJson(JobsQuerySchema, {}),
      context("list", { self: true, format: "binary", domainId: domainId() }),
    );
    expect((await joined(encoderOf(shell).binary(NO_LIMIT))).length).toBeGreaterThan(16 * 1024);
  });
}

describe("through the SQLite read pool", () => {
  let dir: string;
  let store: SqliteStore;
  let domain = "";
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "self-encoded-"));
    const file = path.join(dir, "jobs.db");
    const db = openDatabase({ file });
    const all = rows();
    domain = busiestDomain(all);
    insertJobs(db, all);
    db.close();
    const pool = new SqliteReadPool({ file, size: 1, busyTimeoutMs: 1000, maxTimeMs: 30_000 });
    store = new SqliteStore(openDatabase({ file }), { ownsConnection: true, reader: pool });
    await pool.start();
  });
  afterAll(async () => {
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  handlerCases(
    () => store,
    () => domain,
  );
});

describe.each(BACKENDS)("on $name", (backend) => {
  let opened: Awaited<ReturnType<typeof backend.open>> | undefined;
  let domain = "";
  beforeAll(async () => {
    if (backend.skip) return;
    opened = await backend.open();
    const all = rows();
    domain = busiestDomain(all);
    await opened.insertJobs(all);
  });
  afterAll(async () => {
    await opened?.close();
  });
  describe.skipIf(backend.skip !== null)("", () => {
    handlerCases(
      () => (opened as { store: JobStore }).store,
      () => domain,
    );
  });
});
