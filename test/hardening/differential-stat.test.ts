/**
 * Differential testing of `Job.stat`: generated pipelines (group with column and date keys and every
 * scalar accumulator, conditions, sorts before and after the group, limit, skip, count, paging, and
 * `distinct`) over generated jobs, through the real service and through the reference
 * (`reference/stat-reference.ts`). Results, their order and `total_count` must match; sums and
 * averages to floating-point rounding (SQLite may add in another order).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SpaceOneError } from "../../src/errors.js";
import { BACKENDS } from "../support/backends.js";
import { callerArb } from "./arbitraries/list-query.js";
import { statQueryArb } from "./arbitraries/stat-query.js";
import { NOW_MS } from "./arbitraries/values.js";
import { MAX_PAGE_SIZE, principalFor, type Subject, subjectOn } from "./differential-harness.js";
import { referenceStat } from "./reference/stat-reference.js";

const DATASETS = [
  { seed: 111, jobs: 300 },
  { seed: 222, jobs: 200 },
];
const RUNS_PER_DATASET = Number(process.env.DIFF_RUNS ?? 400);
const SEED_SHIFT = Number(process.env.DIFF_SEED ?? 0);
const counts = { cases: 0, refused: 0 };

/** Deep equality where numbers may differ by floating-point rounding. */
function close(actual: unknown, expected: unknown, at = "$"): string | null {
  if (typeof actual === "number" && typeof expected === "number") {
    return Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected))
      ? null
      : `${at}: ${actual} != ${expected}`;
  }
  if (Array.isArray(actual) && Array.isArray(expected)) {
    if (actual.length !== expected.length) return `${at}: length ${actual.length} != ${expected.length}`;
    for (let i = 0; i < actual.length; i++) {
      const d = close(actual[i], expected[i], `${at}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (actual && expected && typeof actual === "object" && typeof expected === "object") {
    const keys = new Set([...Object.keys(actual), ...Object.keys(expected)]);
    for (const k of keys) {
      const d = close(
        (actual as Record<string, unknown>)[k],
        (expected as Record<string, unknown>)[k],
        `${at}.${k}`,
      );
      if (d) return d;
    }
    return null;
  }
  return Object.is(actual, expected)
    ? null
    : `${at}: ${JSON.stringify(actual)} != ${JSON.stringify(expected)}`;
}

describe.each(BACKENDS)("on $name", (backend) => {
  describe.skipIf(backend.skip !== null).each(DATASETS)(
    "stat agrees with the reference (data seed $seed, $jobs jobs)",
    ({ seed, jobs }) => {
      let s: (Subject & { close(): Promise<void> }) | undefined;
      beforeAll(async () => {
        s = await subjectOn(backend, seed, jobs);
      });
      afterAll(() => s?.close());

      it(`${RUNS_PER_DATASET} generated pipelines`, async () => {
        const subject = s as Subject;
        expect(subject.jobs.length).toBe(jobs);
        await fc.assert(
          fc.asyncProperty(callerArb, statQueryArb(MAX_PAGE_SIZE), async (caller, query) => {
            const expected = referenceStat(subject.jobs, caller, query, {
              now: NOW_MS,
              maxPageSize: MAX_PAGE_SIZE,
            });
            let actual: unknown;
            try {
              actual = await subject.service.stat(principalFor(caller), { query: query as never });
            } catch (error) {
              if (!(error instanceof SpaceOneError)) throw error;
              actual = { error: error.status, message: error.message };
            }
            counts.cases++;
            if (expected.kind === "invalid") {
              counts.refused++;
              expect(actual, expected.why).toMatchObject({ error: "invalid_argument" });
              return;
            }
            const difference = close(actual, expected.body);
            expect(
              difference,
              `${difference}\nactual:   ${JSON.stringify(actual)}\nexpected: ${JSON.stringify(expected.body)}`,
            ).toBeNull();
          }),
          { seed: seed * 104_729 + SEED_SHIFT, numRuns: RUNS_PER_DATASET },
        );
      });
    },
  );
});

afterAll(() => {
  console.info(`differential-stat: ${JSON.stringify(counts)}`);
});
