/**
 * The list query language, operator by operator and in combination, checked against job sets
 * computed independently from the fixture in TypeScript (not from the compiler).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SpaceOneError } from "../src/errors.js";
import { JobService, type JobsQueryRequest } from "../src/service/job-service.js";
import type { JobRow } from "../src/storage/schema.js";
import type { JobStore } from "../src/storage/store.js";
import { BACKENDS, type TestStore } from "./support/backends.js";
import { domainAdmin, JOBS, NOW } from "./support/fixture.js";

/** The service on the backend of the describe block that is running (set in its beforeAll). */
let service: JobService;
let opened: TestStore | undefined;
const domainA = JOBS.filter((j) => j.domain_id === "domain-a");
const opts = (j: Omit<JobRow, "seq">) => (j.options ? JSON.parse(j.options) : undefined);

async function ids(request: JobsQueryRequest): Promise<string[]> {
  return (await service.list(domainAdmin, request)).results.map((r) => r.job_id as string);
}
async function idsOf(filter: unknown[], extra: Record<string, unknown> = {}): Promise<string[]> {
  return (await ids({ query: { filter, ...extra } as never })).sort();
}
function expected(pred: (j: Omit<JobRow, "seq">) => boolean): string[] {
  return domainA
    .filter(pred)
    .map((j) => j.job_id)
    .sort();
}
async function failure(fn: () => unknown): Promise<SpaceOneError> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof SpaceOneError) return e;
    throw e;
  }
  throw new Error("expected a SpaceOneError");
}

