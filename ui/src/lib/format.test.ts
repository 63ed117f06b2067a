import { describe, expect, it } from "vitest";
import { formatPercent, formatRate, humanDuration, relativeTime } from "./format.js";

const NOW = new Date("2026-06-15T12:00:00.000Z");

describe("formatting", () => {
  const relative: [string, string][] = [
    ["2026-06-15T12:00:02.000Z", "just now"],
    ["2026-06-15T11:59:30.000Z", "30 seconds ago"],
    ["2026-06-15T11:57:00.000Z", "3 minutes ago"],
    ["2026-06-15T09:00:00.000Z", "3 hours ago"],
    ["2026-06-14T12:00:00.000Z", "yesterday"],
    ["2026-06-01T12:00:00.000Z", "2 weeks ago"],
    ["2026-06-15T14:00:00.000Z", "in 2 hours"],
    ["", ""],
    ["not a date", "not a date"],
  ];
  for (const [iso, text] of relative) {
    it(`relative time of ${iso || "nothing"} is "${text}"`, () => {
      expect(relativeTime(iso, NOW, "en")).toBe(text);
    });
  }

  const durations: [number | undefined, string][] = [
    [undefined, ""],
    [-1, ""],
    [0.42, "0.4 s"],
    [9.96, "10 s"],
    [42, "42 s"],
    [60, "1 min"],
    [125, "2 min 5 s"],
    [3725, "1 h 2 min"],
    [7200, "2 h"],
    [90_061, "1 d 1 h"],
  ];
  for (const [seconds, text] of durations) {
    it(`duration ${seconds} s is "${text}"`, () => {
      expect(humanDuration(seconds)).toBe(text);
    });
  }

  it("rates and percentages", () => {
    expect(formatRate(null)).toBe("");
    expect(formatRate(0)).toBe("");
    expect(formatRate(0.25)).toBe("0.3/s");
    expect(formatRate(35.4)).toBe("35/s");
    expect(formatRate(1234)).toBe("1.2k/s");
    expect(formatPercent(undefined)).toBe("");
    expect(formatPercent(42.46)).toBe("42.5 %");
  });
});
