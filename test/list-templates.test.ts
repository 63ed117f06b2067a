/**
 * A list compiled once per shape must give the same SQL and parameters as compiling it directly, for
 * every kind of condition, and bind each call's own values: a stale value would cross tenants.
 */
import { describe, expect, it } from "vitest";
import type { Condition, FieldRef, Scalar, SortKey, Where } from "../src/query/ast.js";
import type { JobColumn } from "../src/query/fields.js";
import { type Compiled, CompiledTemplates } from "../src/storage/compiled-template.js";
import { compileList } from "../src/storage/sqlite/sqlite-jobs.js";
import type { ListRequest } from "../src/storage/store.js";
import { whereShape } from "../src/storage/where-shape.js";

const col = (column: JobColumn): FieldRef => ({ column, path: [], name: column });
const opt = (...path: string[]): FieldRef => ({ column: "options", path, name: `options.${path.join(".")}` });

/** One condition of every op, on plain columns and json paths, with values of every type; `v` varies them. */
function conditions(v: string): Condition[] {
  const n = v.length;
  return [
    { op: "eq", field: col("status"), value: `S${v}` },
    { op: "eq", field: col("workspace_id"), value: null },
    { op: "eq", field: opt("a", "b"), value: `x${v}` },
    { op: "eq", field: opt("n"), value: n },
    { op: "eq", field: opt("flag"), value: true },
    { op: "eq", field: opt("gone"), value: null },
    { op: "not", field: col("trusted_account_id"), value: `n${v}` },
    { op: "not", field: opt("flag"), value: false },
    { op: "not", field: col("trusted_account_id"), value: null },
    { op: "lt", field: col("created_at"), value: `2026-01-0${n % 9}T00:00:00.000Z` },
    { op: "lte", field: col("records_total"), value: n * 10 },
    { op: "gt", field: opt("score"), value: n + 0.5 },
    { op: "gte", field: opt("ok"), value: true },
    { op: "exists", field: col("error_message"), value: n % 2 === 0 },
    { op: "exists", field: opt("a"), value: false },
    { op: "contain", field: col("trusted_account_id"), value: `%_${v}` },
    { op: "contain", field: opt("a", "c"), value: v },
    { op: "not_contain", field: col("trusted_account_id"), value: `q${v}` },
    { op: "in", field: col("status"), values: ["FAILURE", `C${v}`, null] },
    { op: "in", field: opt("k"), values: [n, `k${v}`, false, null] },
    { op: "in", field: col("records_total"), values: [] },
    { op: "not_in", field: col("workspace_id"), values: [`w${v}`, "*"] },
    { op: "contain_in", field: col("trusted_account_id"), values: [`a${v}`, `b${v}`] },
    { op: "not_contain_in", field: opt("t"), values: [`c${v}`] },
    { op: "regex", field: col("trusted_account_id"), value: `^r${v}.*$` },
    { op: "regex_in", field: opt("r"), values: [`^a${v}`, "b+"] },
    { op: "match", field: opt("items"), value: { name: `m${v}`, size: n, on: true, none: null } },
  ];
}

const sorts: SortKey[][] = [
  [],
  [{ field: col("created_at"), desc: true }],
  [
    { field: opt("a", "b"), desc: false },
    { field: col("records_total"), desc: true },
  ],
];

function request(where: Where, overrides: Partial<ListRequest> = {}): ListRequest {
  return {
    where,
    sort: [],
    page: { offset: 0, limit: 100 },
    only: null,
    countOnly: false,
    unpagedMax: 1000,
    ...overrides,
  };
}