describe.each(BACKENDS)("on $name", (backend) => {
  beforeAll(async () => {
    if (backend.skip) return;
    opened = await backend.open();
    await opened.insertJobs(JOBS);
    service = new JobService(opened.store, { maxPageSize: 1000, now: () => NOW });
  });
  afterAll(() => opened?.close());
  if (backend.skip) it.skip(`skipped: ${backend.skip}`, () => {});
  else {
    describe("filter operators", () => {
      it("eq / not on columns, and null", async () => {
        expect(await idsOf([{ k: "status", v: "FAILURE", o: "eq" }])).toEqual(
          expected((j) => j.status === "FAILURE"),
        );
        expect(await idsOf([{ key: "status", value: "FAILURE", operator: "not" }])).toEqual(
          expected((j) => j.status !== "FAILURE"),
        );
        expect(await idsOf([{ k: "plugin_id", v: null, o: "eq" }])).toEqual(
          expected((j) => j.plugin_id === null),
        );
        expect(await idsOf([{ k: "plugin_id", v: "plugin-aws", o: "not" }])).toEqual(
          expected((j) => j.plugin_id !== "plugin-aws"),
        );
      });

      it("a value outside an enum matches nothing, as upstream (its own example filters on ERROR)", async () => {
        expect(await idsOf([{ k: "status", v: "ERROR", o: "eq" }])).toEqual([]);
        expect(await idsOf([{ k: "status", v: ["FAILURE", "ERROR"], o: "in" }])).toEqual(
          expected((j) => j.status === "FAILURE"),
        );
        expect(await idsOf([{ k: "status", v: "ERROR", o: "not" }])).toEqual(expected(() => true));
        expect(await idsOf([{ k: "resource_group", v: "PROJECT", o: "eq" }])).toEqual([]);
      });

      it("datetimes at the ends of years 0001-9999 are valid (two-digit years are years, not 19xx)", async () => {
        const all = expected(() => true);
        expect(all.length).toBeGreaterThan(0);
        expect(await idsOf([{ k: "created_at", v: "0001-01-01T00:00:00Z", o: "datetime_gte" }])).toEqual(all);
        expect(await idsOf([{ k: "created_at", v: "0050-06-01", o: "datetime_gt" }])).toEqual(all);
        expect(await idsOf([{ k: "created_at", v: "9999-12-31T23:59:59.999Z", o: "lte" }])).toEqual(all);
        expect(await idsOf([{ k: "finished_at", v: "0050-06-01", o: "lt" }])).toEqual([]);
      });

      it("lt / lte / gt / gte on datetimes accept any ISO-8601 form", async () => {
        expect(await idsOf([{ k: "created_at", v: "2026-03-01", o: "gte" }])).toEqual(
          expected((j) => j.created_at >= "2026-03-01T00:00:00.000Z"),
        );
        expect(await idsOf([{ k: "created_at", v: "2026-03-01T09:00:00+09:00", o: "gt" }])).toEqual(
          expected((j) => j.created_at > "2026-03-01T00:00:00.000Z"),
        );
        expect(await idsOf([{ k: "created_at", v: "2026-03-01T00:00:00Z", o: "lte" }])).toEqual(
          expected((j) => j.created_at <= "2026-03-01T00:00:00.000Z"),
        );
        expect(await idsOf([{ k: "created_at", v: "2026-02-10T08:00:00", o: "lt" }])).toEqual(
          expected((j) => j.created_at < "2026-02-10T08:00:00.000Z"),
        );
      });

      it("exists", async () => {
        expect(await idsOf([{ k: "finished_at", v: false, o: "exists" }])).toEqual(
          expected((j) => j.finished_at === null),
        );
        expect(await idsOf([{ k: "options.regions", v: true, o: "exists" }])).toEqual(
          expected((j) => opts(j)?.regions !== undefined),
        );
      });

      it("contain / not_contain are case-insensitive literal substrings (% and _ are not wildcards)", async () => {
        expect(await idsOf([{ k: "error_message", v: "ACCESSDENIED", o: "contain" }])).toEqual(["job-a02"]);
        expect(await idsOf([{ k: "error_message", v: "100%_off", o: "contain" }])).toEqual(["job-a02"]);
        expect(await idsOf([{ k: "error_message", v: "%", o: "contain" }])).toEqual(["job-a02"]);
        expect(await idsOf([{ k: "error_message", v: "already", o: "not_contain" }])).toEqual(
          expected((j) => !(j.error_message ?? "").toLowerCase().includes("already")),
        );
      });

      it("in / not_in, with null in the list", async () => {
        expect(await idsOf([{ k: "status", v: ["PENDING", "IN_PROGRESS"], o: "in" }])).toEqual(
          expected((j) => ["PENDING", "IN_PROGRESS"].includes(j.status)),
        );
        expect(await idsOf([{ k: "plugin_id", v: ["plugin-aws", null], o: "in" }])).toEqual(
          expected((j) => j.plugin_id === "plugin-aws" || j.plugin_id === null),
        );
        expect(await idsOf([{ k: "plugin_id", v: ["plugin-aws"], o: "not_in" }])).toEqual(
          expected((j) => j.plugin_id !== "plugin-aws"),
        );
        expect(await idsOf([{ k: "status", v: [], o: "in" }])).toEqual([]);
        expect(await idsOf([{ k: "status", v: [], o: "not_in" }])).toEqual(expected(() => true));
      });

      it("contain_in / not_contain_in (not_contain_in means: contains none of them)", async () => {
        expect(await idsOf([{ k: "trusted_account_id", v: ["AZ", "dom"], o: "contain_in" }])).toEqual(
          expected((j) => /az|dom/i.test(j.trusted_account_id)),
        );
        expect(await idsOf([{ k: "trusted_account_id", v: ["az", "dom"], o: "not_contain_in" }])).toEqual(
          expected((j) => !/az|dom/i.test(j.trusted_account_id)),
        );
      });

      it("regex / regex_in are case-insensitive", async () => {
        expect(await idsOf([{ k: "job_id", v: "^JOB-A0[1-3]$", o: "regex" }])).toEqual([
          "job-a01",
          "job-a02",
          "job-a03",
        ]);
        expect(await idsOf([{ k: "plugin_id", v: ["azure$", "^plugin-g"], o: "regex_in" }])).toEqual(
          expected((j) => /azure$|^plugin-g/i.test(j.plugin_id ?? "\u0000")),
        );
      });

      it("datetime_* and timediff_* (now/d - 2h and friends)", async () => {
        expect(await idsOf([{ k: "created_at", v: "2026-03-02T00:00:00Z", o: "datetime_gte" }])).toEqual(
          expected((j) => j.created_at >= "2026-03-02T00:00:00.000Z"),
        );
        // NOW is 2026-03-15T12:00Z: now/d - 2h = 2026-03-14T22:00Z.
        expect(await idsOf([{ k: "created_at", v: "now/d - 2h", o: "timediff_gt" }])).toEqual(
          expected((j) => j.created_at > "2026-03-14T22:00:00.000Z"),
        );
        expect(await idsOf([{ k: "created_at", v: "now-1h", o: "timediff_gte" }])).toEqual(
          expected((j) => j.created_at >= "2026-03-15T11:00:00.000Z"),
        );
        // now/w: Monday 2026-03-09 00:00Z; now/m: 2026-03-01.
        expect(await idsOf([{ k: "created_at", v: "now/w", o: "timediff_lt" }])).toEqual(
          expected((j) => j.created_at < "2026-03-09T00:00:00.000Z"),
        );
        expect(await idsOf([{ k: "created_at", v: "now/m", o: "timediff_lt" }])).toEqual(
          expected((j) => j.created_at < "2026-03-01T00:00:00.000Z"),
        );
      });

      it("dotted keys into options are typed like JSON", async () => {
        expect(await idsOf([{ k: "options.provider", v: "aws", o: "eq" }])).toEqual(
          expected((j) => opts(j)?.provider === "aws"),
        );
        // "3" (a string) is not 3 (a number); 0 is not false.
        expect(await idsOf([{ k: "options.retry", v: 2, o: "gte" }])).toEqual(
          expected((j) => typeof opts(j)?.retry === "number" && opts(j).retry >= 2),
        );
        expect(await idsOf([{ k: "options.retry", v: 0, o: "eq" }])).toEqual(["job-a01"]);
        expect(await idsOf([{ k: "options.dry_run", v: false, o: "eq" }])).toEqual(["job-a01"]);
        expect(await idsOf([{ k: "options.sync.skip", v: true, o: "eq" }])).toEqual(["job-a01"]);
        // Mongo semantics: eq on a list matches any element.
        expect(await idsOf([{ k: "options.regions", v: "eu-west-1", o: "eq" }])).toEqual(["job-a01"]);
        expect(await idsOf([{ k: "options.provider", v: "AZ", o: "contain" }])).toEqual([
          "job-a03",
          "job-a05",
        ]);
        expect(await idsOf([{ k: "options.provider", v: "aws", o: "not" }])).toEqual(
          expected((j) => opts(j)?.provider !== "aws"),
        );
      });

      it("match finds an object in a list inside options", async () => {
        expect(await idsOf([{ k: "options.targets", v: { name: "disk", on: false }, o: "match" }])).toEqual([
          "job-a03",
        ]);
        expect(await idsOf([{ k: "options.targets", v: { name: "disk", on: true }, o: "match" }])).toEqual(
          [],
        );
      });

      it("filter is AND, filter_or is OR, both together AND", async () => {
        expect(
          await idsOf([
            { k: "status", v: "FAILURE", o: "eq" },
            { k: "trusted_account_id", v: "ta-aws-1", o: "eq" },
          ]),
        ).toEqual(expected((j) => j.status === "FAILURE" && j.trusted_account_id === "ta-aws-1"));
        const either = (
          await ids({
            query: {
              filter: [{ k: "workspace_id", v: "ws-1", o: "eq" }],
              filter_or: [
                { k: "status", v: "PENDING", o: "eq" },
                { k: "status", v: "FAILURE", o: "eq" },
              ],
            },
          })
        ).sort();
        expect(either).toEqual(
          expected((j) => j.workspace_id === "ws-1" && ["PENDING", "FAILURE"].includes(j.status)),
        );
      });

      it("keyword searches job_id and status, ORed with filter_or", async () => {
        expect((await ids({ query: { keyword: "a0 progress" } })).sort()).toEqual(expected(() => true));
        expect(await ids({ query: { keyword: "PROGRESS" } })).toEqual(["job-a03"]);
        expect((await ids({ query: { keyword: "a07 cancel" } })).sort()).toEqual(["job-a05", "job-a07"]);
      });
    });

    describe("shortcut fields, sort, page, projection", () => {
      it("JobsQuery shortcut fields are ANDed filters", async () => {
        expect(await ids({ trusted_account_id: "ta-az-1", status: "CANCELED" })).toEqual(["job-a05"]);
        expect((await ids({ plugin_id: "plugin-aws" })).sort()).toEqual(
          expected((j) => j.plugin_id === "plugin-aws"),
        );
        expect(await ids({ job_id: "job-a02" })).toEqual(["job-a02"]);
      });

      it("default order is newest first, with a stable tiebreaker", async () => {
        const byNewest = [...domainA]
          .map((j, i) => ({ j, i }))
          .sort((a, b) =>
            a.j.created_at < b.j.created_at ? 1 : a.j.created_at > b.j.created_at ? -1 : b.i - a.i,
          )
          .map((x) => x.j.job_id);
        expect(await ids({})).toEqual(byNewest);
      });

      it("multi-key sort, ties broken by insertion order ascending", async () => {
        const got = await ids({ query: { sort: [{ key: "status" }, { key: "created_at", desc: true }] } });
        const want = [...domainA]
          .map((j, i) => ({ j, i }))
          .sort(
            (a, b) =>
              a.j.status.localeCompare(b.j.status) ||
              b.j.created_at.localeCompare(a.j.created_at) ||
              a.i - b.i,
          )
          .map((x) => x.j.job_id);
        expect(got).toEqual(want);
        const tie = await ids({
          query: { sort: [{ key: "created_at" }], filter: [{ k: "created_at", v: "2026-03-01", o: "eq" }] },
        });
        expect(tie).toEqual(["job-a01", "job-a06"]);
      });

      it("1-based pages with an exact total_count", async () => {
        const all = await ids({});
        const page2 = await service.list(domainAdmin, { query: { page: { start: 3, limit: 2 } } });
        expect(page2.results.map((r) => r.job_id)).toEqual(all.slice(2, 4));
        expect(page2.total_count).toBe(domainA.length);
        const start0 = await service.list(domainAdmin, { query: { page: { start: 0, limit: 2 } } });
        expect(start0.results.map((r) => r.job_id)).toEqual(all.slice(0, 2));
        const past = await service.list(domainAdmin, { query: { page: { start: 100, limit: 2 } } });
        expect(past.results).toEqual([]);
        expect(past.total_count).toBe(domainA.length);
      });

      it("count_only returns no rows and the count", async () => {
        const r = await service.list(domainAdmin, {
          query: { count_only: true, filter: [{ k: "status", v: "FAILURE", o: "eq" }] },
        });
        expect(r.results).toEqual([]);
        expect(r.total_count).toBe(domainA.filter((j) => j.status === "FAILURE").length);
      });

      it("only and minimal project fields; unselected fields are absent", async () => {
        const [row] = (
          await service.list(domainAdmin, {
            query: { only: ["job_id", "options.provider"], filter: [{ k: "job_id", v: "job-a01", o: "eq" }] },
          })
        ).results;
        expect(row).toEqual({ job_id: "job-a01", options: { provider: "aws" } });
        const [min] = (await service.list(domainAdmin, { job_id: "job-a02", query: { minimal: true } }))
          .results;
        expect(Object.keys(min ?? {}).sort()).toEqual(
          ["created_at", "finished_at", "job_id", "resource_group", "status", "trusted_account_id"].sort(),
        );
      });

      it("a request without page.limit is capped with a clear error", async () => {
        const small = new JobService(opened?.store as JobStore, { maxPageSize: 3, now: () => NOW });
        const e = await failure(() => small.list(domainAdmin, {}));
        expect(e.status).toBe("invalid_argument");
        expect(e.message).toContain("query.page.limit");
        expect((await small.list(domainAdmin, { query: { page: { limit: 3 } } })).results).toHaveLength(3);
        expect(
          (await failure(() => small.list(domainAdmin, { query: { page: { limit: 4 } } }))).message,
        ).toContain("maximum page size 3");
      });
    });

    describe("bad input is invalid_argument naming the field", () => {
      const cases: [string, JobsQueryRequest, string][] = [
        [
          "unknown operator",
          { query: { filter: [{ k: "status", v: "x", o: "like" }] } },
          "query.filter[0].operator",
        ],
        ["missing operator", { query: { filter: [{ k: "status", v: "x" }] } }, "query.filter[0].operator"],
        ["missing key", { query: { filter: [{ v: "x", o: "eq" }] } }, "query.filter[0].key"],
        ["missing value", { query: { filter: [{ k: "status", o: "eq" }] } }, "query.filter[0].value"],
        ["unknown field", { query: { filter: [{ k: "secret", v: "x", o: "eq" }] } }, "query.filter[0].key"],
        [
          "injection in key",
          { query: { filter: [{ k: "status; DROP TABLE jobs", v: "x", o: "eq" }] } },
          "query.filter[0].key",
        ],
        [
          "injection in path",
          { query: { filter: [{ k: "options.a')--", v: "x", o: "eq" }] } },
          "query.filter[0].key",
        ],
        [
          "sub-field of a column",
          { query: { filter: [{ k: "status.x", v: "x", o: "eq" }] } },
          "query.filter[0].key",
        ],
        ["list for eq", { query: { filter: [{ k: "status", v: ["A"], o: "eq" }] } }, "eq operator"],
        ["scalar for in", { query: { filter: [{ k: "status", v: "A", o: "in" }] } }, "in operator"],
        [
          "non-boolean exists",
          { query: { filter: [{ k: "status", v: "yes", o: "exists" }] } },
          "exists operator",
        ],
        [
          "object for match",
          { query: { filter: [{ k: "options.targets", v: "x", o: "match" }] } },
          "match operator",
        ],
        [
          "a number for an enum",
          { query: { filter: [{ k: "status", v: 3, o: "eq" }] } },
          "query.filter[0].value",
        ],
        [
          "an object in an enum list",
          { query: { filter: [{ k: "status", v: ["FAILURE", {}], o: "in" }] } },
          "query.filter[0].value",
        ],
        [
          "bad date",
          { query: { filter: [{ k: "created_at", v: "2026-02-31", o: "datetime_gt" }] } },
          "query.filter[0].value",
        ],
        [
          "bad timediff",
          { query: { filter: [{ k: "created_at", v: "yesterday", o: "timediff_gt" }] } },
          "query.filter[0].value",
        ],
        // Years 0001-9999 only: PostgreSQL has no year 0 and would answer internal for it.
        [
          "year 0000",
          { query: { filter: [{ k: "created_at", v: "0000-06-01T00:00:00Z", o: "datetime_gt" }] } },
          "query.filter[0].value",
        ],
        [
          "a zone offset that moves a datetime into year 0",
          { query: { filter: [{ k: "created_at", v: "0001-01-01T00:30:00+01:00", o: "datetime_lt" }] } },
          "query.filter[0].value",
        ],
        [
          "a zone offset that moves a datetime past year 9999",
          { query: { filter: [{ k: "created_at", v: "9999-12-31T23:30:00-01:00", o: "datetime_gt" }] } },
          "query.filter[0].value",
        ],
        [
          "year 0000 compared on a datetime column without datetime_*",
          { query: { filter: [{ k: "finished_at", v: "0000-01-01", o: "lt" }] } },
          "query.filter[0].value",
        ],
        [
          "year 0000 in a list of datetimes",
          { query: { filter: [{ k: "finished_at", v: ["2026-01-01", "0000-01-01"], o: "in" }] } },
          "query.filter[0].value",
        ],
        [
          "a timediff that resolves into year 0000 (NOW - 740000d = 0000-02-25)",
          { query: { filter: [{ k: "created_at", v: "now - 740000d", o: "timediff_gt" }] } },
          "query.filter[0].value",
        ],
        [
          "a timediff that resolves before year 0000",
          { query: { filter: [{ k: "created_at", v: "now - 800000d", o: "timediff_gt" }] } },
          "query.filter[0].value",
        ],
        [
          "a timediff that resolves past year 9999",
          { query: { filter: [{ k: "created_at", v: "now + 3000000d", o: "timediff_lt" }] } },
          "query.filter[0].value",
        ],
        [
          "a timediff beyond any representable time",
          { query: { filter: [{ k: "created_at", v: "now - 999999999w", o: "timediff_gt" }] } },
          "query.filter[0].value",
        ],
        [
          "datetime op on text",
          { query: { filter: [{ k: "job_id", v: "2026-01-01", o: "datetime_gt" }] } },
          "query.filter[0].key",
        ],
        ["bad regex", { query: { filter: [{ k: "job_id", v: "(", o: "regex" }] } }, "query.filter[0].value"],
        [
          "regex outside the portable subset",
          { query: { filter: [{ k: "job_id", v: "\\s+", o: "regex" }] } },
          "query.filter[0].value",
        ],
        [
          "wrong value type",
          { query: { filter: [{ k: "job_id", v: 5, o: "eq" }] } },
          "query.filter[0].value",
        ],
        ["unknown sort key", { query: { sort: [{ key: "nope" }] } }, "query.sort[0].key"],
        ["sort without key", { query: { sort: [{ desc: true }] } }, "query.sort[0].key"],
        ["unknown only field", { query: { only: ["job_id", "x"] } }, "query.only[1]"],
        ["unwind in list", { query: { unwind: { path: "options.regions" } } }, "query.unwind"],
        ["bad status shortcut", { status: "DONE" }, "status"],
        [
          "options as a whole",
          { query: { filter: [{ k: "options", v: "x", o: "contain" }] } },
          "query.filter[0].key",
        ],
      ];
      for (const [name, request, path] of cases) {
        it(name, async () => {
          const e = await failure(() => service.list(domainAdmin, request));
          expect(e.status).toBe("invalid_argument");
          expect(e.message).toContain(path);
        });
      }

      it("an injection payload as a value is just a value", async () => {
        expect(await idsOf([{ k: "job_id", v: "x' OR '1'='1", o: "eq" }])).toEqual([]);
        expect(await idsOf([{ k: "job_id", v: "') OR 1=1 --", o: "contain" }])).toEqual([]);
        expect((await service.list(domainAdmin, { query: { count_only: true } })).total_count).toBe(
          domainA.length,
        );
      });
    });
  }
});
