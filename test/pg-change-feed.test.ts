/**
 * The PostgreSQL change feed is commit-ordered: with two instances (two pools) writing concurrently
 * and a reader that polls "changes after my cursor" as fast as it can, the reader receives every
 * change exactly once, each job's events in version order, and LISTEN/NOTIFY wakes a subscriber of
 * one instance for commits of the other.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { openPostgresStore } from "../src/storage/dialect/postgres/open.js";
import type { PostgresStore } from "../src/storage/dialect/postgres/postgres-store.js";
import type { JobChange } from "../src/storage/store.js";
import { newJob } from "./support/fixture.js";
import { createTestDatabase, describePostgres, type TestDatabase } from "./support/postgres.js";

const NOW = "2026-01-01T00:00:00.000Z";

describePostgres("PostgreSQL change feed", () => {
  let db: TestDatabase;
  let a: PostgresStore;
  let b: PostgresStore;

  beforeAll(async () => {
    db = await createTestDatabase();
    const options = { url: db.url, size: 6, statementTimeoutMs: 10_000, connectTimeoutMs: 5000 };
    [a, b] = await Promise.all([openPostgresStore(options), openPostgresStore(options)]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await db?.drop();
  });

  async function createJob(store: PostgresStore, id: string): Promise<void> {
    await store.write(async (tx) => {
      const result = await tx.insert(
        newJob(id, { trusted_account_id: `ta-${id}`, created_at: NOW, updated_at: NOW }),
      );
      expect(result.kind).toBe("inserted");
      await tx.appendEvent({
        job_id: id,
        action: "create",
        from_status: null,
        to_status: "PENDING",
        reason: null,
        actor: "test",
        created_at: NOW,
      });
    });
  }

  async function bump(store: PostgresStore, id: string): Promise<void> {
    await store.write(async (tx) => {
      const row = await tx.find(id, []);
      if (!row) throw new Error(`missing ${id}`);
      await tx.update(id, row.version as number, { current_step: `v${row.version}` });
      await tx.appendEvent({
        job_id: id,
        action: "report_progress",
        from_status: row.status,
        to_status: row.status,
        reason: null,
        actor: "test",
        created_at: NOW,
      });
    });
  }

  it("a reader polling during concurrent writes on two instances sees every change once, in each job's order", async () => {
    const jobs = Array.from({ length: 8 }, (_, i) => `job-${String(i).padStart(12, "0")}`);
    const seen: JobChange[] = [];
    let cursor = await a.changeHead();
    let writing = true;
    const reader = (async () => {
      while (writing) {
        const batch = await b.changesAfter(cursor, 1000);
        for (const change of batch) seen.push(change);
        if (batch.length > 0) cursor = (batch[batch.length - 1] as JobChange).id;
      }
    })();
    await Promise.all(
      jobs.map(async (id, i) => {
        const store = i % 2 === 0 ? a : b;
        await createJob(store, id);
        for (let n = 0; n < 25; n++) await bump(n % 2 === 0 ? a : b, id);
      }),
    );
    writing = false;
    await reader;
    for (;;) {
      const batch = await b.changesAfter(cursor, 1000);
      if (batch.length === 0) break;
      seen.push(...batch);
      cursor = (batch[batch.length - 1] as JobChange).id;
    }
    const all = await a.changesAfter(0, 10_000);
    expect(all).toHaveLength(jobs.length * 26);
    // Exactly once: the poller's ids are all the ids, no duplicate, increasing.
    expect(seen.map((c) => c.id)).toEqual(all.map((c) => c.id));
    // Per job: created first, then event seqs 2..26 in order.
    for (const id of jobs) {
      const mine = seen.filter((c) => c.job_id === id);
      expect(mine.map((c) => c.kind)).toEqual(["created", ...Array(25).fill("updated")]);
      expect(mine.map((c) => c.event_seq)).toEqual(Array.from({ length: 26 }, (_, i) => i + 1));
    }
  });

  it("a commit on one instance wakes a subscriber on the other (LISTEN/NOTIFY)", async () => {
    const heads: number[] = [];
    const unsubscribe = a.onCommit((head) => heads.push(head));
    await a.listening();
    heads.length = 0;
    await createJob(b, "job-notify00000");
    const head = await b.changeHead();
    const deadline = Date.now() + 5000;
    while (!heads.includes(head) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    unsubscribe();
    expect(heads).toContain(head);
  });
});
