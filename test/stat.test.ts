/**
 * `Job.stat` end to end below the wire: realistic console queries (docs/compatibility.md, "Stat") run through
 * parse-stat -> compile-stat -> SQLite against seeded jobs, every number checked against an
 * independent computation in TypeScript over the same rows (read back from the table, so columns
 * the schema derives, like duration_seconds, are the stored ones).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SpaceOneError } from "../src/errors.js";
import type { Condition } from "../src/query/ast.js";
import { DEFAULT_QUERY_LIMITS } from "../src/query/cost.js";
import { FIRST_SEED_DOMAIN, generateJobs } from "../src/seed/generate.js";
import { JOB_RULES, scopeConditions } from "../src/service/job-rules.js";
import { runStat, type StatContext } from "../src/service/job-stat.js";
import type { JsonObject } from "../src/service/job-view.js";
import type { JobStore } from "../src/storage/store.js";
import { BACKENDS, type TestStore } from "./support/backends.js";

const NOW = new Date("2025-06-15T12:00:00.000Z");
const CTX: StatContext = { now: NOW, maxPageSize: 500 };
/** For the tests of several unwinds in a row: the cost model allows one by default (docs/limits.md). */
const TWO_UNWINDS: StatContext = { ...CTX, limits: { ...DEFAULT_QUERY_LIMITS, maxUnwinds: 2 } };
const RECENT = "2025-06-01T00:00:00.000Z";

interface Options {
  provider?: string;
  regions?: string[];
  retry?: number;
  sync_options?: { skip_project_group?: boolean };
}

interface Job {
  seq: number;
  job_id: string;
  status: string;
  options: Options | null;
  domain_id: string;
  workspace_id: string;
  trusted_account_id: string;
  plugin_id: string | null;
  created_at: string;
  finished_at: string | null;
  duration_seconds: number | null;
}

let store: JobStore;
let opened: TestStore | undefined;
let jobs: Job[];
let workspace: string;
let otherDomain: string;

// ---- helpers ------------------------------------------------------------------------------------

const domainScope = (domainId = FIRST_SEED_DOMAIN): Condition[] =>
  scopeConditions({ domainId, workspaceId: null, rule: JOB_RULES.stat });
const workspaceScope = (): Condition[] =>
  scopeConditions({ domainId: FIRST_SEED_DOMAIN, workspaceId: workspace, rule: JOB_RULES.stat });

const inDomain = (j: Job) => j.domain_id === FIRST_SEED_DOMAIN;
const recent = (j: Job) => inDomain(j) && j.created_at >= RECENT;

async function stat(
  query: unknown,
  scope: Condition[] = domainScope(),
  ctx: StatContext = CTX,
): Promise<JsonObject> {
  return await runStat(store, scope, { query: query as JsonObject }, ctx);
}

async function results(query: unknown, scope?: Condition[], ctx?: StatContext): Promise<JsonObject[]> {
  return (await stat(query, scope, ctx)).results as JsonObject[];
}

function count<K>(rows: readonly Job[], key: (j: Job) => K): Map<K, number> {
  const out = new Map<K, number>();
  for (const row of rows) out.set(key(row), (out.get(key(row)) ?? 0) + 1);
  return out;
}

/** Rows grouped by a key, groups in ascending key order (the stat's group order), rows in input order. */
function groups<K extends string | number>(rows: readonly Job[], key: (j: Job) => K): [K, Job[]][] {
  const out = new Map<K, Job[]>();
  for (const row of rows) {
    const k = key(row);
    const list = out.get(k) ?? [];
    list.push(row);
    out.set(k, list);
  }
  return [...out.entries()].sort((a, b) => compare(a[0], b[0]));
}

