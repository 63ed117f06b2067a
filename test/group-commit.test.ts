/**
 * Group commit on both backends: concurrent writes share one transaction, each caller gets its own
 * answer only after that transaction committed, a failing write (its callback throws, or one of its
 * statements fails) fails only its caller and leaves no trace, and the change feed still holds one
 * row per changed job, in commit order, pointing at the newest timeline entry.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { SpaceOneError } from "../src/errors.js";
import type { SqliteStore } from "../src/storage/sqlite/sqlite-store.js";
import { BACKENDS, type TestStore } from "./support/backends.js";
import { newJob } from "./support/fixture.js";
import {
  admin,
  type BackendHarness,
  closeSharedStores,
  harnessOn,
  T0,
  worker,
  wsJob,
} from "./support/lifecycle.js";

/** Settled results, failures as their SpaceOne code (or the error's message). */
async function outcomes(calls: readonly Promise<unknown>[]): Promise<unknown[]> {
  const settled = await Promise.allSettled(calls);
  return settled.map((s) => {
    if (s.status === "fulfilled") return s.value;
    const e = s.reason;
    return e instanceof SpaceOneError ? `${e.status}:${e.code}` : `error:${(e as Error).message}`;
  });
}

describe.each(BACKENDS)("group commit on $name", (backend) => {
  if (backend.skip) {
    it.skip(`skipped: ${backend.skip}`, () => {});
    return;
  }

  describe("the store", () => {
    let t: TestStore;
    beforeEach(async () => {
      t = await backend.open({ now: () => T0 });
    });
    afterEach(() => t?.close());

    /** True when the caller is answered with the write committed (seen from outside the transaction). */
    const committed = async (jobId: string): Promise<boolean> => {
      if (backend.name === "sqlite") {
        // One connection: no transaction may be open when a caller hears its answer.
        const db = (t.store as SqliteStore).db;
        return (
          !db.inTransaction && db.prepare("SELECT 1 FROM jobs WHERE job_id = ?").get(jobId) !== undefined
        );
      }
      return (await t.sql("SELECT 1 AS one FROM jobs WHERE job_id = ?", [jobId])).length === 1;
    };

    it("runs N concurrent writes in one transaction; each failure fails only its own caller", async () => {
      const store = t.store;
      await store.write(async (tx) => tx.insert(newJob("job-existing")));
      const heads: number[] = [];
      const unsubscribe = store.onCommit((head) => heads.push(head));
      const before = await store.changeHead();

      const seenCommitted: Record<string, boolean> = {};
      const insert = (id: string) =>
        store
          .write(async (tx) => {
            const result = await tx.insert(newJob(id));
            return result.kind;
          })
          .then(async (kind) => {
            seenCommitted[id] = await committed(id);
            return kind;
          });
      const calls = [
        insert("job-g0"),
        insert("job-g1"),
        // Writes, then its callback throws: its insert must be undone.
        store.write(async (tx) => {
          await tx.insert(newJob("job-g2"));
          throw new Error("g2 changed its mind");
        }),
        insert("job-g3"),
        // A statement that fails in the database (the job id is taken): the constraint error is its own.
        store.write(async (tx) => tx.insert(newJob("job-existing"))),
        insert("job-g5"),
        // A stale version: the versioned update finds nothing to change.
        store.write(async (tx) => tx.update("job-existing", 99, { current_step: "stale" })),
        // A write that succeeds after the failures, changing a job an earlier write of the group created.
        store.write(async (tx) => {
          const row = await tx.find("job-g0", []);
          if (!row) throw new Error("job-g0 must be visible to a later write of the same group");
          return (await tx.update("job-g0", row.version as number, { current_step: "second" })).version;
        }),
      ];
      const results = await outcomes(calls);
      unsubscribe();

      expect(results[0]).toBe("inserted");
      expect(results[1]).toBe("inserted");
      expect(results[2]).toBe("error:g2 changed its mind");
      expect(results[3]).toBe("inserted");
      expect(String(results[4])).toMatch(/^error:.*(UNIQUE|unique|duplicate)/);
      expect(results[5]).toBe("inserted");
      expect(results[6]).toBe("aborted:ERROR_VERSION_MISMATCH");
      expect(results[7]).toBe(2);
      // Answered only after the commit.
      expect(seenCommitted).toEqual({ "job-g0": true, "job-g1": true, "job-g3": true, "job-g5": true });

      // The successes are all there, the failures left nothing.
      const ids = (await t.rows()).map((r) => r.job_id);
      expect(ids.sort()).toEqual(["job-existing", "job-g0", "job-g1", "job-g3", "job-g5"]);
      expect((await t.rows()).find((r) => r.job_id === "job-existing")?.current_step ?? null).toBeNull();

      // One transaction: one new head for the whole group (PostgreSQL may repeat it via NOTIFY, and
      // its listener reports the head it started at).
      const newHeads = new Set(heads.filter((head) => head > before));
      expect(newHeads.size).toBe(1);
      // One change row per changed job, "created" even for the job changed again in the group.
      const changes = await store.changesAfter(before, 100);
      expect(changes.map((c) => [c.job_id, c.kind])).toEqual([
        ["job-g0", "created"],
        ["job-g1", "created"],
        ["job-g3", "created"],
        ["job-g5", "created"],
      ]);
      expect(changes.at(-1)?.id).toBe([...newHeads][0]);
    });

    it("a group larger than one transaction takes is split, and every caller is answered", async () => {
      const n = 300;
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          t.store.write(async (tx) => (await tx.insert(newJob(`job-${i}`))).kind),
        ),
      );
      expect(results.length).toBe(n);
      expect(results.every((r) => r === "inserted")).toBe(true);
      expect((await t.rows()).length).toBe(n);
      expect((await t.store.changesAfter(0, 1000)).length).toBe(n);
    });
  });

  describe("the lifecycle rpcs", () => {
    let h: BackendHarness;
    beforeEach(async () => {
      h = await harnessOn(backend);
    });
    afterEach(() => h?.close());
    afterAll(() => closeSharedStores());

    it("concurrent reports, transitions and refusals are each answered as if run alone, in order", async () => {
      const lc = h.app.lifecycle;
      const jobs: string[] = [];
      for (let i = 0; i < 4; i++) {
        const job = await lc.create(worker, wsJob(`ta-g${i}`));
        await lc.start(worker, { job_id: job.job_id });
        jobs.push(job.job_id as string);
      }
      const pending = (await lc.create(worker, wsJob("ta-pending"))).job_id as string;
      const [a, b, c, d] = jobs as [string, string, string, string];
      const before = await h.app.store.changeHead();

      const results = await outcomes([
        lc.reportProgress(worker, { job_id: a, records_processed: 10 }).then((j) => j.version),
        lc.reportProgress(worker, { job_id: b, records_processed: 5 }).then((j) => j.version),
        lc.reportProgress(worker, { job_id: b, records_processed: 7 }).then((j) => j.version),
        // Version 2 was current a moment ago; the report on `a` above moved it on.
        lc.reportProgress(worker, { job_id: a, records_processed: 11, expected_version: 2 }),
        lc.succeed(worker, { job_id: pending }),
        lc.reportProgress(worker, { job_id: "job-000000000000", records_processed: 1 }),
        lc.cancel(admin, { job_id: c, reason: "stop" }).then((j) => j.version),
        lc.succeed(worker, { job_id: d }).then((j) => j.status),
        lc.reportProgress(worker, { job_id: d, records_processed: 1 }),
      ]);
      expect(results).toEqual([
        3,
        3,
        4,
        "aborted:ERROR_VERSION_MISMATCH",
        "failed_precondition:ERROR_JOB_STATE",
        "not_found:ERROR_NOT_FOUND",
        3,
        "SUCCESS",
        "failed_precondition:ERROR_JOB_STATE",
      ]);

      expect((await h.row(a)).records_processed).toBe(10);
      expect((await h.row(b)).records_processed).toBe(7);
      expect((await h.row(b)).version).toBe(4);
      expect((await h.row(d)).status).toBe("SUCCESS");
      expect((await h.row(pending)).status).toBe("PENDING");

      // Timelines gap-free; the change feed has one row per changed job pointing at its newest entry.
      const changes = await h.app.store.changesAfter(before, 100);
      expect(changes.map((ch) => ch.job_id).sort()).toEqual([a, b, c, d].sort());
      for (const change of changes) {
        const events = (await lc.listEvents(admin, { job_id: change.job_id })).results;
        expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
        const expected = change.job_id === c || change.job_id === d ? (events.at(-1)?.seq ?? null) : null;
        expect(change.event_seq).toBe(expected);
      }
      expect(changes.map((ch) => ch.id)).toEqual([...changes.map((ch) => ch.id)].sort((x, y) => x - y));
    });
  });
});
