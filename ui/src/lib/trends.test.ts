import { describe, expect, it } from "vitest";
import { historySearch } from "./history-state.js";
import {
  DURATION_BUCKETS,
  dayLink,
  durationRequest,
  durationRows,
  failureRequest,
  failureRows,
  parseTrendDays,
  perDayRequest,
  perDaySeries,
  pluginLink,
  windowDays,
  windowStart,
} from "./trends.js";

const NOW = new Date("2026-06-15T18:30:00.000Z");

describe("trends", () => {
  it("the window starts at UTC midnight and includes today", () => {
    expect(windowStart(7, NOW).toISOString()).toBe("2026-06-09T00:00:00.000Z");
    expect(windowDays(3, NOW)).toEqual(["2026-06-13", "2026-06-14", "2026-06-15"]);
  });

  it("days come from the URL, limited to the offered windows", () => {
    expect(parseTrendDays("?days=30")).toBe(30);
    expect(parseTrendDays("?days=1000")).toBe(14);
    expect(parseTrendDays("")).toBe(14);
  });

  it("per day: one group by UTC day and status over the window", () => {
    expect(perDayRequest(7, NOW)).toEqual({
      query: {
        filter: [{ k: "created_at", v: "2026-06-09T00:00:00.000Z", o: "datetime_gte" }],
        aggregate: [
          {
            group: {
              keys: [
                { key: "created_at", name: "day", date_format: "%Y-%m-%d" },
                { key: "status", name: "status" },
              ],
              fields: [{ name: "count", operator: "count" }],
            },
          },
        ],
      },
    });
  });

  it("per day series: every day of the window, zeros where the answer has no row", () => {
    const series = perDaySeries(
      {
        results: [
          { day: "2026-06-14", status: "SUCCESS", count: 5 },
          { day: "2026-06-01", status: "SUCCESS", count: 9 },
        ],
      },
      3,
      NOW,
    );
    expect(series.days).toEqual(["2026-06-13", "2026-06-14", "2026-06-15"]);
    expect(series.counts.SUCCESS).toEqual([0, 5, 0]);
    expect(series.counts.FAILURE).toEqual([0, 0, 0]);
  });

  it("failure rate: busiest plugins first, bounded, with the rate per plugin", () => {
    const { query } = failureRequest(7, NOW) as { query: Record<string, unknown> };
    expect(query.page).toEqual({ limit: 20 });
    const rows = failureRows({
      results: [
        { plugin: "a", total: 8, failures: 2 },
        { plugin: null, total: 0, failures: 0 },
      ],
    });
    expect(rows).toEqual([
      { plugin: "a", total: 8, failures: 2, rate: 0.25 },
      { plugin: null, total: 0, failures: 0, rate: 0 },
    ]);
  });

  it("durations: one counted condition per bucket; the last bucket is open", () => {
    const { query } = durationRequest(7, NOW) as {
      query: { aggregate: { group?: { fields: { name: string; conditions?: unknown[] }[] } }[] };
    };
    const fields = query.aggregate[0]?.group?.fields ?? [];
    expect(fields.map((f) => f.name)).toEqual([
      "finished",
      "average",
      "longest",
      ...DURATION_BUCKETS.map((b) => b.name),
    ]);
    expect(fields.at(-1)?.conditions).toEqual([{ key: "duration_seconds", value: 3600, operator: "gte" }]);
    const [row] = durationRows({
      results: [{ plugin: "a", finished: 3, average: 70, longest: 100, lt_1m: 1, m1_5: 2 }],
    });
    expect(row?.buckets).toEqual([1, 2, 0, 0, 0]);
  });

  it("click-through: a day bar opens that UTC day and status; a plugin bar opens the plugin since the window start", () => {
    expect(historySearch(dayLink("2026-06-14", "FAILURE"))).toBe(
      "?status=FAILURE&range=custom&from=2026-06-14T00%3A00%3A00.000Z&to=2026-06-15T00%3A00%3A00.000Z",
    );
    expect(historySearch(pluginLink("plugin-aws", 7, NOW, { status: "FAILURE" }))).toBe(
      "?status=FAILURE&plugin=plugin-aws&range=custom&from=2026-06-09T00%3A00%3A00.000Z",
    );
  });
});
