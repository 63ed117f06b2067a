/**
 * `job_service_db_pool_connections` and statement time over a real server's `/metrics`, on both
 * backends: the figures are sampled at scrape time, so a write transaction held open, writes queued
 * behind it, read workers busy with a query and reads queued for them show in the very next scrape.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../src/app.js";
import { FIRST_SEED_DOMAIN, generateJobs, seedWorld } from "../src/seed/generate.js";
import type { PostgresStore } from "../src/storage/dialect/postgres/postgres-store.js";
import { type AppServer, startAppServer } from "./support/app-server.js";
import { BACKENDS } from "./support/backends.js";
import { metricSample as sample, scrapeMetrics } from "./support/metrics.js";
import { startTestServer, type TestServer } from "./support/server.js";

const POOL = "job_service_db_pool_connections";

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A write transaction held open until `release()`; `started` resolves once its callback runs. */
function heldWrite(server: { readonly app: App }) {
  let release = () => {};
  let started = () => {};
  const running = new Promise<void>((resolve) => {
    started = resolve;
  });
  const done = server.app.store.write(
    () =>
      new Promise<void>((resolve) => {
        started();
        release = resolve;
      }),
  );
  return { started: running, release: () => release(), done };
}

describe("SQLite: the writer and the read workers", () => {
  let server: AppServer;
  let member: string;
  const WORKERS = 2;

  beforeAll(async () => {
    const seed = 7;
    server = await startAppServer({
      jobs: [...generateJobs({ count: 2000, seed, now: new Date() })],
      now: () => new Date(),
      env: { DATABASE_READ_WORKERS: String(WORKERS), STAT_MAX_UNWINDS: "4", MAX_TIMEOUT_MS: "20000" },
    });
    await server.readersUp();
    const workspace = seedWorld(seed).find((d) => d.domainId === FIRST_SEED_DOMAIN)?.workspaceIds[0];
    member = await server.token("WORKSPACE_MEMBER", FIRST_SEED_DOMAIN, workspace);
  }, 60_000);
  afterAll(async () => server?.close());

  it("idle: every worker idle, nothing in use or waiting", async () => {
    const text = await scrapeMetrics(server.url);
    const labels = { backend: "sqlite" };
    expect(sample(text, POOL, { ...labels, pool: "read_workers", state: "idle" })).toBe(WORKERS);
    for (const state of ["in_use", "starting", "waiting"])
      expect(sample(text, POOL, { ...labels, pool: "read_workers", state })).toBe(0);
    expect(sample(text, POOL, { ...labels, pool: "writer", state: "in_use" })).toBe(0);
    expect(sample(text, POOL, { ...labels, pool: "writer", state: "waiting" })).toBe(0);
  });

  it("a write transaction open and two writes queued behind it", async () => {
    const held = heldWrite(server);
    await held.started;
    const queued = [server.app.store.write(async () => 1), server.app.store.write(async () => 2)];
    try {
      const text = await scrapeMetrics(server.url);
      expect(sample(text, POOL, { backend: "sqlite", pool: "writer", state: "in_use" })).toBe(1);
      expect(sample(text, POOL, { backend: "sqlite", pool: "writer", state: "waiting" })).toBe(2);
    } finally {
      held.release();
      await Promise.all([held.done, ...queued]);
    }
    const after = await scrapeMetrics(server.url);
    expect(sample(after, POOL, { backend: "sqlite", pool: "writer", state: "in_use" })).toBe(0);
    expect(sample(after, POOL, { backend: "sqlite", pool: "writer", state: "waiting" })).toBe(0);
    expect(
      sample(after, "job_service_db_statement_duration_seconds_count", {
        backend: "sqlite",
        operation: "write",
      }),
    ).toBeGreaterThanOrEqual(3);
  });

  it("every worker busy with a long stat, one more read queued; stopped workers restart", async () => {
    // Every job id pushed under four names, each list unwound: rows multiply until the deadline.
    const explosive = {
      query: {
        aggregate: [
          {
            group: {
              keys: [],
              fields: ["a", "b", "c", "d"].map((name) => ({ key: "job_id", name, operator: "push" })),
            },
          },
          ...["a", "b", "c", "d"].map((path) => ({ unwind: { path } })),
          { count: { name: "n" } },
        ],
      },
    };
    const calls = Array.from({ length: WORKERS + 1 }, () =>
      fetch(`${server.url}/spaceone.api.identity.v2.Job/stat`, {
        method: "POST",
        headers: { "content-type": "application/json", token: member, "connect-timeout-ms": "4000" },
        body: JSON.stringify(explosive),
      }).then((res) => res.status),
    );
    let busy: string | undefined;
    for (let i = 0; i < 60; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const text = await scrapeMetrics(server.url);
      if (sample(text, POOL, { backend: "sqlite", pool: "read_workers", state: "waiting" }) === 1) {
        busy = text;
        break;
      }
    }
    expect(busy).toBeDefined();
    expect(sample(busy ?? "", POOL, { backend: "sqlite", pool: "read_workers", state: "in_use" })).toBe(
      WORKERS,
    );
    expect(sample(busy ?? "", POOL, { backend: "sqlite", pool: "read_workers", state: "idle" })).toBe(0);
    // Each ends at its deadline (its worker terminated and replaced), the queued one too.
    expect(await Promise.all(calls)).toEqual(Array(WORKERS + 1).fill(504));
    await server.readersUp();
    const after = await scrapeMetrics(server.url);
    expect(sample(after, POOL, { backend: "sqlite", pool: "read_workers", state: "idle" })).toBe(WORKERS);
    expect(sample(after, POOL, { backend: "sqlite", pool: "read_workers", state: "waiting" })).toBe(0);
  }, 60_000);
});

