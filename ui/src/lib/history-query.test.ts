import { describe, expect, it } from "vitest";
import {
  HISTORY_COLUMNS,
  listRequest,
  parseStatusCounts,
  statusCountsRequest,
  timeWindow,
} from "./history-query.js";
import { DEFAULT_HISTORY, STATUSES } from "./history-state.js";

const NOW = new Date("2026-06-15T12:00:00.000Z");

describe("history requests", () => {
  it("the default view: last 7 days, newest first, first page of 25, only the table's columns", () => {
    expect(listRequest(DEFAULT_HISTORY, NOW)).toEqual({
      query: {
        filter: [{ k: "created_at", v: "2026-06-08T12:00:00.000Z", o: "datetime_gte" }],
        sort: [{ key: "created_at", desc: true }],
        page: { start: 1, limit: 25 },
        only: [...HISTORY_COLUMNS],
      },
    });
  });

  it("every filter becomes one condition; page 3 of 50 starts at row 101", () => {
    const state = {
      ...DEFAULT_HISTORY,
      status: "FAILURE" as const,
      account: "ta-1",
      plugin: "plugin-aws",
      workspace: "workspace-2",
      keyword: "job-9",
      range: "custom" as const,
      from: "2026-01-01T00:00:00.000Z",
      to: "2026-02-01T00:00:00.000Z",
      sort: "duration_seconds" as const,
      desc: false,
      page: 3,
      size: 50,
    };
    const { query } = listRequest(state, NOW) as { query: Record<string, unknown> };
    expect(query.filter).toEqual([
      { k: "status", v: "FAILURE", o: "eq" },
      { k: "trusted_account_id", v: "ta-1", o: "eq" },
      { k: "plugin_id", v: "plugin-aws", o: "eq" },
      { k: "workspace_id", v: "workspace-2", o: "eq" },
      { k: "created_at", v: "2026-01-01T00:00:00.000Z", o: "datetime_gte" },
      { k: "created_at", v: "2026-02-01T00:00:00.000Z", o: "datetime_lt" },
    ]);
    expect(query.keyword).toBe("job-9");
    expect(query.sort).toEqual([{ key: "duration_seconds", desc: false }]);
    expect(query.page).toEqual({ start: 101, limit: 50 });
  });

  it("the tab counts use the same filters without the status, grouped by status", () => {
    const state = { ...DEFAULT_HISTORY, status: "FAILURE" as const, plugin: "p", range: "all" as const };
    expect(statusCountsRequest(state, NOW)).toEqual({
      query: {
        filter: [{ k: "plugin_id", v: "p", o: "eq" }],
        aggregate: [
          {
            group: {
              keys: [{ key: "status", name: "status" }],
              fields: [{ name: "count", operator: "count" }],
            },
          },
        ],
      },
    });
  });

  it("time windows: relative ranges end now, all has no bounds, custom keeps either end", () => {
    expect(timeWindow({ range: "1h", from: "", to: "" }, NOW)).toEqual({
      from: "2026-06-15T11:00:00.000Z",
      to: "",
    });
    expect(timeWindow({ range: "all", from: "x", to: "y" }, NOW)).toEqual({ from: "", to: "" });
    expect(timeWindow({ range: "custom", from: "", to: "2026-01-01T00:00:00.000Z" }, NOW)).toEqual({
      from: "",
      to: "2026-01-01T00:00:00.000Z",
    });
  });

  it("reads the stat answer into a count per status, zero for missing ones, and their sum", () => {
    const answer = {
      results: [
        { status: "SUCCESS", count: 90 },
        { status: "FAILURE", count: 7 },
        { status: "BOGUS", count: 1 },
      ],
    };
    const counts = parseStatusCounts(answer, STATUSES);
    expect(counts.byStatus).toEqual({ PENDING: 0, IN_PROGRESS: 0, FAILURE: 7, SUCCESS: 90, CANCELED: 0 });
    expect(counts.all).toBe(97);
    expect(parseStatusCounts(null, STATUSES).all).toBe(0);
  });
});
