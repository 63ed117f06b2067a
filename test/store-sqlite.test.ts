/**
 * The SQLite `JobStore` below the service: the change feed (one row per changed job per committed
 * transaction, in commit order, with the event seq; nothing for a rolled-back one), the commit
 * signal, group commit (concurrent async writers share a transaction but never interleave in it; a
 * failing one fails only itself), reads waiting for an open transaction, typed `key_taken`, and deadlines.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Condition } from "../src/query/ast.js";
import { openDatabase } from "../src/storage/database.js";
import { SqliteStore } from "../src/storage/sqlite/sqlite-store.js";
import { newJob } from "./support/fixture.js";

let store: SqliteStore;
beforeEach(() => {
  store = new SqliteStore(openDatabase({ file: ":memory:" }), {
    ownsConnection: true,
    now: () => new Date("2026-03-15T12:00:00.000Z"),
  });
});
afterEach(() => store.close());

const T = "2026-03-15T00:00:00.000Z";
const scope: Condition[] = [];
const event = (jobId: string, action: string) => ({
  job_id: jobId,
  action,
  from_status: null,
  to_status: "PENDING" as const,
  reason: null,
  actor: "test",
  created_at: T,
});

describe("change feed", () => {
  it("records one row per changed job per transaction, in commit order, with the event seq", async () => {
    expect(await store.changeHead()).toBe(0);
    expect(await store.oldestChange()).toBeNull();
    await store.write(async (tx) => {
      await tx.insert(newJob("job-1"));
      await tx.appendEvent(event("job-1", "create"));
      // Changed again in the same transaction: still one row, still "created".
      await tx.update("job-1", 1, { current_step: "x" });
    });
    await store.write(async (tx) => {
      await tx.update("job-1", 2, { current_step: "y" });
      await tx.insert(newJob("job-2", { workspace_id: "w2" }));
    });
    await store.write(async (tx) => {
      await tx.update("job-1", 3, { status: "IN_PROGRESS" });
      await tx.appendEvent(event("job-1", "start"));
    });
    expect(await store.delete("job-2", scope)).toBe(true);
    const changes = await store.changesAfter(0, 100);
    expect(changes.map((c) => [c.id, c.job_id, c.workspace_id, c.kind, c.event_seq])).toEqual([
      [1, "job-1", "w1", "created", 1],
      [2, "job-1", "w1", "updated", null],
      [3, "job-2", "w2", "created", null],
      [4, "job-1", "w1", "updated", 2],
      [5, "job-2", "w2", "deleted", null],
    ]);
    expect(await store.changeHead()).toBe(5);
    expect(await store.oldestChange()).toBe(1);
    expect((await store.changesAfter(3, 1)).map((c) => c.id)).toEqual([4]);
    expect((await store.jobsByIds(["job-1", "job-2", "job-x"])).map((r) => r.job_id)).toEqual(["job-1"]);
  });

  it("writes nothing for a rolled-back transaction or a delete that found no job", async () => {
    await expect(
      store.write(async (tx) => {
        await tx.insert(newJob("job-1"));
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await store.delete("job-1", scope)).toBe(false);
    expect(await store.changesAfter(0, 10)).toEqual([]);
    expect(await store.jobsByIds(["job-1"])).toEqual([]);
  });

  it("signals each commit with the new head; the list's cursor is the head of its snapshot", async () => {
    const heads: number[] = [];
    const stop = store.onCommit((head) => heads.push(head));
    await store.write(async (tx) => {
      await tx.insert(newJob("job-1"));
      await tx.insert(newJob("job-2"));
    });
    await store.write(async () => undefined); // changes nothing: no signal
    await store.write(async (tx) => tx.update("job-1", 1, { current_step: "a" }));
    stop();
    await store.write(async (tx) => tx.update("job-1", 2, { current_step: "b" }));
    expect(heads).toEqual([2, 3]);
    const list = await store.list({
      where: { and: [], or: [] },
      sort: [],
      page: { offset: 0, limit: 10 },
      only: null,
      countOnly: false,
      unpagedMax: 10,
    });
    expect(list).toMatchObject({ kind: "ok", total: 2, cursor: 4 });
  });

  it("keeps the head after retention dropped every change (ids are never reused)", async () => {
    await store.write(async (tx) => tx.insert(newJob("job-1")));
    expect(await store.write((tx) => tx.dropChanges("2999-01-01T00:00:00.000Z", 100))).toBe(1);
    expect(await store.oldestChange()).toBeNull();
    expect(await store.changeHead()).toBe(1);
    await store.write(async (tx) => tx.insert(newJob("job-2")));
    expect((await store.changesAfter(0, 10)).map((c) => c.id)).toEqual([2]);
  });
});

describe("write queue", () => {
  it("never interleaves two async writers in one transaction, and a failure fails only its caller", async () => {
    const order: string[] = [];
    const slow = store.write(async (tx) => {
      order.push("a:begin");
      await tx.insert(newJob("job-a"));
      await new Promise((resolve) => setTimeout(resolve, 20));
      order.push("a:end");
      throw new Error("a fails");
    });
    const fast = store.write(async (tx) => {
      order.push("b:begin");
      await tx.insert(newJob("job-b"));
      order.push("b:end");
    });
    // A read issued while a's transaction is open must not see a's uncommitted row.
    const read = store.get("job-a", scope);
    await expect(slow).rejects.toThrow("a fails");
    await fast;
    expect(await read).toBeUndefined();
    expect(order).toEqual(["a:begin", "a:end", "b:begin", "b:end"]);
    expect((await store.jobsByIds(["job-a", "job-b"])).map((r) => r.job_id)).toEqual(["job-b"]);
  });

  it("answers a taken idempotency key as a typed result, per (domain, workspace), and the transaction goes on", async () => {
    await store.write(async (tx) => tx.insert(newJob("job-1", { idempotency_key: "k" })));
    const result = await store.write(async (tx) => {
      const taken = await tx.insert(newJob("job-2", { idempotency_key: "k" }));
      const elsewhere = await tx.insert(newJob("job-3", { idempotency_key: "k", workspace_id: "w2" }));
      return [taken.kind, elsewhere.kind];
    });
    expect(result).toEqual(["key_taken", "inserted"]);
    expect((await store.jobsByIds(["job-1", "job-2", "job-3"])).map((r) => r.job_id).sort()).toEqual([
      "job-1",
      "job-3",
    ]);
  });
});

describe("deadlines", () => {
  it("refuses a read whose deadline has passed or whose signal is aborted, with deadline_exceeded", async () => {
    // `get` answers at once on SQLite (store.ts), its refusals too: thrown, not a rejected promise.
    expect(() => store.get("job-1", scope, { deadline: Date.now() - 1 })).toThrow(
      expect.objectContaining({ status: "deadline_exceeded" }),
    );
    expect(() => store.get("job-1", scope, { signal: AbortSignal.abort() })).toThrow(
      expect.objectContaining({ status: "deadline_exceeded" }),
    );
    // The reads that always give a promise refuse by rejecting it.
    await expect(store.tombstone("job-1", scope, { deadline: Date.now() - 1 })).rejects.toMatchObject({
      status: "deadline_exceeded",
    });
  });

  it("answers get at once, and as a promise while a write transaction is open", async () => {
    await store.write(async (tx) => {
      await tx.insert(newJob("job-1", {}));
    });
    const now = store.get("job-1", scope);
    expect(now).not.toBeInstanceOf(Promise);
    expect((now as { job_id: string }).job_id).toBe("job-1");
    let later: unknown;
    await store.write(async (tx) => {
      later = store.get("job-1", scope);
      await tx.update("job-1", 1, { records_processed: 3 });
    });
    expect(later).toBeInstanceOf(Promise);
    // It waited for the transaction: it sees the update.
    expect(await later).toMatchObject({ job_id: "job-1", records_processed: 3, version: 2 });
  });
});

describe("the versioned update", () => {
  it("answers the row as stored after it, finished times and the computed duration included", async () => {
    await store.write(async (tx) => {
      await tx.insert(newJob("job-1", { started_at: T }));
    });
    const answered = await store.write((tx) =>
      tx.update("job-1", 1, {
        status: "SUCCESS",
        finished_at: "2026-03-15T00:00:01.500Z",
        records_processed: 7,
        current_step: null,
      }),
    );
    const stored = await store.get("job-1", scope);
    expect(answered).toEqual(stored);
    expect(answered.version).toBe(2);
    expect(answered.duration_seconds).toBe(1.5);
  });

  it("refuses a moved version and leaves the row as it was", async () => {
    await store.write(async (tx) => {
      await tx.insert(newJob("job-1"));
    });
    const before = await store.get("job-1", scope);
    await expect(store.write((tx) => tx.update("job-1", 5, { current_step: "late" }))).rejects.toMatchObject({
      code: "ERROR_VERSION_MISMATCH",
    });
    expect(await store.get("job-1", scope)).toEqual(before);
  });
});
