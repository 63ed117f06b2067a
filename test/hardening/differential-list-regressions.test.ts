/**
 * Counterexamples the differential list test found, kept as explicit cases after the fixes (the literal
 * shrunk request on the data set it failed on, plus a hand-made check of the rule it broke).
 */
import { describe, expect, it } from "vitest";
import { checkCase, domainAdminA, serviceOutcome, serviceOver, subject } from "./differential-harness.js";
import type { JsonObject, RefJob } from "./reference/job-model.js";

describe("datetime operands: every ISO-8601 spelling dateutil's isoparse reads", () => {
  // Found with data seed 101 / fast-check seed 799819: a `,` decimal sign was "not an ISO-8601 datetime".
  it("a comma as the decimal sign (2026-03-15 12:34:56,7Z)", async () => {
    await checkCase(subject(101, 300), domainAdminA, {
      query: {
        filter: [{ key: "options.provider", value: [], operator: "regex_in" }],
        filter_or: [{ key: "options.dry_run.k:1", value: "2026-03-15 12:34:56,7Z", operator: "datetime_lt" }],
        keyword: "job",
        page: { start: 0, limit: 0 },
      },
    });
    await checkCase(subject(202, 240), domainAdminA, {
      query: { filter_or: [{ key: "updated_at", value: "2026-03-15 12:34:56,7Z", operator: "lt" }] },
      workspace_id: "ws-1",
    });
  });

  // Found with data seed 303 / fast-check seed 2399457: a zone of hours only (`+00`) was refused.
  it("a zone offset of whole hours (+00, -05)", async () => {
    await checkCase(subject(303, 180), domainAdminA, {
      query: {
        filter: [
          { key: "options.$d.provider.targets", value: "2026-03-15T12:34+00", operator: "datetime_lt" },
        ],
        sort: [{ key: "options.provider", desc: false }],
        page: { limit: 0 },
      },
      workspace_id: "ws-1",
    });
    const s = subject(101, 300);
    for (const value of [
      "2026-03-15T07:34:56-05",
      "2026-03-15T12:34:56.789+00",
      "2026-03-15T21:34:56+0900",
    ]) {
      await checkCase(s, domainAdminA, {
        query: { filter: [{ k: "created_at", v: value, o: "datetime_gte" }] },
      });
    }
  });
});

function job(seq: number, options: JsonObject | null): RefJob {
  return {
    seq,
    job_id: `job-${seq}`,
    status: "SUCCESS",
    options,
    resource_group: "WORKSPACE",
    error_message: null,
    domain_id: "domain-a",
    workspace_id: "ws-1",
    trusted_account_id: "ta-1",
    plugin_id: null,
    created_at: "2026-03-01T00:00:00.000Z",
    updated_at: "2026-03-01T00:00:00.000Z",
    finished_at: null,
    started_at: null,
    heartbeat_at: null,
    progress_percent: null,
    current_step: null,
    records_processed: null,
    records_total: null,
    records_created: null,
    records_updated: null,
    records_deleted: null,
    cancel_requested_at: null,
    cancel_reason: null,
    canceled_by: null,
    error_code: null,
    version: 1,
  };
}

describe("sorting by an options path orders JSON types apart (Mongo's type order)", () => {
  // Found with data seed 101 / fast-check seed 799819 (and on every data set): json_extract turned
  // booleans into 0/1, tying `true` with `1`, and sorted objects and lists as JSON text among strings.
  it("the shrunk counterexamples", async () => {
    await checkCase(
      subject(101, 300),
      { role: "DOMAIN_ADMIN", domainId: "domain-b", workspaceId: null },
      {
        query: {
          filter_or: [],
          sort: [{ key: "options.provider", desc: false }],
          page: { start: 0 },
          only: ["job_id"],
        },
        workspace_id: "ws-1",
      },
    );
    await checkCase(subject(202, 240), domainAdminA, {
      query: {
        sort: [{ key: "options.provider", desc: true }],
        page: { start: 0, limit: 1 },
        only: ["job_id"],
      },
    });
  });

  it("missing/null, numbers, strings, objects, lists, booleans; ties in insertion order", async () => {
    const values: (JsonObject | null)[] = [
      { v: true },
      { v: 1 },
      { v: "1" },
      { v: [0] },
      { v: { a: 1 } },
      { v: false },
      null,
      { v: 0 },
      { v: "" },
      { v: null },
      {},
      { v: [] },
      { v: {} },
      { v: -1.5 },
      { v: "B" },
      { v: "a" },
    ];
    const service = serviceOver(values.map((options, i) => job(i + 1, options)));
    const order = async (desc: boolean) => {
      const outcome = await serviceOutcome(service, domainAdminA, {
        query: { sort: [{ key: "options.v", desc }], only: ["job_id"] },
      });
      return "results" in outcome
        ? outcome.results.map((r) => Number((r as { job_id: string }).job_id.slice(4)))
        : [];
    };
    // null/missing (7, 10, 11 by seq), -1.5, 0, 1, "", "1", "B", "a", objects (5, 13), lists (4, 12), false, true.
    expect(await order(false)).toEqual([7, 10, 11, 14, 8, 2, 9, 3, 15, 16, 5, 13, 4, 12, 6, 1]);
    // Descending reverses the ranks and values; ties stay in insertion order.
    expect(await order(true)).toEqual([1, 6, 4, 12, 5, 13, 16, 15, 3, 9, 2, 8, 14, 7, 10, 11]);
  });
});

describe("text operators on number fields are refused, not half-answered", () => {
  // Found while writing the reference: contain searched SQLite's REAL text ("50.0") while regex searched
  // JavaScript's ("50"), so `contain ".0"` matched a row `regex "\.0"` did not.
  it.each(["contain", "not_contain", "regex"])("%s on progress_percent", async (operator) => {
    const outcome = await serviceOutcome(subject(101, 300).service, domainAdminA, {
      query: { filter: [{ k: "progress_percent", v: ".0", o: operator }] },
    });
    expect(outcome).toMatchObject({
      error: "invalid_argument",
      message: expect.stringContaining("is a number"),
    });
  });

  it.each(["contain_in", "not_contain_in", "regex_in"])("%s on version", async (operator) => {
    const outcome = await serviceOutcome(subject(101, 300).service, domainAdminA, {
      query: { filter: [{ k: "version", v: ["1"], o: operator }] },
    });
    expect(outcome).toMatchObject({
      error: "invalid_argument",
      message: expect.stringContaining("query.filter[0].key"),
    });
  });
});

describe("regression: a shortcut value NONE was ignored on every field", () => {
  // src/service/job-service.ts skipped a shortcut whose value was "NONE" whatever the field, so
  // `plugin_id: "NONE"` listed every job instead of none. Only the status enum's zero value means
  // "not set".
  it("plugin_id: NONE filters like any other value", async () => {
    await checkCase(subject(101, 300), domainAdminA, { plugin_id: "NONE", query: { page: { limit: 10 } } });
  });
});