/** Requests of every shape; `v` changes their values, not their shapes. */
function corpus(v: string): ListRequest[] {
  const all = conditions(v);
  const scope: Condition[] = [{ op: "eq", field: col("domain_id"), value: `domain-${v}` }];
  const requests: ListRequest[] = [request({ and: [], or: [] }), request({ and: scope, or: [] })];
  for (const c of all) {
    requests.push(request({ and: [...scope, c], or: [] }));
    requests.push(request({ and: scope, or: [c, all[0] as Condition] }));
  }
  requests.push(request({ and: [...scope, ...all], or: all }));
  for (const sort of sorts) requests.push(request({ and: [...scope, ...all.slice(0, 4)], or: [] }, { sort }));
  requests.push(request({ and: scope, or: [] }, { only: [col("job_id"), opt("a", "b"), col("status")] }));
  requests.push(request({ and: scope, or: [] }, { countOnly: true, page: { offset: v.length, limit: 0 } }));
  requests.push(
    request({ and: scope, or: [] }, { page: { offset: 0, limit: null }, unpagedMax: 50 + v.length }),
  );
  requests.push(request({ and: scope, or: [] }, { page: { offset: 7 * v.length, limit: 3 } }));
  return requests;
}

/** Counts how often a query is built: a shape filled from its template builds nothing. */
class CountingTemplates extends CompiledTemplates {
  builds = 0;
  override compile(
    key: string,
    args: readonly unknown[],
    build: (args: readonly unknown[]) => Compiled,
  ): Compiled {
    return super.compile(key, args, (a) => {
      this.builds++;
      return build(a);
    });
  }
}

describe("list compiled once per shape", () => {
  it("gives the direct compile's SQL and parameters for every op, path, sort, projection and page", () => {
    const templates = new CompiledTemplates();
    for (const v of ["one", "second", "3"]) {
      for (const r of corpus(v)) {
        const direct = compileList(r, null);
        const cached = compileList(r, templates);
        expect(cached.count).toEqual(direct.count);
        expect(cached.page).toEqual(direct.page);
        expect({ ...cached, count: null, page: null }).toEqual({ ...direct, count: null, page: null });
      }
    }
  });

  it("binds the second call's values, not the first's, with one SQL text per shape, built once", () => {
    const templates = new CountingTemplates();
    const first = corpus("aa");
    const second = corpus("bbbb");
    for (const r of first) compileList(r, templates);
    const builds = templates.builds;
    expect(builds).toBeGreaterThan(0);
    for (let i = 0; i < first.length; i++) {
      const a = compileList(first[i] as ListRequest, templates);
      const b = compileList(second[i] as ListRequest, templates);
      expect(b.page.sql).toBe(a.page.sql);
      expect(b.count.sql).toBe(a.count.sql);
      expect(b.page.parameters).toEqual(compileList(second[i] as ListRequest, null).page.parameters);
      expect(b.count.parameters).toEqual(compileList(second[i] as ListRequest, null).count.parameters);
    }
    // Every shape of the corpus is templated: none falls back to compiling each call.
    expect(templates.builds).toBe(builds);
  });

  it("keys booleans, null, types and paths: values that change the SQL text never share a template", () => {
    const key = (c: Condition) => whereShape({ and: [c], or: [] }).key;
    const eq = (field: FieldRef, value: Scalar): Condition => ({ op: "eq", field, value });
    const keys = [
      key(eq(opt("a"), "x")),
      key(eq(opt("a"), 1)),
      key(eq(opt("a"), true)),
      key(eq(opt("a"), false)),
      key(eq(opt("a"), null)),
      key(eq(opt("b"), "x")),
      key(eq(opt("a", "b"), "x")),
      key(eq(col("trusted_account_id"), "x")),
      key({ op: "not", field: col("trusted_account_id"), value: "x" }),
      key({ op: "in", field: col("trusted_account_id"), values: ["x"] }),
      key({ op: "in", field: col("trusted_account_id"), values: ["x", "y"] }),
      key({ op: "match", field: opt("a"), value: { k: "x" } }),
      key({ op: "match", field: opt("a"), value: { j: "x" } }),
    ];
    expect(new Set(keys).size).toBe(keys.length);
    expect(key(eq(opt("a"), "x"))).toBe(key(eq(opt("a"), "y")));
    expect(
      whereShape({
        and: [eq(opt("a"), 1)],
        or: [eq(col("trusted_account_id"), "z"), eq(col("trusted_account_id"), null)],
      }).values,
    ).toEqual([1, "z"]);
  });
});
