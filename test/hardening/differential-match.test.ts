/**
 * Differential testing of the in-memory matcher (`src/query/match.ts`, what `watch` filters with)
 * against the SQL compiler (what `list` runs): generated callers and requests over generated jobs,
 * the watch request's whole filter (scope, shortcut fields, query) evaluated both ways, and the sets
 * of matching jobs must be identical. The rows the matcher reads are the store's own (so the types
 * are exactly what the database returns, generated `duration_seconds` included).
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { SpaceOneError } from "../../src/errors.js";
import type { Where } from "../../src/query/ast.js";
import { parseWatchRequest, type WatchRequest } from "../../src/service/watch/watch-request.js";
import type { JobRow } from "../../src/storage/schema.js";
import { collectRows } from "../../src/storage/store.js";
import { generateRefJobs, storeWith } from "./arbitraries/jobs.js";
import { callerArb, listRequestArb } from "./arbitraries/list-query.js";
import { NOW_MS } from "./arbitraries/values.js";
import { MAX_PAGE_SIZE, principalFor } from "./differential-harness.js";

const DATASETS = [
  { seed: 101, jobs: 300 },
  { seed: 404, jobs: 400 },
];
const RUNS_PER_DATASET = Number(process.env.DIFF_RUNS ?? 600);
const counts = { cases: 0, nonEmpty: 0, partial: 0 };

/** What a watch filter cannot carry (a stream has no page or order). */
function forWatch(request: Record<string, unknown>): WatchRequest {
  const query = { ...((request.query as Record<string, unknown>) ?? {}) };
  for (const key of ["page", "sort", "count_only", "minimal", "only"]) delete query[key];
  return { ...request, query } as WatchRequest;
}

describe.each(DATASETS)("the matcher agrees with SQL (data seed $seed, $jobs jobs)", ({ seed, jobs }) => {
  const store = storeWith(generateRefJobs(seed, jobs));
  const sqlMatches = async (where: Where): Promise<string[]> => {
    const result = await store.list({
      where,
      sort: [],
      page: { offset: 0, limit: null },
      only: null,
      countOnly: false,
      unpagedMax: 1_000_000,
    });
    if (result.kind !== "ok") throw new Error("unpaged list refused");
    return (await collectRows(result.rows)).map((r) => r.job_id).sort();
  };

  it(`${RUNS_PER_DATASET} generated filters`, async () => {
    const all = await store.list({
      where: { and: [], or: [] },
      sort: [],
      page: { offset: 0, limit: null },
      only: null,
      countOnly: false,
      unpagedMax: 1_000_000,
    });
    if (all.kind !== "ok") throw new Error("unpaged list refused");
    const rows: JobRow[] = await collectRows(all.rows);
    expect(rows).toHaveLength(jobs);
    const samples = fc.sample(fc.tuple(callerArb, listRequestArb(MAX_PAGE_SIZE)), {
      seed: seed * 7919,
      numRuns: RUNS_PER_DATASET,
    });
    for (const [caller, request] of samples) {
      let spec: ReturnType<typeof parseWatchRequest>;
      try {
        spec = parseWatchRequest(principalFor(caller), forWatch(request), {
          now: new Date(NOW_MS),
          maxPageSize: MAX_PAGE_SIZE,
        });
      } catch (error) {
        if (error instanceof SpaceOneError && error.status === "invalid_argument") continue;
        throw error;
      }
      const expected = await sqlMatches(spec.where);
      const actual = rows
        .filter((row) => spec.predicate(row))
        .map((r) => r.job_id)
        .sort();
      expect(actual, JSON.stringify({ caller, request })).toEqual(expected);
      counts.cases++;
      if (expected.length > 0) counts.nonEmpty++;
      if (expected.length > 0 && expected.length < rows.length) counts.partial++;
    }
    expect(counts.cases).toBeGreaterThan(RUNS_PER_DATASET / 2);
    expect(counts.partial).toBeGreaterThan(0);
  });
});

afterAll(() => {
  console.info(`differential-match: ${JSON.stringify(counts)}`);
});
