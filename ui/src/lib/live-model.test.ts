import { describe, expect, it } from "vitest";
import { type LiveJob, LiveModel, MAX_FINISHED, rateAndEta } from "./live-model.js";

const job = (over: Partial<LiveJob> = {}): LiveJob => ({
  jobId: "job-1",
  status: "IN_PROGRESS",
  pluginId: "p",
  trustedAccountId: "ta",
  workspaceId: "ws",
  createdAt: "2026-06-15T12:00:00.000Z",
  currentStep: "",
  cancelRequestedAt: "",
  version: 1,
  ...over,
});

describe("live model", () => {
  it("a snapshot fills the running list; SYNCED marks it complete", () => {
    const model = new LiveModel();
    model.apply(
      { type: "SNAPSHOT", job: job({ jobId: "b", createdAt: "2026-06-15T12:01:00Z" }), matches: true },
      0,
    );
    model.apply({ type: "SNAPSHOT", job: job({ jobId: "a" }), matches: true }, 0);
    expect(model.synced).toBe(false);
    model.apply({ type: "SYNCED", matches: true }, 0);
    expect(model.synced).toBe(true);
    expect(model.runningRows().map((r) => r.job.jobId)).toEqual(["a", "b"]);
  });

  it("an update replaces the job in place; an older version is ignored", () => {
    const model = new LiveModel();
    model.apply({ type: "CREATED", job: job({ version: 2, progressPercent: 10 }), matches: true }, 0);
    model.apply({ type: "UPDATED", job: job({ version: 4, progressPercent: 50 }), matches: true }, 1000);
    model.apply({ type: "UPDATED", job: job({ version: 3, progressPercent: 30 }), matches: true }, 2000);
    expect(model.runningRows()[0]?.job.progressPercent).toBe(50);
    expect(model.runningCount).toBe(1);
  });

  it("a job that finishes moves to the finished list; a deleted one disappears", () => {
    const model = new LiveModel();
    model.apply({ type: "CREATED", job: job(), matches: true }, 0);
    model.apply({ type: "UPDATED", job: job({ status: "SUCCESS", version: 2 }), matches: false }, 5);
    expect(model.runningCount).toBe(0);
    expect(model.finishedRows().map((r) => [r.job.jobId, r.job.status, r.finishedAt])).toEqual([
      ["job-1", "SUCCESS", 5],
    ]);
    model.apply({ type: "DELETED", job: job({ status: "SUCCESS" }), matches: false }, 6);
    expect(model.finishedRows()).toEqual([]);
  });

  it("keeps at most MAX_FINISHED finished jobs, newest first", () => {
    const model = new LiveModel();
    for (let i = 0; i < MAX_FINISHED + 5; i++) {
      model.apply({ type: "UPDATED", job: job({ jobId: `j${i}`, status: "FAILURE" }), matches: false }, i);
    }
    const rows = model.finishedRows();
    expect(rows).toHaveLength(MAX_FINISHED);
    expect(rows[0]?.job.jobId).toBe(`j${MAX_FINISHED + 4}`);
  });

  it("reset clears the running jobs for a fresh snapshot", () => {
    const model = new LiveModel();
    model.apply({ type: "SNAPSHOT", job: job(), matches: true }, 0);
    model.apply({ type: "SYNCED", matches: true }, 0);
    model.reset();
    expect(model.runningCount).toBe(0);
    expect(model.synced).toBe(false);
  });

  it("rate from records over time, ETA from the records left", () => {
    const model = new LiveModel();
    model.apply(
      {
        type: "UPDATED",
        job: job({ recordsProcessed: 100, recordsTotal: 1000, progressPercent: 10 }),
        matches: true,
      },
      0,
    );
    model.apply(
      {
        type: "UPDATED",
        job: job({ version: 2, recordsProcessed: 300, recordsTotal: 1000, progressPercent: 30 }),
        matches: true,
      },
      10_000,
    );
    const [row] = model.runningRows();
    expect(row?.rate).toBe(20);
    expect(row?.etaSeconds).toBe(35);
  });

  it("samples from before the worker reported (no records) do not hide the rate", () => {
    const model = new LiveModel();
    model.apply({ type: "CREATED", job: job({ status: "PENDING" }), matches: true }, 0);
    model.apply(
      {
        type: "UPDATED",
        job: job({ version: 2, recordsProcessed: 0, recordsTotal: 100, progressPercent: 0 }),
        matches: true,
      },
      1000,
    );
    model.apply(
      {
        type: "UPDATED",
        job: job({ version: 3, recordsProcessed: 50, recordsTotal: 100, progressPercent: 50 }),
        matches: true,
      },
      6000,
    );
    expect(model.runningRows()[0]).toMatchObject({ rate: 10, etaSeconds: 5 });
  });

  it("ETA from the percentage when there are no record counts; nothing from one sample", () => {
    const samples = [
      { at: 0, percent: 20, records: undefined },
      { at: 30_000, percent: 50, records: undefined },
    ];
    expect(rateAndEta(job(), samples)).toEqual({ rate: null, etaSeconds: 50 });
    expect(rateAndEta(job(), samples.slice(0, 1))).toEqual({ rate: null, etaSeconds: null });
  });
});
