import { describe, expect, it } from "vitest";
import {
  DEFAULT_HISTORY,
  type HistoryState,
  historySearch,
  pageCount,
  parseHistory,
  withFilters,
  withSort,
} from "./history-state.js";

describe("history URL state", () => {
  it("the default view has an empty query string, and parses back to the defaults", () => {
    expect(historySearch(DEFAULT_HISTORY)).toBe("");
    expect(parseHistory("")).toEqual(DEFAULT_HISTORY);
  });

  const states: [string, Partial<HistoryState>][] = [
    ["status", { status: "FAILURE" }],
    ["account, plugin, workspace", { account: "ta-1", plugin: "plugin-aws", workspace: "workspace-9" }],
    ["keyword with spaces and symbols", { keyword: "job-1 & x=y" }],
    ["a relative range", { range: "30d" }],
    ["all time", { range: "all" }],
    ["a custom range", { range: "custom", from: "2026-01-01T00:00:00.000Z", to: "2026-02-01T00:00:00.000Z" }],
    ["ascending sort by duration", { sort: "duration_seconds", desc: false }],
    ["page 7 of 100 rows", { page: 7, size: 100 }],
  ];
  for (const [name, change] of states) {
    it(`round-trips ${name}`, () => {
      const state = { ...DEFAULT_HISTORY, ...change };
      const search = historySearch(state);
      expect(search).not.toBe("");
      expect(parseHistory(search)).toEqual(state);
    });
  }

  const bad: [string, string, Partial<HistoryState>][] = [
    ["an unknown status", "?status=DONE", { status: null }],
    ["an unknown sort key", "?sort=options", { sort: "created_at" }],
    ["page 0", "?page=0", { page: 1 }],
    ["a fractional page", "?page=2.5", { page: 1 }],
    ["a page size not offered", "?size=100000", { size: 25 }],
    ["an unknown range", "?range=forever", { range: "7d" }],
    ["a from that is not a date (and so no custom range)", "?from=yesterday", { from: "", range: "7d" }],
    [
      "a from without a range (implies custom)",
      "?from=2026-01-01T00:00:00Z",
      { from: "2026-01-01T00:00:00.000Z", range: "custom" },
    ],
  ];
  for (const [name, search, expected] of bad) {
    it(`turns ${name} into the nearest valid view`, () => {
      expect(parseHistory(search)).toEqual({ ...DEFAULT_HISTORY, ...expected });
    });
  }

  it("cuts very long filter values", () => {
    expect(parseHistory(`?account=${"a".repeat(1000)}`).account).toHaveLength(200);
  });

  it("a filter change goes back to page 1; paging keeps the filters", () => {
    const state = { ...DEFAULT_HISTORY, status: "SUCCESS" as const, page: 4 };
    expect(withFilters(state, { plugin: "p" })).toMatchObject({ page: 1, plugin: "p", status: "SUCCESS" });
    expect(withFilters(state, { page: 5 }).page).toBe(5);
  });

  it("clicking a column sorts it descending, clicking again flips it", () => {
    const byAccount = withSort({ ...DEFAULT_HISTORY, page: 3 }, "trusted_account_id");
    expect(byAccount).toMatchObject({ sort: "trusted_account_id", desc: true, page: 1 });
    expect(withSort(byAccount, "trusted_account_id").desc).toBe(false);
    expect(withSort(withSort(byAccount, "trusted_account_id"), "status").desc).toBe(true);
  });

  it("counts pages, with one page for no rows", () => {
    expect(pageCount(0, 25)).toBe(1);
    expect(pageCount(25, 25)).toBe(1);
    expect(pageCount(26, 25)).toBe(2);
  });
});
