import { describe, expect, it } from "vitest";
import { CallHeaders } from "../src/wire/unary/call-headers.js";

/** The runtime's Headers filled from Node's header object, as the unary path did before CallHeaders. */
function runtimeHeaders(node: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const key in node) {
    if (key.startsWith(":")) continue;
    const value = node[key];
    if (value === undefined) continue;
    for (const v of typeof value === "string" ? [value] : value) headers.append(key, v);
  }
  return headers;
}

const request = {
  ":path": "/spaceone.api.identity.v2.Job/get",
  ":authority": "localhost",
  "content-type": "application/json",
  authorization: "Bearer abc",
  "x-forwarded-for": "10.0.0.1, 10.0.0.2",
  "set-cookie": ["a=1", "b=2"],
  "content-length": "21",
  absent: undefined,
};

function sameAsRuntime(ours: Headers, runtime: Headers): void {
  expect([...ours]).toEqual([...runtime]);
  expect([...ours.keys()]).toEqual([...runtime.keys()]);
  expect([...ours.values()]).toEqual([...runtime.values()]);
  const seen: [string, string][] = [];
  ours.forEach((value, key) => {
    seen.push([key, value]);
  });
  expect(seen).toEqual([...runtime.entries()]);
  expect(seen.length).toBeGreaterThan(0);
  for (const name of ["Content-Type", "authorization", "SET-COOKIE", "absent", "nope"]) {
    expect(ours.get(name), name).toBe(runtime.get(name));
    expect(ours.has(name), name).toBe(runtime.has(name));
  }
  expect(ours.getSetCookie()).toEqual(runtime.getSetCookie());
  // HTTP/2 pseudo-headers are not headers (the runtime refuses the name; we answer none).
  expect(ours.get(":path")).toBeNull();
}

describe("CallHeaders", () => {
  it("reads a request's Node headers as the runtime's Headers filled from them would", () => {
    sameAsRuntime(new CallHeaders(request), runtimeHeaders(request));
  });

  it("changes like the runtime's Headers: set, append, delete, set-cookie kept apart", () => {
    const ours = new CallHeaders(request);
    const runtime = runtimeHeaders(request);
    for (const h of [ours, runtime]) {
      h.set("Content-Type", "application/proto");
      h.append("X-Forwarded-For", "10.0.0.3");
      h.append("Set-Cookie", "c=3");
      h.delete("authorization");
      h.append("Trailer-Foo", "1");
      h.append("trailer-foo", "2");
    }
    sameAsRuntime(ours, runtime);
  });

  it("starts empty for an answer, and iterates a snapshot (deleting while iterating)", () => {
    const ours = new CallHeaders();
    expect([...ours]).toEqual([]);
    ours.set("B", "2");
    ours.set("a", "1");
    expect([...ours]).toEqual([
      ["a", "1"],
      ["b", "2"],
    ]);
    ours.forEach((_, key) => {
      ours.delete(key);
    });
    expect([...ours]).toEqual([]);
    expect(ours.get("a")).toBeNull();
  });

  it("iterates names in the runtime's order, few or many, set in any order", () => {
    // Names that sort by code unit, not by locale: digits, "-", "_", upper case set and lower-cased.
    const names = ["x-b", "x-a", "x_a", "x-1", "X-10", "x-2", "a", "z", "content-type", "content-length"];
    for (const count of [1, 2, 3, 10, 16, 17, 40]) {
      const ours = new CallHeaders();
      const runtime = new Headers();
      for (let i = 0; i < count; i++) {
        // Reversed and repeated with a suffix, so each count sets its own shuffled order.
        const name = `${names[(count - i) % names.length]}-${Math.floor(i / names.length)}`;
        ours.set(name, String(i));
        runtime.set(name, String(i));
      }
      sameAsRuntime(ours, runtime);
    }
  });
});