const postgres = BACKENDS.find((b) => b.name === "postgres");

describe.skipIf(!postgres || postgres.skip !== null)("PostgreSQL: the connection pool", () => {
  let server: TestServer;
  const SIZE = 4; // test/support/backends.ts opens the pool with 4 connections

  beforeAll(async () => {
    server = await startTestServer({ backend: postgres });
  }, 60_000);
  afterAll(async () => server?.close());

  it("connections in use, idle and callers waiting, with statement time per operation", async () => {
    // The first scrape counts the jobs (a stat on a pooled connection); later ones reuse the count.
    const first = await scrapeMetrics(server.url);
    const labels = { backend: "postgres", pool: "connections" };
    expect(sample(first, POOL, { ...labels, state: "in_use" })).toBe(0);
    expect(sample(first, POOL, { ...labels, state: "waiting" })).toBe(0);
    expect(sample(first, POOL, { ...labels, state: "idle" })).toBeGreaterThanOrEqual(1);

    // Every connection checked out (writes share one transaction under group commit, so they cannot
    // fill the pool), then a write that must wait for one.
    const pool = (server.store as PostgresStore).pool;
    const held = await Promise.all(Array.from({ length: SIZE }, () => pool.connect()));
    const extra = server.app.store.write(async () => "queued");
    try {
      await until(() => pool.waitingCount === 1);
      const text = await scrapeMetrics(server.url);
      expect(sample(text, POOL, { ...labels, state: "in_use" })).toBe(SIZE);
      expect(sample(text, POOL, { ...labels, state: "idle" })).toBe(0);
      expect(sample(text, POOL, { ...labels, state: "waiting" })).toBe(1);
    } finally {
      for (const client of held) client.release();
      await extra;
    }
    await until(() => pool.idleCount === pool.totalCount);
    const after = await scrapeMetrics(server.url);
    expect(sample(after, POOL, { ...labels, state: "in_use" })).toBe(0);
    expect(sample(after, POOL, { ...labels, state: "idle" })).toBe(pool.totalCount);
    expect(sample(after, POOL, { ...labels, state: "waiting" })).toBe(0);
    expect(
      sample(after, "job_service_db_statement_duration_seconds_count", {
        backend: "postgres",
        operation: "write",
      }),
    ).toBe(1);
    expect(
      sample(after, "job_service_db_statement_duration_seconds_count", {
        backend: "postgres",
        operation: "stat",
      }),
    ).toBeGreaterThanOrEqual(1);
  });
});
