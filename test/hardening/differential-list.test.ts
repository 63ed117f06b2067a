/**
 * Differential testing of `Job.list`: thousands of generated valid queries run through the real service
 * (parser, compiler, SQLite) and through the in-memory reference evaluator (`reference/list-reference.ts`,
 * written from the spec and docs/decisions.md, sharing no code with src/query or src/storage). Rows,
 * their order, the page and `total_count` must be identical; the two deliberate errors (a page limit
 * over the maximum, an unpaged list matching more than it) must both be `invalid_argument`.
 *
 * Deterministic: fixed seeds for the data and for fast-check (`DIFF_SEED` shifts them, `DIFF_RUNS` sets
 * the runs per data set, for bug hunting). A failure prints the seed, the path and the shrunk
 * counterexample; keep fixed ones in `differential-list-regressions.test.ts`.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKENDS } from "../support/backends.js";
import { callerArb, listRequestArb } from "./arbitraries/list-query.js";
import { checkCase, MAX_PAGE_SIZE, type Subject, subjectOn } from "./differential-harness.js";

/** Data seeds; each gets its own job set and share of the runs. */
const DATASETS = [
  { seed: 101, jobs: 300 },
  { seed: 202, jobs: 240 },
  { seed: 303, jobs: 180 },
  { seed: 404, jobs: 400 },
];
const RUNS_PER_DATASET = Number(process.env.DIFF_RUNS ?? 600);
const SEED_SHIFT = Number(process.env.DIFF_SEED ?? 0);

const counts = { cases: 0, nonEmpty: 0, refused: 0 };

describe.each(BACKENDS)("on $name", (backend) => {
  describe.skipIf(backend.skip !== null).each(DATASETS)(
    "list agrees with the reference (data seed $seed, $jobs jobs)",
    ({ seed, jobs }) => {
      let s: (Subject & { close(): Promise<void> }) | undefined;
      beforeAll(async () => {
        s = await subjectOn(backend, seed, jobs);
      });
      afterAll(() => s?.close());

      it(`${RUNS_PER_DATASET} generated queries`, async () => {
        const subject = s as Subject;
        expect(subject.jobs.length).toBe(jobs);
        await fc.assert(
          fc.asyncProperty(callerArb, listRequestArb(MAX_PAGE_SIZE), async (caller, request) => {
            const expected = await checkCase(subject, caller, request);
            counts.cases++;
            if (expected.kind === "invalid") counts.refused++;
            else if (expected.total_count > 0) counts.nonEmpty++;
          }),
          { seed: seed * 7919 + SEED_SHIFT, numRuns: RUNS_PER_DATASET },
        );
      });
    },
  );
});

afterAll(() => {
  // The numbers docs/testing.md reports.
  console.info(`differential-list: ${JSON.stringify(counts)}`);
});
