/**
 * SecondChanceCache (src/storage/second-chance-cache.ts), the prepared-statement cache: bounded, and
 * what was used since the last eviction pass outlives what was not.
 */
import { describe, expect, it } from "vitest";
import { SecondChanceCache } from "../src/storage/second-chance-cache.js";

function filled(keys: string[], capacity = keys.length): SecondChanceCache<string> {
  const cache = new SecondChanceCache<string>(capacity);
  for (const key of keys) cache.add(key, key.toUpperCase());
  return cache;
}

describe("SecondChanceCache", () => {
  it("answers what was added and nothing else", () => {
    const cache = filled(["a", "b"]);
    expect(cache.get("a")).toBe("A");
    expect(cache.get("b")).toBe("B");
    expect(cache.get("c")).toBeUndefined();
  });

  it("never holds more than its capacity", () => {
    const cache = new SecondChanceCache<number>(3);
    for (let i = 0; i < 100; i++) {
      if (i % 2 === 0) cache.get(String(i - 2));
      cache.add(String(i), i);
      expect(cache.size).toBeLessThanOrEqual(3);
    }
    expect(cache.size).toBe(3);
  });

  it("evicts the oldest entry when none was used", () => {
    const cache = filled(["a", "b", "c"]);
    cache.add("d", "D");
    expect(cache.get("a")).toBeUndefined();
    expect(["b", "c", "d"].map((k) => cache.get(k))).toEqual(["B", "C", "D"]);
  });

  // Which of a, b, c is used before d comes in, and which one d replaces.
  const cases: Array<[string[], string]> = [
    [["a"], "b"],
    [["b"], "a"],
    [["a", "b"], "c"],
    [["a", "c"], "b"],
    [["a", "b", "c"], "a"],
  ];
  for (const [used, evicted] of cases) {
    it(`keeps ${used.join(", ")} when used, and evicts ${evicted}`, () => {
      const cache = filled(["a", "b", "c"]);
      for (const key of used) cache.get(key);
      cache.add("d", "D");
      expect(cache.size).toBe(3);
      for (const key of ["a", "b", "c"]) {
        if (key === evicted) expect(cache.get(key), key).toBeUndefined();
        else expect(cache.get(key), key).toBe(key.toUpperCase());
      }
    });
  }

  it("refuses a capacity under one", () => {
    expect(() => new SecondChanceCache(0)).toThrow(RangeError);
  });
});
