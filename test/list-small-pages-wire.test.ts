/**
 * Over the wire, with the SQLite read pool on: a page read whole in one worker message (limit up to
 * LIST_BATCH_ROWS) and a page that streams (limit above it) answer the same jobs, total and order as
 * the unpaged answer, at the batch boundary; every statement of a small page reaches the statement
 * hook with its one answer (count, change head and page in one read transaction); a small page past
 * its `connect-timeout-ms` is deadline_exceeded and the pool serves on.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIRST_SEED_DOMAIN, generateJobs } from "../src/seed/generate.js";
import { LIST_BATCH_ROWS } from "../src/storage/store.js";
import { type AppServer, startAppServer } from "./support/app-server.js";

const LIST = "/spaceone.api.identity.v2.Job/list";
const SORT = [{ key: "created_at", desc: true }, { key: "job_id" }];
let server: AppServer;
let admin: string;
let domainJobs: number;
const statements: string[] = [];

beforeAll(async () => {
  const jobs = [...generateJobs({ count: 2600, seed: 11, now: new Date() })];
  domainJobs = jobs.filter((j) => j.domain_id === FIRST_SEED_DOMAIN).length;
  server = await startAppServer({
    jobs,
    now: () => new Date(),
    env: { DATABASE_READ_WORKERS: "1", MAX_PAGE_SIZE: "5000" },
    onStatement: (sql) => statements.push(sql),
  });
  admin = await server.token("DOMAIN_ADMIN", FIRST_SEED_DOMAIN);
  await server.readersUp();
}, 60_000);

afterAll(async () => {
  await server?.close();
});

async function list(query: Record<string, unknown>, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}${LIST}`, {
    method: "POST",
    headers: { "content-type": "application/json", token: admin, ...headers },
    body: JSON.stringify({ query }),
  });
  const body = (await res.json()) as {
    results?: { job_id: string }[];
    total_count?: number;
    code?: string;
  };
  return { status: res.status, ids: (body.results ?? []).map((r) => r.job_id), ...body };
}

describe("small pages over the wire, read pool on", () => {
  it("pages read whole and pages streamed answer the unpaged answer's jobs, total and order", async () => {
    expect(domainJobs).toBeGreaterThan(LIST_BATCH_ROWS + 2);
    const all = await list({ sort: SORT });
    expect(all.status).toBe(200);
    expect(all.ids).toHaveLength(domainJobs);
    for (const page of [
      { start: 1, limit: 100 },
      { start: 1, limit: LIST_BATCH_ROWS },
      { start: 1, limit: LIST_BATCH_ROWS + 1 },
      { start: LIST_BATCH_ROWS, limit: 3 },
      { start: 2, limit: LIST_BATCH_ROWS + 1 },
    ]) {
      const answer = await list({ sort: SORT, page });
      expect(answer.status).toBe(200);
      expect(answer.total_count).toBe(domainJobs);
      expect(answer.ids).toEqual(all.ids.slice(page.start - 1, page.start - 1 + page.limit));
    }
  });

  it("a small page's statements come back with its one answer: count, change head and page in one transaction", async () => {
    statements.length = 0;
    const answer = await list({ sort: SORT, page: { limit: 10 } });
    expect(answer.ids).toHaveLength(10);
    const sql = statements.map((s) => s.trim().split(/\s+/)[0]?.toUpperCase());
    expect(sql[0]).toBe("BEGIN");
    expect(sql.at(-1)).toBe("COMMIT");
    expect(statements.filter((s) => /count\(\*\)/i.test(s))).toHaveLength(1);
    expect(statements.filter((s) => /sqlite_sequence/.test(s))).toHaveLength(1);
    expect(statements.filter((s) => /\blimit\b/i.test(s))).toHaveLength(1);
  });

  it("a small page past its connect-timeout-ms is deadline_exceeded, and the pool serves on", async () => {
    // Sorting every job of the domain on a JSON path: far longer than 1 ms.
    const late = await list(
      { sort: [{ key: "options.provider" }], page: { limit: LIST_BATCH_ROWS } },
      { "connect-timeout-ms": "1" },
    );
    expect(late.status).not.toBe(200);
    expect(late.code).toBe("deadline_exceeded");
    await server.readersUp();
    const after = await list({ sort: SORT, page: { limit: 5 } });
    expect(after.ids).toHaveLength(5);
  });
});
