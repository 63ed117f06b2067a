/**
 * The bench's reading of how quiet the machine was (bench/core/steal.ts): the share of CPU ticks the
 * hypervisor stole between two readings of /proc/stat, from the aggregate `cpu` line.
 */
import { describe, expect, it } from "vitest";
import { parseProcStat, readCpuTicks, stealShare } from "../bench/core/steal.js";

const BEFORE = `cpu  1000 10 200 8000 50 0 40 100 0 0
cpu0 600 5 100 3900 20 0 25 50 0 0
cpu1 400 5 100 4100 30 0 15 50 0 0
intr 123456 0 0
ctxt 987654
btime 1764892800
`;
const AFTER = `cpu  1500 10 300 8800 50 0 40 400 0 0
cpu0 900 5 150 4300 20 0 25 300 0 0
cpu1 600 5 150 4500 30 0 15 100 0 0
intr 223456 0 0
`;

describe("parseProcStat", () => {
  it("reads the aggregate and every CPU's line, totals over the eight counters and steal as the eighth", () => {
    const ticks = parseProcStat(BEFORE);
    expect(ticks).toEqual([
      { cpu: "cpu", total: 1000 + 10 + 200 + 8000 + 50 + 0 + 40 + 100, steal: 100 },
      { cpu: "cpu0", total: 600 + 5 + 100 + 3900 + 20 + 0 + 25 + 50, steal: 50 },
      { cpu: "cpu1", total: 400 + 5 + 100 + 4100 + 30 + 0 + 15 + 50, steal: 50 },
    ]);
  });

  it("skips lines that are not CPUs and CPU lines too short or not numeric", () => {
    expect(parseProcStat("intr 1 2 3\ncpu 1 2 3\ncpu0 1 2 3 4 5 6 7 x\nctxt 5\n")).toEqual([]);
  });

  it("reads this machine's /proc/stat when there is one", () => {
    const ticks = readCpuTicks();
    if (ticks === null) return expect(process.platform).not.toBe("linux");
    expect(ticks.length).toBeGreaterThan(0);
    expect(ticks[0]?.cpu).toBe("cpu");
    for (const t of ticks) expect(t.total).toBeGreaterThanOrEqual(t.steal);
  });
});

describe("stealShare", () => {
  it("is the stolen ticks over all ticks of the aggregate between two readings", () => {
    // the aggregate grew by 500 user + 100 system + 800 idle + 300 steal = 1,700 ticks, 300 of them stolen
    expect(stealShare(parseProcStat(BEFORE), parseProcStat(AFTER))).toBeCloseTo(300 / 1700, 10);
  });

  it("is null when either reading is missing, has no aggregate, or no time passed", () => {
    const before = parseProcStat(BEFORE);
    expect(stealShare(null, before)).toBeNull();
    expect(stealShare(before, null)).toBeNull();
    expect(stealShare(before.slice(1), parseProcStat(AFTER))).toBeNull();
    expect(stealShare(before, before)).toBeNull();
  });
});
