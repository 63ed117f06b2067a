/**
 * Deadlines end heavy reads on the read pool, over the wire: a `stat` whose rows multiply (an
 * operator raised STAT_MAX_UNWINDS, so the cost model lets it through) runs on a worker thread and
 * is stopped at the caller's `connect-timeout-ms`, at its `grpc-timeout`, or at the server's
 * MAX_TIMEOUT_MS when it asks for none: the caller gets deadline_exceeded, `get` answers meanwhile,
 * and a fresh worker replaces the stopped one and serves the next `list`.
 */
import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIRST_SEED_DOMAIN, generateJobs, seedWorld } from "../src/seed/generate.js";
import { type AppServer, startAppServer } from "./support/app-server.js";
import { grpcFrame, grpcStatusOf, http2Request } from "./support/http-client.js";

const SEED = 7;
const MAX_TIMEOUT_MS = 1500;
const JOB = "/spaceone.api.identity.v2.Job";
let server: AppServer;
let member: string;
let jobId: string;

beforeAll(async () => {
  const jobs = [...generateJobs({ count: 2000, seed: SEED, now: new Date() })];
  server = await startAppServer({
    jobs,
    now: () => new Date(),
    env: { DATABASE_READ_WORKERS: "2", STAT_MAX_UNWINDS: "4", MAX_TIMEOUT_MS: String(MAX_TIMEOUT_MS) },
  });
  const workspace = seedWorld(SEED).find((d) => d.domainId === FIRST_SEED_DOMAIN)?.workspaceIds[0] as string;
  const mine = jobs.filter((j) => j.domain_id === FIRST_SEED_DOMAIN && j.workspace_id === workspace);
  expect(mine.length).toBeGreaterThan(50);
  jobId = mine[0]?.job_id as string;
  member = await server.token("WORKSPACE_MEMBER", FIRST_SEED_DOMAIN, workspace);
}, 60_000);

afterAll(async () => {
  await server?.close();
});

/** Every job id pushed under four names, each list unwound: (the workspace's jobs)^4 rows. */
const EXPLOSIVE = {
  query: {
    aggregate: [
      {
        group: {
          keys: [],
          fields: ["a", "b", "c", "d"].map((name) => ({ key: "job_id", name, operator: "push" })),
        },
      },
      { unwind: { path: "a" } },
      { unwind: { path: "b" } },
      { unwind: { path: "c" } },
      { unwind: { path: "d" } },
      { count: { name: "n" } },
    ],
  },
};

async function connect(method: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}${JOB}/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json", token: member, ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    code: res.status === 200 ? "ok" : (JSON.parse(text) as { code: string }).code,
  };
}

/** While `heavy` runs, `get` answers at once (the stat is on a worker); then the pool serves on. */
async function duringAndAfter(heavy: Promise<string>): Promise<{ outcome: string; ended: number }> {
  const started = performance.now();
  let ended = 0;
  heavy.then(() => {
    ended = performance.now();
  });
  expect((await connect("get", { job_id: jobId })).code).toBe("ok");
  expect(performance.now() - started).toBeLessThan(1000);
  const outcome = await heavy;
  // Its replacement compiles from TypeScript here (about a second); the service starts from dist/.
  await server.readersUp();
  expect((await connect("list", { query: { page: { limit: 2 } } })).code).toBe("ok");
  return { outcome, ended };
}

describe("a heavy stat on the read pool ends at its deadline, over the wire", () => {
  it.each([
    ["Connect connect-timeout-ms", 300],
    ["the server's MAX_TIMEOUT_MS when the call sets none", MAX_TIMEOUT_MS],
  ] as const)("%s: deadline_exceeded on time", async (_name, deadlineMs) => {
    const headers: Record<string, string> =
      deadlineMs === MAX_TIMEOUT_MS ? {} : { "connect-timeout-ms": String(deadlineMs) };
    const started = performance.now();
    const { outcome: code, ended } = await duringAndAfter(
      connect("stat", EXPLOSIVE, headers).then((r) => r.code),
    );
    const elapsed = ended - started;
    expect(code).toBe("deadline_exceeded");
    expect(elapsed).toBeGreaterThanOrEqual(deadlineMs - 10);
    expect(elapsed).toBeLessThan(deadlineMs + 3000);
  });

  it("gRPC grpc-timeout: grpc-status 4 (DEADLINE_EXCEEDED) on time", async () => {
    const started = performance.now();
    const { outcome: status, ended } = await duringAndAfter(
      http2Request(server.url, {
        path: `${JOB}/stat`,
        headers: {
          "content-type": "application/grpc+json",
          te: "trailers",
          token: member,
          "grpc-timeout": "300m",
        },
        body: grpcFrame(Buffer.from(JSON.stringify(EXPLOSIVE))),
      }).then((r) => grpcStatusOf(r).status ?? `http ${r.status}`),
    );
    const elapsed = ended - started;
    expect(status).toBe("4");
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(3300);
  });
});
