/**
 * LiveList (src/wire/live-list.ts): the server's responses in progress and open connections. What
 * matters beyond set semantics is that a removed node keeps no pointer to anything, so a node that
 * reached the old generation cannot hold a request alive for the scavenger.
 */
import { describe, expect, it } from "vitest";
import { LiveList } from "../src/wire/live-list.js";

describe("LiveList", () => {
  it("holds what was added, newest first, and counts it", () => {
    const list = new LiveList<string>();
    list.add("a");
    list.add("b");
    list.add("c");
    expect(list.values()).toEqual(["c", "b", "a"]);
    expect(list.size).toBe(3);
  });

  // Removing the head, a middle node and the tail: each relinks its neighbours.
  const cases: Array<[string, number, string[]]> = [
    ["the newest", 2, ["b", "a"]],
    ["a middle one", 1, ["c", "a"]],
    ["the oldest", 0, ["c", "b"]],
  ];
  for (const [name, index, left] of cases) {
    it(`removes ${name} and keeps the others in order`, () => {
      const list = new LiveList<string>();
      const nodes = ["a", "b", "c"].map((v) => list.add(v));
      list.remove(nodes[index] as (typeof nodes)[number]);
      expect(list.values()).toEqual(left);
      expect(list.size).toBe(2);
    });
  }

  it("drops every pointer of a removed node (nothing it held outlives it)", () => {
    const list = new LiveList<{ big: string }>();
    list.add({ big: "older" });
    const node = list.add({ big: "x".repeat(1000) });
    list.add({ big: "newer" });
    list.remove(node);
    expect(node).toEqual({ value: undefined, prev: null, next: null });
  });

  it("ignores a second removal of the same node", () => {
    const list = new LiveList<number>();
    const one = list.add(1);
    list.add(2);
    list.remove(one);
    list.remove(one);
    expect(list.values()).toEqual([2]);
    expect(list.size).toBe(1);
  });

  it("gives a copy that stays whole while members are removed", () => {
    const list = new LiveList<number>();
    const nodes = [1, 2, 3, 4].map((v) => list.add(v));
    const seen: number[] = [];
    for (const value of list.values()) {
      seen.push(value);
      for (const node of nodes) list.remove(node);
    }
    expect(seen).toEqual([4, 3, 2, 1]);
    expect(list.size).toBe(0);
    expect(list.values()).toEqual([]);
  });
});
