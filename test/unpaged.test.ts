/**
 * A list or stat without page.limit returns every row, as upstream (the web console's
 * `POST /identity/job/list {"trusted_account_id": ...}` reads `results[0]` as the newest job), up to
 * MAX_UNPAGED_ROWS; past it the answer is invalid_argument naming query.page.limit. Over the wire, in
 * every protocol the console or an SDK uses.
 */
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Job } from "../gen/spaceone/api/identity/v2/job_pb.js";
import { loadConfig } from "../src/config.js";
import type { JobRow } from "../src/storage/schema.js";
import { type AppServer, startAppServer } from "./support/app-server.js";
import { JOBS } from "./support/fixture.js";
import { grpcJsJobClient } from "./support/grpc-js-client.js";
import { h1Post } from "./support/http-client.js";

const ACCOUNT = "ta-console";
const ACCOUNT_JOBS = 1200;
const OTHER_JOBS = 400;
/** Between the account's jobs and the domain's, so the domain-wide unpaged call is over the ceiling. */
const CEILING = 1500;

function jobAt(i: number, account: string): Omit<JobRow, "seq"> {
  const created = new Date(Date.UTC(2026, 0, 1) + i * 3_600_000).toISOString();
  return {
    ...(JOBS[0] as Omit<JobRow, "seq">),
    job_id: `job-${account}-${String(i).padStart(5, "0")}`,
    trusted_account_id: account,
    created_at: created,
    updated_at: created,
    finished_at: created,
  };
}

/** The account's jobs, newest first: what the console expects. */
const expectedIds = Array.from({ length: ACCOUNT_JOBS }, (_, i) => jobAt(i, ACCOUNT).job_id).reverse();

let server: AppServer;
let token: string;

beforeAll(async () => {
  server = await startAppServer({
    jobs: [
      ...Array.from({ length: ACCOUNT_JOBS }, (_, i) => jobAt(i, ACCOUNT)),
      ...Array.from({ length: OTHER_JOBS }, (_, i) => jobAt(i, "ta-other")),
    ],
    env: { MAX_UNPAGED_ROWS: String(CEILING) },
  });
  token = await server.token("DOMAIN_ADMIN");
}, 60_000);
afterAll(async () => server?.close());

const consoleCall = { trusted_account_id: ACCOUNT };
const perJob = {
  query: {
    aggregate: [{ group: { keys: [{ key: "job_id", name: "id" }], fields: [{ o: "count", n: "n" }] } }],
  },
};

async function rest(path: string, body: unknown) {
  const r = await h1Post(
    `${server.url}${path}`,
    { "content-type": "application/json", token },
    JSON.stringify(body),
  );
  return { status: r.status, body: JSON.parse(r.body.toString("utf8")) };
}

describe("the console's unpaged list answers every job, newest first", () => {
  it("over REST (the console's exact call)", async () => {
    const r = await rest("/identity/job/list", consoleCall);
    expect(r.status).toBe(200);
    expect(r.body.results.map((j: { job_id: string }) => j.job_id)).toEqual(expectedIds);
    expect(r.body.total_count).toBe(ACCOUNT_JOBS);
  });

  it("over Connect JSON", async () => {
    const client = createClient(Job, createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }));
    const r = await client.list({ trustedAccountId: ACCOUNT }, { headers: { token } });
    expect(r.results.map((j) => j.jobId)).toEqual(expectedIds);
    expect(r.totalCount).toBe(ACCOUNT_JOBS);
  });

  it("over Connect binary: every field of each row as the JSON answer has it", async () => {
    const client = createClient(
      Job,
      createConnectTransport({ baseUrl: server.url, httpVersion: "2", useBinaryFormat: true }),
    );
    const json = createClient(Job, createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }));
    const r = await client.list({ trustedAccountId: ACCOUNT }, { headers: { token } });
    const j = await json.list({ trustedAccountId: ACCOUNT }, { headers: { token } });
    expect(r.results).toHaveLength(ACCOUNT_JOBS);
    expect(r).toEqual(j);
  });

  it("over gRPC (connect-es client and grpc-js)", async () => {
    const client = createClient(Job, createGrpcTransport({ baseUrl: server.url }));
    const r = await client.list({ trustedAccountId: ACCOUNT }, { headers: { token } });
    expect(r.results.map((j) => j.jobId)).toEqual(expectedIds);
    expect(r.totalCount).toBe(ACCOUNT_JOBS);
    const grpcJs = grpcJsJobClient(server.url, token);
    try {
      const g = await grpcJs.call("list", consoleCall);
      expect(g.results.map((j: { job_id: string }) => j.job_id)).toEqual(expectedIds);
      expect(g.results[0].status).toBe("SUCCESS");
      expect(g.total_count).toBe(ACCOUNT_JOBS);
    } finally {
      grpcJs.close();
    }
  });
});

describe("stat without page.limit answers every group", () => {
  it("more than 1,000 groups over REST", async () => {
    const r = await rest("/identity/job/stat", {
      query: { ...perJob.query, filter: [{ k: "trusted_account_id", v: ACCOUNT, o: "eq" }] },
    });
    expect(r.status).toBe(200);
    expect(r.body.results).toHaveLength(ACCOUNT_JOBS);
    expect(new Set(r.body.results.map((g: { id: string }) => g.id))).toEqual(new Set(expectedIds));
  });
});

describe("over MAX_UNPAGED_ROWS is invalid_argument naming query.page.limit", () => {
  it("list over REST", async () => {
    const r = await rest("/identity/job/list", {});
    expect(r.status).toBe(400);
    expect(r.body.detail.code).toBe("ERROR_INVALID_PARAMETER");
    expect(r.body.detail.message).toContain("key = query.page.limit");
    expect(r.body.detail.message).toContain(`${ACCOUNT_JOBS + OTHER_JOBS} jobs match`);
    expect(r.body.detail.message).toContain("MAX_UNPAGED_ROWS");
  });

  it("list over gRPC", async () => {
    const client = createClient(Job, createGrpcTransport({ baseUrl: server.url }));
    await expect(client.list({}, { headers: { token } })).rejects.toMatchObject({
      code: 3,
      rawMessage: expect.stringContaining("query.page.limit"),
    });
  });

  it("stat over REST", async () => {
    const r = await rest("/identity/job/stat", perJob);
    expect(r.status).toBe(400);
    expect(r.body.detail.code).toBe("ERROR_INVALID_PARAMETER");
    expect(r.body.detail.message).toContain("key = query.page.limit");
  });

  it("a page is still fine", async () => {
    const r = await rest("/identity/job/list", { query: { page: { limit: 10 } } });
    expect(r.status).toBe(200);
    expect(r.body.results).toHaveLength(10);
    expect(r.body.total_count).toBe(ACCOUNT_JOBS + OTHER_JOBS);
  });
});

describe("the MAX_UNPAGED_ROWS setting", () => {
  it("defaults to 100,000 and is never below MAX_PAGE_SIZE", () => {
    expect(loadConfig({ DATA_DIR: "/tmp" }).maxUnpagedRows).toBe(100_000);
    expect(
      loadConfig({ DATA_DIR: "/tmp", MAX_PAGE_SIZE: "5000", MAX_UNPAGED_ROWS: "10" }).maxUnpagedRows,
    ).toBe(5000);
  });
});