function compare(a: string | number, b: string | number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The stream order of jobs entering the pipeline: newest first, then the later insert first. */
function stream(rows: readonly Job[]): Job[] {
  return [...rows].sort((a, b) => compare(b.created_at, a.created_at) || b.seq - a.seq);
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function mean(values: readonly number[]): number | null {
  return values.length === 0 ? null : sum(values) / values.length;
}

function distinctSorted<T extends string | number>(values: readonly T[]): T[] {
  return [...new Set(values)].sort(compare);
}

async function badInput(
  query: unknown,
  path: string,
  code = "ERROR_INVALID_PARAMETER",
): Promise<SpaceOneError> {
  let error: unknown;
  try {
    await stat(query);
  } catch (e) {
    error = e;
  }
  expect(error, `expected ${JSON.stringify(query)} to fail`).toBeInstanceOf(SpaceOneError);
  const e = error as SpaceOneError;
  expect(e.status).toBe("invalid_argument");
  expect(e.code).toBe(code);
  expect(e.message).toContain(path);
  return e;
}

const group = (keys: unknown[], fields: unknown[] = []) => ({ group: { keys, fields } });

describe.each(BACKENDS)("on $name", (backend) => {
  beforeAll(async () => {
    if (backend.skip) return;
    opened = await backend.open();
    await opened.insertJobs([...generateJobs({ count: 4000, seed: 11, now: NOW })]);
    store = opened.store;
    jobs = ((await opened.rows()) as unknown as Record<string, unknown>[]).map((r) => ({
      ...(r as unknown as Job),
      options: r.options === null ? null : (JSON.parse(r.options as string) as Options),
    }));
    // The busiest workspace of the first domain, and another domain.
    const counts = count(
      jobs.filter((j) => j.domain_id === FIRST_SEED_DOMAIN && j.workspace_id !== "*"),
      (j) => j.workspace_id,
    );
    workspace = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] as string;
    otherDomain = jobs.find((j) => j.domain_id !== FIRST_SEED_DOMAIN)?.domain_id as string;
  });

  afterAll(() => opened?.close());
  if (backend.skip) it.skip(`skipped: ${backend.skip}`, () => {});
  else {
    // ---- the console's queries ----------------------------------------------------------------------

    describe("group", () => {
      it("counts jobs by status, most first (the summary tile)", async () => {
        const res = await stat({
          aggregate: [
            group([{ key: "status", name: "status" }], [{ operator: "count", name: "count" }]),
            { sort: [{ key: "count", desc: true }] },
          ],
        });
        const expected = groups(jobs.filter(inDomain), (j) => j.status)
          .map(([status, rows]) => ({ status, count: rows.length }))
          .sort((a, b) => b.count - a.count);
        expect(res).toEqual({ results: expected });
        expect(sum(expected.map((r) => r.count))).toBe(jobs.filter(inDomain).length);
      });

      it("answers every group operator per plugin over the last two weeks", async () => {
        const rows = await results({
          filter: [{ k: "created_at", v: RECENT, o: "datetime_gte" }],
          aggregate: [
            group(
              [{ k: "plugin_id", n: "plugin" }],
              [
                { o: "count", n: "jobs" },
                { o: "sum", k: "options.retry", n: "retries" },
                { o: "average", k: "duration_seconds", n: "avg_duration" },
                { o: "max", k: "created_at", n: "latest" },
                { o: "min", k: "finished_at", n: "first_finished" },
                { o: "max", k: "options.provider", n: "max_provider" },
                { o: "min", k: "duration_seconds", n: "shortest" },
                { o: "first", k: "job_id", n: "first_job" },
                { o: "last", k: "job_id", n: "last_job" },
                { o: "first", k: "options.regions", n: "first_regions" },
                { o: "add_to_set", k: "options.provider", n: "providers" },
                { o: "add_to_set", k: "status", n: "statuses" },
                { o: "merge_objects", k: "options.sync_options", n: "sync" },
                { o: "push", k: "job_id", n: "ids" },
                {
                  o: "push",
                  n: "runs",
                  fields: [
                    { k: "job_id", n: "id" },
                    { k: "created_at", n: "at" },
                    { k: "options.retry", n: "retry" },
                  ],
                },
              ],
            ),
          ],
        });
        const expected = groups(jobs.filter(recent), (j) => j.plugin_id ?? "");
        expect(rows.map((r) => r.plugin)).toEqual(expected.map(([plugin]) => plugin));
        expect(expected.length).toBeGreaterThan(2);
        for (const [i, [, members]] of expected.entries()) {
          const row = rows[i] as JsonObject;
          const ordered = stream(members);
          const durations = members.map((j) => j.duration_seconds).filter((d): d is number => d !== null);
          const finished = members.map((j) => j.finished_at).filter((f): f is string => f !== null);
          expect(row.jobs).toBe(members.length);
          expect(row.retries).toBe(sum(members.map((j) => j.options?.retry ?? 0)));
          expect(row.avg_duration).toBeCloseTo(mean(durations) as number, 6);
          expect(row.latest).toBe(
            members
              .map((j) => j.created_at)
              .sort()
              .at(-1),
          );
          expect(row.first_finished).toBe(finished.length ? finished.sort()[0] : null);
          expect(row.max_provider).toBe(
            distinctSorted(members.flatMap((j) => j.options?.provider ?? [])).at(-1) ?? null,
          );
          expect(row.shortest).toBe(durations.length ? Math.min(...durations) : null);
          expect(row.first_job).toBe(ordered[0]?.job_id);
          expect(row.last_job).toBe(ordered.at(-1)?.job_id);
          expect(row.first_regions).toEqual(ordered[0]?.options?.regions ?? null);
          expect(row.providers).toEqual(distinctSorted(members.flatMap((j) => j.options?.provider ?? [])));
          expect(row.statuses).toEqual(distinctSorted(members.map((j) => j.status)));
          const merged: Record<string, unknown> = {};
          for (const j of ordered) Object.assign(merged, j.options?.sync_options ?? {});
          expect(row.sync).toEqual(merged);
          expect(row.ids).toEqual(ordered.map((j) => j.job_id));
          expect(row.runs).toEqual(
            ordered.map((j) => ({ id: j.job_id, at: j.created_at, retry: j.options?.retry ?? null })),
          );
        }
      });

      it("applies conditions on count, sum and average (not = not equal)", async () => {
        const rows = await results({
          aggregate: [
            group(
              [{ key: "trusted_account_id", name: "account" }],
              [
                { operator: "count", name: "jobs" },
                {
                  operator: "count",
                  name: "failures",
                  conditions: [{ key: "status", value: "FAILURE", operator: "eq" }],
                },
                {
                  operator: "count",
                  name: "not_success",
                  conditions: [{ k: "status", v: "SUCCESS", o: "not" }],
                },
                {
                  operator: "count",
                  name: "may_successes",
                  conditions: [
                    { key: "status", value: "SUCCESS", operator: "eq" },
                    { key: "created_at", value: "2025-05-01T00:00:00Z", operator: "gte" },
                    { key: "created_at", value: "2025-06-01T00:00:00Z", operator: "lt" },
                  ],
                },
                {
                  operator: "sum",
                  key: "options.retry",
                  name: "failed_retries",
                  conditions: [{ key: "status", value: "FAILURE", operator: "eq" }],
                },
                {
                  operator: "average",
                  key: "duration_seconds",
                  name: "failure_weighted_duration",
                  conditions: [{ key: "status", value: "FAILURE", operator: "eq" }],
                },
                {
                  operator: "count",
                  name: "retried",
                  conditions: [{ key: "options.retry", value: 0, operator: "gt" }],
                },
              ],
            ),
          ],
        });
        const expected = groups(jobs.filter(inDomain), (j) => j.trusted_account_id);
        expect(rows).toHaveLength(expected.length);
        for (const [i, [account, members]] of expected.entries()) {
          const row = rows[i] as JsonObject;
          const failed = members.filter((j) => j.status === "FAILURE");
          expect(row.account).toBe(account);
          expect(row.jobs).toBe(members.length);
          expect(row.failures).toBe(failed.length);
          expect(row.not_success).toBe(members.filter((j) => j.status !== "SUCCESS").length);
          expect(row.may_successes).toBe(
            members.filter(
              (j) => j.status === "SUCCESS" && j.created_at >= "2025-05-01" && j.created_at < "2025-06-01",
            ).length,
          );
          expect(row.failed_retries).toBe(sum(failed.map((j) => j.options?.retry ?? 0)));
          // Upstream {$avg: {$cond: [conditions, "$key", 0]}}: rows failing the conditions count as 0.
          const weighted = members.flatMap((j) =>
            j.status === "FAILURE" ? (j.duration_seconds === null ? [] : [j.duration_seconds]) : [0],
          );
          if (mean(weighted) === null) expect(row.failure_weighted_duration).toBeNull();
          else expect(row.failure_weighted_duration).toBeCloseTo(mean(weighted) as number, 6);
          expect(row.retried).toBe(members.filter((j) => (j.options?.retry ?? 0) > 0).length);
        }
        // The data exercises every condition (none of these is trivially zero).
        for (const name of ["failures", "not_success", "may_successes", "failed_retries", "retried"]) {
          expect(sum(rows.map((r) => r[name] as number)), name).toBeGreaterThan(0);
        }
      });

      it("evaluates conditions on names an earlier group made", async () => {
        const [row] = await results({
          aggregate: [
            group([{ key: "trusted_account_id", name: "account" }], [{ o: "count", n: "jobs" }]),
            group(
              [],
              [
                { o: "count", n: "accounts" },
                { o: "count", n: "busy", conditions: [{ k: "jobs", v: 50, o: "gte" }] },
                { o: "sum", k: "jobs", n: "quiet_jobs", conditions: [{ k: "jobs", v: 50, o: "lt" }] },
                { o: "average", k: "jobs", n: "avg_jobs" },
                { o: "max", k: "jobs", n: "max_jobs" },
                {
                  o: "count",
                  n: "not_first",
                  conditions: [{ k: "account", v: "ta-000000000000", o: "not" }],
                },
              ],
            ),
          ],
        });
        const perAccount = [...count(jobs.filter(inDomain), (j) => j.trusted_account_id).values()];
        expect(row).toEqual({
          accounts: perAccount.length,
          busy: perAccount.filter((n) => n >= 50).length,
          quiet_jobs: sum(perAccount.filter((n) => n < 50)),
          avg_jobs: expect.closeTo(mean(perAccount) as number, 9),
          max_jobs: Math.max(...perAccount),
          not_first: perAccount.length,
        });
      });

      it("groups by date parts and strftime formats (UTC)", async () => {
        const rows = await results({
          aggregate: [
            group(
              [
                { key: "created_at", name: "year", date_format: "year" },
                { key: "created_at", name: "month", date_format: "month" },
              ],
              [{ operator: "count", name: "jobs" }],
            ),
          ],
        });
        const byMonth = groups(jobs.filter(inDomain), (j) => j.created_at.slice(0, 7));
        expect(rows).toEqual(
          byMonth.map(([ym, members]) => ({
            year: Number(ym.slice(0, 4)),
            month: Number(ym.slice(5, 7)),
            jobs: members.length,
          })),
        );

        const daily = await results({
          filter: [{ k: "created_at", v: RECENT, o: "datetime_gte" }],
          aggregate: [
            group(
              [
                { key: "created_at", name: "date", date_format: "%Y-%m-%d" },
                { key: "created_at", name: "day", date_format: "day" },
              ],
              [{ operator: "count", name: "jobs" }],
            ),
            { sort: [{ key: "date", desc: true }] },
          ],
        });
        const expectedDaily = groups(jobs.filter(recent), (j) => j.created_at.slice(0, 10))
          .map(([date, members]) => ({ date, day: Number(date.slice(8, 10)), jobs: members.length }))
          .reverse();
        expect(daily).toEqual(expectedDaily);

        const hourly = await results({
          aggregate: [
            group([{ key: "created_at", name: "hour", date_format: "%H" }], [{ o: "count", n: "jobs" }]),
          ],
        });
        expect(hourly).toEqual(
          groups(jobs.filter(inDomain), (j) => j.created_at.slice(11, 13)).map(([hour, m]) => ({
            hour,
            jobs: m.length,
          })),
        );

        const monthly = await results({
          aggregate: [
            group([{ key: "finished_at", name: "month", date_format: "%Y-%m" }], [{ o: "count", n: "jobs" }]),
          ],
        });
        // Unfinished jobs have no finished_at: their key is null, which sorts first.
        expect(monthly).toEqual(
          groups(jobs.filter(inDomain), (j) => j.finished_at?.slice(0, 7) ?? "").map(([month, m]) => ({
            month: month === "" ? null : month,
            jobs: m.length,
          })),
        );
      });

      it("emits no row for no input, with or without keys", async () => {
        const none = [{ k: "job_id", v: "job-does-not-exist", o: "eq" }];
        expect(await stat({ filter: none, aggregate: [group([], [{ o: "count", n: "n" }])] })).toEqual({
          results: [],
        });
        expect(await stat({ filter: none, aggregate: [group([{ k: "status", n: "s" }])] })).toEqual({
          results: [],
        });
        const merge = [group([], [{ o: "merge_objects", k: "options", n: "merged" }])];
        expect(await stat({ filter: none, aggregate: merge })).toEqual({ results: [] });
        const merged: Record<string, unknown> = {};
        for (const j of stream(jobs.filter(inDomain))) Object.assign(merged, j.options ?? {});
        expect(await stat({ aggregate: merge })).toEqual({ results: [{ merged }] });
      });

      it("quotes names that are SQL keywords", async () => {
        const rows = await results({
          aggregate: [group([{ key: "status", name: "group" }], [{ operator: "count", name: "order" }])],
        });
        expect(rows).toEqual(
          groups(jobs.filter(inDomain), (j) => j.status).map(([status, m]) => ({
            group: status,
            order: m.length,
          })),
        );
      });
    });

    describe("unwind", () => {
      it("unwind -> group counts jobs per region (lists inside options)", async () => {
        const rows = await results({
          aggregate: [
            { unwind: { path: "options.regions" } },
            group(
              [{ key: "options.regions", name: "region" }],
              [
                { o: "count", n: "jobs" },
                { o: "add_to_set", k: "options.provider", n: "providers" },
              ],
            ),
            { sort: [{ key: "jobs", desc: true }] },
          ],
        });
        const pairs = jobs
          .filter(inDomain)
          .flatMap((j) => (j.options?.regions ?? []).map((region) => ({ region, j })));
        const byRegion = new Map<string, Job[]>();
        for (const { region, j } of pairs) byRegion.set(region, [...(byRegion.get(region) ?? []), j]);
        const expected = [...byRegion.entries()]
          .sort((a, b) => compare(a[0], b[0]))
          .map(([region, members]) => ({
            region,
            jobs: members.length,
            providers: distinctSorted(members.flatMap((j) => j.options?.provider ?? [])),
          }))
          .sort((a, b) => b.jobs - a.jobs);
        expect(rows).toEqual(expected);
        expect(
          await stat({ aggregate: [{ unwind: { path: "options.regions" } }, { count: { name: "n" } }] }),
        ).toEqual({
          results: [{ n: pairs.length }],
        });
      });

      it("filters the unwound elements (in, contain, not_contain_in, not)", async () => {
        const regionsOf = (j: Job) => (inDomain(j) ? (j.options?.regions ?? []) : []);
        const cases: [unknown[], (r: string) => boolean][] = [
          [
            [{ k: "options.regions", v: ["us-east-1", "eu-west-1"], o: "in" }],
            (r) => r === "us-east-1" || r === "eu-west-1",
          ],
          [[{ k: "options.regions", v: "ASIA", o: "contain" }], (r) => r.includes("asia")],
          [
            [{ k: "options.regions", v: ["us-", "eu-"], o: "not_contain_in" }],
            (r) => !r.includes("us-") && !r.includes("eu-"),
          ],
          [[{ k: "options.regions", v: "koreacentral", o: "not" }], (r) => r !== "koreacentral"],
          [
            [
              { k: "options.regions", v: ["east"], o: "contain_in" },
              { k: "status", v: "SUCCESS", o: "eq" },
            ],
            (r) => r.includes("east"),
          ],
        ];
        for (const [filter, keep] of cases) {
          const rows = await results({
            aggregate: [
              { unwind: { path: "options.regions", filter } },
              group([{ key: "options.regions", name: "region" }], [{ o: "count", n: "jobs" }]),
            ],
          });
          const needsSuccess = JSON.stringify(filter).includes("SUCCESS");
          const expected = new Map<string, number>();
          for (const j of jobs) {
            if (needsSuccess && j.status !== "SUCCESS") continue;
            for (const r of regionsOf(j)) if (keep(r)) expected.set(r, (expected.get(r) ?? 0) + 1);
          }
          expect(expected.size, JSON.stringify(filter)).toBeGreaterThan(0);
          expect(rows, JSON.stringify(filter)).toEqual(
            [...expected.entries()]
              .sort((a, b) => compare(a[0], b[0]))
              .map(([region, jobs]) => ({ region, jobs })),
          );
        }
      });

      it("shows the element wherever the unwound value is read: whole options, job rows, again", async () => {
        const pairs = stream(jobs.filter(inDomain)).flatMap((j) =>
          (j.options?.regions ?? []).map((region) => ({ ...j, options: { ...j.options, regions: region } })),
        );
        // Job rows after an unwind carry the element in place of the list.
        const rows = await results({ aggregate: [{ unwind: { path: "options.regions" } }, { limit: 4 }] });
        expect(rows.map((r) => [r.job_id, r.options])).toEqual(
          pairs.slice(0, 4).map((j) => [j.job_id, j.options]),
        );
        // The whole options object, projected.
        const projected = await results({
          aggregate: [
            { unwind: { path: "options.regions" } },
            {
              project: {
                fields: [
                  { k: "options", n: "o" },
                  { k: "options.regions", n: "r" },
                ],
              },
            },
            { limit: 3 },
          ],
        });
        expect(projected).toEqual(pairs.slice(0, 3).map((j) => ({ o: j.options, r: j.options.regions })));
        // A filter on the whole options (exists) and a sort on the element.
        const sorted = await results({
          aggregate: [
            {
              unwind: {
                path: "options.regions",
                filter: [
                  { k: "options.regions", v: ["eastus", "westeurope"], o: "in" },
                  { k: "options.provider", v: "azure", o: "eq" },
                ],
              },
            },
            { sort: [{ key: "options.regions", desc: true }] },
            { limit: 5 },
            {
              project: {
                fields: [
                  { k: "job_id", n: "id" },
                  { k: "options.regions", n: "r" },
                ],
              },
            },
          ],
        });
        const expected = pairs
          .filter(
            (j) =>
              (j.options.regions === "eastus" || j.options.regions === "westeurope") &&
              j.options.provider === "azure",
          )
          .sort((a, b) => compare(b.options.regions, a.options.regions))
          .slice(0, 5)
          .map((j) => ({ id: j.job_id, r: j.options.regions }));
        expect(sorted).toEqual(expected);
        // Unwinding the element again: a string unwinds to itself.
        expect(
          await results(
            {
              aggregate: [
                { unwind: { path: "options.regions" } },
                { unwind: { path: "options.regions", filter: [{ k: "options", v: null, o: "not" }] } },
                { count: { name: "n" } },
              ],
            },
            undefined,
            TWO_UNWINDS,
          ),
        ).toEqual([{ n: pairs.length }]);
      });

      it("unwinds a list inside an object a group built (merge_objects)", async () => {
        const rows = await results({
          aggregate: [
            group(
              [{ key: "options.provider", name: "provider" }],
              [{ o: "merge_objects", k: "options", n: "m" }],
            ),
            { unwind: { path: "m.regions", filter: [{ k: "m.regions", v: "north", o: "not_contain" }] } },
            {
              project: {
                fields: [
                  { k: "m.regions", n: "region" },
                  { k: "m", n: "whole" },
                ],
              },
            },
          ],
        });
        const expected = groups(jobs.filter(inDomain), (j) => j.options?.provider ?? "").flatMap(
          ([provider, m]) => {
            const merged: Record<string, unknown> = {};
            for (const j of stream(m)) Object.assign(merged, j.options ?? {});
            return ((merged.regions as string[] | undefined) ?? [])
              .filter((region) => !region.includes("north"))
              .map((region) => ({
                provider: provider === "" ? null : provider,
                region,
                whole: { ...merged, regions: region },
              }));
          },
        );
        expect(expected.length).toBeGreaterThan(0);
        expect(rows).toEqual(expected);
      });

      it("unwinds lists a group built (push), twice", async () => {
        const rows = await results(
          {
            aggregate: [
              group(
                [{ key: "options.provider", name: "provider" }],
                [{ o: "push", k: "options.regions", n: "lists" }],
              ),
              { unwind: { path: "lists" } },
              { unwind: { path: "lists", filter: [{ k: "lists", v: "us", o: "not_contain" }] } },
              group(
                [
                  { key: "provider", name: "provider" },
                  { key: "lists", name: "region" },
                ],
                [{ o: "count", n: "n" }],
              ),
            ],
          },
          undefined,
          TWO_UNWINDS,
        );
        const expected = new Map<string, number>();
        for (const j of jobs.filter(inDomain)) {
          for (const r of j.options?.regions ?? []) {
            if (r.includes("us")) continue;
            const key = `${j.options?.provider}\u0000${r}`;
            expected.set(key, (expected.get(key) ?? 0) + 1);
          }
        }
        expect(rows).toEqual(
          [...expected.entries()]
            .map(([key, n]) => {
              const [provider, region] = key.split("\u0000");
              return { provider, region, n };
            })
            .sort(
              (a, b) =>
                compare(a.provider as string, b.provider as string) ||
                compare(a.region as string, b.region as string),
            ),
        );
      });
    });

    describe("sort, limit, skip, project, count", () => {
      it("group -> sort -> limit: the three accounts with most failures", async () => {
        const rows = await results({
          filter: [{ k: "status", v: "FAILURE", o: "eq" }],
          aggregate: [
            group([{ key: "trusted_account_id", name: "account" }], [{ o: "count", n: "failures" }]),
            { sort: [{ key: "failures", desc: true }] },
            { limit: 3 },
          ],
        });
        const expected = groups(
          jobs.filter((j) => inDomain(j) && j.status === "FAILURE"),
          (j) => j.trusted_account_id,
        )
          .map(([account, m]) => ({ account, failures: m.length }))
          .sort((a, b) => b.failures - a.failures)
          .slice(0, 3);
        expect(rows).toEqual(expected);
      });

      it("group -> project -> sort: accounts and total run time per plugin", async () => {
        const query = (excludeKeys: boolean) => ({
          aggregate: [
            group(
              [{ key: "plugin_id", name: "plugin" }],
              [
                { o: "add_to_set", k: "trusted_account_id", n: "accounts" },
                { o: "push", k: "duration_seconds", n: "durations" },
                { o: "count", n: "jobs" },
              ],
            ),
            {
              project: {
                fields: [
                  { key: "accounts", name: "account_count", operator: "size" },
                  { key: "durations", name: "total_duration", operator: "sum" },
                  { key: "jobs", name: "jobs" },
                ],
                exclude_keys: excludeKeys,
              },
            },
            {
              sort: [
                { key: "account_count", desc: true },
                { key: "jobs", desc: false },
              ],
            },
          ],
        });
        const expected = groups(jobs.filter(inDomain), (j) => j.plugin_id ?? "")
          .map(([plugin, m]) => ({
            plugin,
            account_count: new Set(m.map((j) => j.trusted_account_id)).size,
            total_duration: sum(m.map((j) => j.duration_seconds ?? 0)),
            jobs: m.length,
          }))
          .sort((a, b) => b.account_count - a.account_count || a.jobs - b.jobs);
        const rows = await results(query(false));
        expect(rows.map((r) => r.plugin)).toEqual(expected.map((e) => e.plugin));
        for (const [i, e] of expected.entries()) {
          const row = rows[i] as JsonObject;
          expect(Object.keys(row)).toEqual(["plugin", "account_count", "total_duration", "jobs"]);
          expect(row.account_count).toBe(e.account_count);
          expect(row.jobs).toBe(e.jobs);
          expect(row.total_duration).toBeCloseTo(e.total_duration, 3);
        }
        // exclude_keys drops the group key (upstream drops _id).
        expect(Object.keys((await results(query(true)))[0] as JsonObject)).toEqual([
          "account_count",
          "total_duration",
          "jobs",
        ]);
      });

      it("project renames, object_to_array and array_to_object round-trip", async () => {
        const rows = await results({
          aggregate: [
            group([{ key: "status", name: "status" }], [{ o: "merge_objects", k: "options", n: "merged" }]),
            {
              project: {
                fields: [
                  { k: "merged", n: "pairs", o: "object_to_array" },
                  { k: "merged.provider", n: "provider" },
                  { k: "status", n: "state" },
                ],
                exclude_keys: true,
              },
            },
            {
              project: {
                fields: [
                  { k: "pairs", n: "back", o: "array_to_object" },
                  { k: "pairs", n: "members", o: "size" },
                  { k: "provider", n: "provider" },
                  { k: "state", n: "state" },
                ],
              },
            },
          ],
        });
        const expected = groups(jobs.filter(inDomain), (j) => j.status).map(([state, m]) => {
          const merged: Record<string, unknown> = {};
          for (const j of stream(m)) Object.assign(merged, j.options ?? {});
          return {
            back: merged,
            members: Object.keys(merged).length,
            provider: merged.provider ?? null,
            state,
          };
        });
        expect(rows).toEqual(expected);
      });

      it("skip and limit page through a sorted group", async () => {
        const all = groups(jobs.filter(inDomain), (j) => j.trusted_account_id).map(([account, m]) => ({
          account,
          jobs: m.length,
        }));
        const rows = await results({
          aggregate: [
            group([{ key: "trusted_account_id", name: "account" }], [{ o: "count", n: "jobs" }]),
            { skip: 5 },
            { limit: 4 },
          ],
        });
        expect(rows).toEqual(all.slice(5, 9));
      });

      it("counts rows, and answers [] for a count over nothing", async () => {
        const failures = jobs.filter((j) => inDomain(j) && j.status === "FAILURE").length;
        expect(
          await stat({
            filter: [{ k: "status", v: "FAILURE", o: "eq" }],
            aggregate: [{ count: { name: "failures" } }],
          }),
        ).toEqual({
          results: [{ failures }],
        });
        expect(
          await stat({
            filter: [{ k: "job_id", v: "job-does-not-exist", o: "eq" }],
            aggregate: [{ count: { name: "n" } }],
          }),
        ).toEqual({ results: [] });
        // count after group: how many accounts ran jobs.
        expect(
          await results({
            aggregate: [group([{ key: "trusted_account_id", name: "a" }]), { count: { name: "accounts" } }],
          }),
        ).toEqual([{ accounts: new Set(jobs.filter(inDomain).map((j) => j.trusted_account_id)).size }]);
      });

      it("keeps job rows when no stage reshapes them (sort -> limit), and last after a sort", async () => {
        const rows = await results({ aggregate: [{ sort: [{ key: "created_at" }] }, { limit: 3 }] });
        const oldest = [...jobs.filter(inDomain)].sort(
          (a, b) => compare(a.created_at, b.created_at) || a.seq - b.seq,
        );
        expect(rows.map((r) => r.job_id)).toEqual(oldest.slice(0, 3).map((j) => j.job_id));
        expect(rows[0]?.created_at).toBe(oldest[0]?.created_at);
        expect(rows[0]?.options).toEqual(oldest[0]?.options ?? undefined);

        // "Last job per trusted account": sort by created_at ascending, then last.
        const last = await results({
          aggregate: [
            { sort: [{ key: "created_at" }] },
            group(
              [{ key: "trusted_account_id", name: "account" }],
              [
                { o: "last", k: "status", n: "status" },
                { o: "last", k: "created_at", n: "at" },
                { o: "first", k: "created_at", n: "since" },
              ],
            ),
          ],
        });
        expect(last).toEqual(
          groups(oldest, (j) => j.trusted_account_id).map(([account, m]) => ({
            account,
            status: m.at(-1)?.status,
            at: m.at(-1)?.created_at,
            since: m[0]?.created_at,
          })),
        );
      });

      it("returns JSON: ISO datetimes, fractional numbers, real lists and objects, booleans", async () => {
        const [row] = await results({
          aggregate: [
            group(
              [],
              [
                { o: "max", k: "created_at", n: "latest" },
                { o: "average", k: "options.retry", n: "avg_retry" },
                { o: "add_to_set", k: "options.sync_options.skip_project_group", n: "flags" },
                { o: "first", k: "options", n: "options" },
              ],
            ),
          ],
        });
        expect(row?.latest).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
        const retries = jobs
          .filter(inDomain)
          .flatMap((j) => (j.options?.retry === undefined ? [] : [j.options.retry]));
        expect(row?.avg_retry).toBeCloseTo(mean(retries) as number, 9);
        expect(Number.isInteger(row?.avg_retry)).toBe(false);
        expect(row?.flags).toEqual([false, true]);
        expect(row?.options).toEqual(stream(jobs.filter(inDomain))[0]?.options);
      });
    });

    describe("distinct", () => {
      it("lists distinct values sorted ascending, nulls left out, lists flattened", async () => {
        const domain = jobs.filter(inDomain);
        expect(await stat({ distinct: "status" })).toEqual({
          results: distinctSorted(domain.map((j) => j.status)),
        });
        expect(await stat({ distinct: "options.provider" })).toEqual({
          results: distinctSorted(domain.flatMap((j) => j.options?.provider ?? [])),
        });
        expect(await stat({ distinct: "options.regions" })).toEqual({
          results: distinctSorted(domain.flatMap((j) => j.options?.regions ?? [])),
        });
        expect(await stat({ distinct: "options.sync_options.skip_project_group" })).toEqual({
          results: [false, true],
        });
        const plugins = distinctSorted(domain.flatMap((j) => j.plugin_id ?? []));
        expect(await stat({ distinct: "plugin_id", page: { start: 2, limit: 2 } })).toEqual({
          results: plugins.slice(1, 3),
          total_count: plugins.length,
        });
      });
    });

    describe("paging, cap, scope, keyword", () => {
      const perAccount = () =>
        groups(jobs.filter(inDomain), (j) => j.trusted_account_id)
          .map(([account, m]) => ({ account, jobs: m.length }))
          .sort((a, b) => b.jobs - a.jobs);
      const byAccount = [
        group([{ key: "trusted_account_id", name: "account" }], [{ o: "count", n: "jobs" }]),
        { sort: [{ key: "jobs", desc: true }] },
      ];

      it("pages with total_count from the same snapshot; no total_count without a limit", async () => {
        const all = perAccount();
        expect(await stat({ aggregate: byAccount, page: { start: 3, limit: 5 } })).toEqual({
          results: all.slice(2, 7),
          total_count: all.length,
        });
        expect(await stat({ aggregate: byAccount, page: { start: 1000, limit: 5 } })).toEqual({
          results: [],
          total_count: all.length,
        });
        const unpaged = await stat({ aggregate: byAccount });
        expect(unpaged).toEqual({ results: all });
        expect("total_count" in unpaged).toBe(false);
      });

      it("caps unpaged output at maxPageSize like list", async () => {
        const small = { now: NOW, maxPageSize: 10 };
        expect(perAccount().length).toBeGreaterThan(10);
        let error: unknown;
        try {
          await stat({ aggregate: byAccount }, domainScope(), small);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(SpaceOneError);
        expect((error as SpaceOneError).status).toBe("invalid_argument");
        expect((error as SpaceOneError).message).toContain("query.page.limit");
        await expect(
          stat({ aggregate: [{ sort: [{ key: "created_at" }] }] }, domainScope(), small),
        ).rejects.toThrow(/query\.page\.limit/);
        await expect(stat({ distinct: "job_id" }, domainScope(), small)).rejects.toThrow(
          /query\.page\.limit/,
        );
        // Paged, or small enough: fine.
        expect(
          (await stat({ aggregate: byAccount, page: { limit: 10 } }, domainScope(), small)).total_count,
        ).toBe(perAccount().length);
        expect(
          await results({ aggregate: [...byAccount, { limit: 10 }] }, domainScope(), small),
        ).toHaveLength(10);
      });

      it("scopes: domain only, workspace plus domain-level (*) jobs, another domain", async () => {
        const byWorkspace = {
          aggregate: [group([{ key: "workspace_id", name: "workspace" }], [{ o: "count", n: "jobs" }])],
        };
        const expectFor = (keep: (j: Job) => boolean) =>
          groups(jobs.filter(keep), (j) => j.workspace_id).map(([ws, m]) => ({
            workspace: ws,
            jobs: m.length,
          }));
        expect(await results(byWorkspace, domainScope())).toEqual(expectFor(inDomain));
        const ws = await results(byWorkspace, workspaceScope());
        expect(ws).toEqual(
          expectFor((j) => inDomain(j) && (j.workspace_id === workspace || j.workspace_id === "*")),
        );
        expect(ws.map((r) => r.workspace)).toEqual(["*", workspace]);
        expect(await results(byWorkspace, domainScope(otherDomain))).toEqual(
          expectFor((j) => j.domain_id === otherDomain),
        );
        // The scope is ANDed with the request's own filter_or, not ORed into it.
        const orQuery = {
          filter_or: [
            { k: "status", v: "CANCELED", o: "eq" },
            { k: "status", v: "PENDING", o: "eq" },
          ],
          aggregate: [{ count: { name: "n" } }],
        };
        expect(await results(orQuery, workspaceScope())).toEqual([
          {
            n: jobs.filter(
              (j) =>
                inDomain(j) &&
                (j.workspace_id === workspace || j.workspace_id === "*") &&
                (j.status === "CANCELED" || j.status === "PENDING"),
            ).length,
          },
        ]);
      });

      it("keyword searches job_id (case-insensitive)", async () => {
        const needle = (jobs.find(inDomain)?.job_id ?? "job-abc").slice(4, 7);
        expect(
          await results({ keyword: needle.toUpperCase(), aggregate: [{ count: { name: "n" } }] }),
        ).toEqual([{ n: jobs.filter((j) => inDomain(j) && j.job_id.includes(needle)).length }]);
      });
    });

    describe("bad input is invalid_argument naming the path", () => {
      const byStatus = group([{ key: "status", name: "status" }], [{ operator: "count", name: "count" }]);
      const field = (f: unknown) => ({
        aggregate: [byStatus, group([{ key: "status", name: "status" }], [f])],
      });

      it("requires aggregate or distinct, and a query", async () => {
        await badInput({}, "aggregate", "ERROR_REQUIRED_PARAMETER");
        await badInput({ aggregate: [], distinct: "" }, "aggregate", "ERROR_REQUIRED_PARAMETER");
        await expect(runStat(store, domainScope(), {}, CTX)).rejects.toThrow(/key = query/);
        await badInput({ aggregate: {} }, "query.aggregate", "ERROR_INVALID_PARAMETER_TYPE");
        await badInput({ aggregate: [byStatus], sort: [] }, "query.sort");
      });

      it("rejects unknown, empty and doubled stages", async () => {
        await badInput({ aggregate: [byStatus, { match: { filter: [] } }] }, "query.aggregate[1].match");
        await badInput({ aggregate: [{}] }, "query.aggregate[0]");
        await badInput({ aggregate: [{ limit: 1, skip: 1 }] }, "query.aggregate[0]");
        await badInput({ aggregate: ["group"] }, "query.aggregate[0]", "ERROR_INVALID_PARAMETER_TYPE");
      });

      it("rejects negative or zero limit and negative skip", async () => {
        await badInput({ aggregate: [{ limit: -1 }] }, "query.aggregate[0].limit");
        await badInput({ aggregate: [{ limit: 0 }] }, "query.aggregate[0].limit");
        await badInput({ aggregate: [{ skip: -2 }] }, "query.aggregate[0].skip");
        await badInput(
          { aggregate: [{ skip: 1.5 }] },
          "query.aggregate[0].skip",
          "ERROR_INVALID_PARAMETER_TYPE",
        );
      });

      it("rejects missing keys and names", async () => {
        await badInput(
          { aggregate: [group([{ name: "s" }])] },
          "query.aggregate[0].group.keys[0].key",
          "ERROR_REQUIRED_PARAMETER",
        );
        await badInput(
          { aggregate: [group([{ key: "status" }])] },
          "query.aggregate[0].group.keys[0].name",
          "ERROR_REQUIRED_PARAMETER",
        );
        await badInput(
          field({ operator: "sum", name: "x" }),
          "query.aggregate[1].group.fields[0].key",
          "ERROR_REQUIRED_PARAMETER",
        );
        await badInput(
          field({ operator: "count" }),
          "query.aggregate[1].group.fields[0].name",
          "ERROR_REQUIRED_PARAMETER",
        );
        await badInput(
          { aggregate: [{ group: {} }] },
          "query.aggregate[0].group.keys",
          "ERROR_REQUIRED_PARAMETER",
        );
        await badInput(
          { aggregate: [{ count: {} }] },
          "query.aggregate[0].count.name",
          "ERROR_REQUIRED_PARAMETER",
        );
        await badInput(
          { aggregate: [{ sort: [{ desc: true }] }] },
          "query.aggregate[0].sort[0].key",
          "ERROR_REQUIRED_PARAMETER",
        );
        await badInput(
          { aggregate: [{ unwind: {} }] },
          "query.aggregate[0].unwind.path",
          "ERROR_REQUIRED_PARAMETER",
        );
        await badInput(
          { aggregate: [{ project: { fields: [] } }] },
          "query.aggregate[0].project.fields",
          "ERROR_REQUIRED_PARAMETER",
        );
      });

      it("rejects operators in the wrong place", async () => {
        await badInput(
          field({ operator: "median", key: "status", name: "x" }),
          "query.aggregate[1].group.fields[0].operator",
        );
        await badInput(
          field({ operator: "max", key: "count", name: "x", conditions: [{ k: "count", v: 1, o: "eq" }] }),
          "query.aggregate[1].group.fields[0].conditions",
        );
        await badInput(
          field({ operator: "sum", key: "count", name: "x", fields: [{ k: "count", n: "c" }] }),
          "query.aggregate[1].group.fields[0].fields",
        );
        await badInput(
          field({ operator: "count", name: "x", conditions: [{ k: "count", v: [1], o: "in" }] }),
          "query.aggregate[1].group.fields[0].conditions[0].operator",
        );
        await badInput(
          {
            aggregate: [
              group(
                [{ k: "status", n: "s" }],
                [{ o: "count", n: "x", conditions: [{ k: "status", v: "x", o: "contain" }] }],
              ),
            ],
          },
          "query.aggregate[0].group.fields[0].conditions[0].operator",
        );
        await badInput(
          {
            aggregate: [
              { unwind: { path: "options.regions", filter: [{ k: "options.regions", v: "a", o: "gt" }] } },
            ],
          },
          "query.aggregate[0].unwind.filter[0].operator",
        );
        await badInput(
          { aggregate: [byStatus, { project: { fields: [{ k: "count", n: "x", o: "add" }] } }] },
          "query.aggregate[1].project.fields[0].operator",
        );
        await badInput(
          { aggregate: [byStatus, { project: { fields: [{ k: "count", n: "x", o: "size" }] } }] },
          "query.aggregate[1].project.fields[0].key",
        );
        await badInput(
          field({ operator: "sum", key: "status", name: "x" }),
          "query.aggregate[1].group.fields[0].key",
        );
        await badInput(
          field({ operator: "merge_objects", key: "count", name: "x" }),
          "query.aggregate[1].group.fields[0].key",
        );
        await badInput(
          field({ operator: "push", key: "count", name: "x", fields: [{ k: "count", n: "c" }] }),
          "query.aggregate[1].group.fields[0]",
        );
        await badInput(
          field({ operator: "count", name: "x", colour: "red" }),
          "query.aggregate[1].group.fields[0].colour",
        );
      });

      it("rejects unknown date formats and date formats on non-dates", async () => {
        const byDate = (date_format: unknown, key = "created_at") => ({
          aggregate: [group([{ key, name: "d", date_format }], [{ o: "count", n: "n" }])],
        });
        await badInput(byDate("week"), "query.aggregate[0].group.keys[0].date_format");
        await badInput(byDate("%Y-%Q"), "query.aggregate[0].group.keys[0].date_format");
        await badInput(byDate("%w"), "query.aggregate[0].group.keys[0].date_format");
        await badInput(byDate("plain"), "query.aggregate[0].group.keys[0].date_format");
        await badInput(byDate("%Y", "status"), "query.aggregate[0].group.keys[0].date_format");
        await badInput(
          byDate(7),
          "query.aggregate[0].group.keys[0].date_format",
          "ERROR_INVALID_PARAMETER_TYPE",
        );
      });

      it("rejects names that are not identifiers, duplicates, and both aliases", async () => {
        for (const name of ["a.b", "__hidden", "1st", 'x"; DROP TABLE jobs; --', "a b", "x".repeat(65)]) {
          await badInput(
            { aggregate: [group([{ key: "status", name }])] },
            "query.aggregate[0].group.keys[0].name",
          );
        }
        await badInput({ aggregate: [{ count: { name: "it's" } }] }, "query.aggregate[0].count.name");
        await badInput(
          { aggregate: [group([{ key: "status", name: "s" }], [{ o: "count", n: "s" }])] },
          "query.aggregate[0].group.fields[0].name",
        );
        await badInput(
          { aggregate: [group([{ key: "status", k: "plugin_id", name: "s" }])] },
          "query.aggregate[0].group.keys[0].key",
        );
        await badInput(
          { aggregate: [group([{ key: 'options.a"b', name: "s" }])] },
          "query.aggregate[0].group.keys[0].key",
        );
      });

      it("rejects names that do not exist at that point of the pipeline", async () => {
        await badInput(
          { aggregate: [byStatus, { sort: [{ key: "created_at" }] }] },
          "query.aggregate[1].sort[0].key",
        );
        await badInput(
          { aggregate: [group([{ key: "colour", name: "c" }])] },
          "query.aggregate[0].group.keys[0].key",
        );
        await badInput(
          {
            aggregate: [
              byStatus,
              { project: { fields: [{ k: "count", n: "n" }], exclude_keys: true } },
              { sort: [{ key: "status" }] },
            ],
          },
          "query.aggregate[2].sort[0].key",
        );
        await badInput(
          { aggregate: [{ count: { name: "n" } }, { sort: [{ key: "count" }] }] },
          "query.aggregate[1].sort[0].key",
        );
        await badInput(
          { aggregate: [byStatus, { sort: [{ key: "count.x" }] }] },
          "query.aggregate[1].sort[0].key",
        );
        await badInput({ aggregate: [{ unwind: { path: "status" } }] }, "query.aggregate[0].unwind.path");
        await badInput({ aggregate: [{ unwind: { path: "options" } }] }, "query.aggregate[0].unwind.path");
        await badInput(
          { aggregate: [byStatus, { unwind: { path: "count" } }] },
          "query.aggregate[1].unwind.path",
        );
        await badInput({ distinct: "colour" }, "query.distinct");
        await badInput({ distinct: "options" }, "query.distinct");
      });

      it("rejects bad values, pages and filters with the list's own messages", async () => {
        await badInput(
          { aggregate: [{ sort: { key: "status" } }] },
          "query.aggregate[0].sort",
          "ERROR_INVALID_PARAMETER_TYPE",
        );
        await badInput(
          { aggregate: [{ sort: [{ key: "status", desc: "yes" }] }] },
          "query.aggregate[0].sort[0].desc",
          "ERROR_INVALID_PARAMETER_TYPE",
        );
        await badInput(
          {
            aggregate: [
              byStatus,
              group([], [{ o: "count", n: "n", conditions: [{ k: "count", v: "many", o: "gt" }] }]),
            ],
          },
          "query.aggregate[1].group.fields[0].conditions[0].value",
          "ERROR_INVALID_PARAMETER_TYPE",
        );
        // (A string outside the status enum is valid and matches nothing, as upstream; a number is not.)
        await badInput(
          {
            aggregate: [group([], [{ o: "count", n: "n", conditions: [{ k: "status", v: 3, o: "eq" }] }])],
          },
          "query.aggregate[0].group.fields[0].conditions[0].value",
          "ERROR_INVALID_PARAMETER_TYPE",
        );
        await badInput({ aggregate: [byStatus], page: { limit: 501 } }, "query.page.limit");
        await badInput(
          { aggregate: [byStatus], filter: [{ k: "status", v: "x", o: "like" }] },
          "query.filter[0].operator",
        );
        await badInput(
          { aggregate: [byStatus], distinct: 3 },
          "query.distinct",
          "ERROR_INVALID_PARAMETER_TYPE",
        );
      });
    });
  }
});
