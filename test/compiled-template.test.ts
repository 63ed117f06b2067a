/** Compiled-once point lookups must bind each call's own values: a wrong slot would cross tenants. */
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import type { Condition } from "../src/query/ast.js";
import { CompiledTemplates, PointTemplates, scopeShape } from "../src/storage/compiled-template.js";
import type { Dialect } from "../src/storage/dialect/dialect.js";
import { postgresDialect } from "../src/storage/dialect/postgres/postgres-dialect.js";
import { sqliteDialect } from "../src/storage/dialect/sqlite/sqlite-dialect.js";
import { WriteStatements } from "../src/storage/write-statements.js";
import { fixtureStore } from "./support/fixture.js";

const field = (column: "domain_id" | "workspace_id") => ({ column, path: [], name: column });
const domainScope = (d: string): Condition[] => [{ op: "eq", field: field("domain_id"), value: d }];
const wsScope = (d: string, w: string): Condition[] => [
  ...domainScope(d),
  { op: "in", field: field("workspace_id"), values: [w, "*"] },
];

describe("compiled templates", () => {
  it("reuse one SQL text per shape and bind every call's values", async () => {
    const store = fixtureStore();
    expect((await store.get("job-a01", domainScope("domain-a")))?.job_id).toBe("job-a01");
    // Same shape, other values: the cached SQL must not keep domain-a.
    expect(await store.get("job-a01", domainScope("domain-b"))).toBeUndefined();
    expect((await store.get("job-b01", domainScope("domain-b")))?.job_id).toBe("job-b01");
    expect((await store.get("job-a01", wsScope("domain-a", "ws-1")))?.job_id).toBe("job-a01");
    expect(await store.get("job-a03", wsScope("domain-a", "ws-1"))).toBeUndefined(); // ws-2
    expect((await store.get("job-a03", wsScope("domain-a", "ws-2")))?.job_id).toBe("job-a03");
    expect((await store.get("job-a04", wsScope("domain-a", "ws-2")))?.job_id).toBe("job-a04"); // '*'
    expect(await store.delete("job-a03", wsScope("domain-a", "ws-1"))).toBe(false);
    expect(await store.delete("job-a03", wsScope("domain-a", "ws-2"))).toBe(true);
  });

  it("binds each change-feed append's own rows and time, compiled once per row count", () => {
    const statements = new WriteStatements(sqliteDialect);
    const change = (job: string, kind: "created" | "updated", seq: number | null) => ({
      job_id: job,
      domain_id: `d-${job}`,
      workspace_id: `w-${job}`,
      kind,
      event_seq: seq,
    });
    const [first] = statements.appendChanges(
      [change("j1", "created", 1), change("j2", "updated", null)],
      "t1",
    );
    const [second] = statements.appendChanges([change("j3", "updated", 4), change("j4", "created", 2)], "t2");
    expect(second?.sql).toBe(first?.sql);
    expect(first?.sql).toMatch(/insert into "job_changes"/);
    const bound = (c: typeof first) => {
      const cols =
        /\(([^)]*)\) values/
          .exec(c?.sql ?? "")?.[1]
          ?.split(", ")
          .map((x) => x.replaceAll('"', "")) ?? [];
      expect(cols.length).toBe(6);
      const p = c?.parameters ?? [];
      return [0, 1].map((r) => Object.fromEntries(cols.map((k, i) => [k, p[r * cols.length + i]])));
    };
    expect(bound(second)).toEqual([
      { ...change("j3", "updated", 4), created_at: "t2" },
      { ...change("j4", "created", 2), created_at: "t2" },
    ]);
    expect(bound(first)).toEqual([
      { ...change("j1", "created", 1), created_at: "t1" },
      { ...change("j2", "updated", null), created_at: "t1" },
    ]);
  });

  it("compiles a group's change-feed append once per row count up to 64 rows, and bigger ones each time", () => {
    for (const dialect of [sqliteDialect, postgresDialect]) {
      let builds = 0;
      // Every build of the statement goes through the dialect's query builder.
      const counting: Dialect = Object.create(dialect, {
        builder: {
          get() {
            builds++;
            return dialect.builder;
          },
        },
      });
      const statements = new WriteStatements(counting);
      const rows = (n: number, tag: string) =>
        Array.from({ length: n }, (_, i) => ({
          job_id: `${tag}-${i}`,
          domain_id: "d",
          workspace_id: "w",
          kind: "updated" as const,
          event_seq: i % 2 === 0 ? null : i,
        }));
      for (const n of [16, 64, 65]) {
        const first = statements.appendChanges(rows(n, "a"), "t1");
        builds = 0;
        const [again] = statements.appendChanges(rows(n, "b"), "t2");
        expect(builds).toBe(n <= 64 ? 0 : 1);
        expect(again?.sql).toBe(first[0]?.sql);
        expect(again?.parameters).toEqual(rows(n, "b").flatMap((c) => [...Object.values(c), "t2"]));
      }
    }
  });

  it("with the database's clock (PostgreSQL now()): each group's rows bound, the clock kept in the text, one text per row count", () => {
    const statements = new WriteStatements(postgresDialect);
    const change = (job: string, seq: number | null) => ({
      job_id: job,
      domain_id: `d-${job}`,
      workspace_id: `w-${job}`,
      kind: "updated" as const,
      event_seq: seq,
    });
    const [first] = statements.appendChanges([change("j1", 1), change("j2", null)], sql`now()`);
    const [second] = statements.appendChanges([change("j3", 4), change("j4", 2)], sql`now()`);
    const [single] = statements.appendChanges([change("j5", null)], sql`now()`);
    expect(second?.sql).toBe(first?.sql);
    expect(first?.sql).toMatch(
      /insert into "job_changes" \("job_id", "domain_id", "workspace_id", "kind", "event_seq", "created_at"\) values \(\$1, \$2, \$3, \$4, \$5, now\(\)\), \(\$6, \$7, \$8, \$9, \$10, now\(\)\)/,
    );
    const row = (c: ReturnType<typeof change>) => [
      c.job_id,
      c.domain_id,
      c.workspace_id,
      c.kind,
      c.event_seq,
    ];
    expect(first?.parameters).toEqual([...row(change("j1", 1)), ...row(change("j2", null))]);
    expect(second?.parameters).toEqual([...row(change("j3", 4)), ...row(change("j4", 2))]);
    expect(single?.sql).not.toBe(first?.sql);
    expect(single?.parameters).toEqual(row(change("j5", null)));
    // A clock expression with a value of its own is compiled with that value, not cached with the first.
    const [at] = statements.appendChanges([change("j6", null)], sql`${"t1"}::timestamptz`);
    const [at2] = statements.appendChanges([change("j7", null)], sql`${"t2"}::timestamptz`);
    expect(at?.parameters.at(-1)).toBe("t1");
    expect(at2?.parameters.at(-1)).toBe("t2");
  });

  it("fills slots in order and keeps constants", async () => {
    const templates = new CompiledTemplates();
    const build = (args: readonly unknown[]) => ({
      sql: "x = ? AND y = ? AND z = ?",
      parameters: [args[1], 7, args[0]],
    });
    expect(templates.compile("k", ["a", "b"], build)).toEqual({
      sql: "x = ? AND y = ? AND z = ?",
      parameters: ["b", 7, "a"],
    });
    expect(templates.compile("k", ["c", "d"], build).parameters).toEqual(["d", 7, "c"]);
  });

  it("falls back to compiling directly when a value shapes the SQL text", async () => {
    const templates = new CompiledTemplates();
    let builds = 0;
    const build = (args: readonly unknown[]) => {
      builds++;
      return { sql: `x = '${String(args[0])}'`, parameters: [] };
    };
    expect(templates.compile("k", ["a"], build).sql).toBe("x = 'a'");
    expect(templates.compile("k", ["b"], build).sql).toBe("x = 'b'");
    expect(builds).toBeGreaterThanOrEqual(3);
  });

  it("remembers a shape whose SQL text depends on a value: compiled once per call after the first", () => {
    const templates = new CompiledTemplates();
    let builds = 0;
    const build = (args: readonly unknown[]) => {
      builds++;
      return { sql: `x = '${String(args[0])}' AND y = ?`, parameters: [args[1]] };
    };
    expect(templates.compile("k", ["a", 1], build)).toEqual({ sql: "x = 'a' AND y = ?", parameters: [1] });
    expect(builds).toBe(2); // with markers, then directly
    expect(templates.compile("k", ["b", 2], build)).toEqual({ sql: "x = 'b' AND y = ?", parameters: [2] });
    expect(builds).toBe(3);
  });

  it("compiles a query of more than 64 values directly, once, with its own values and nothing kept", () => {
    const templates = new CompiledTemplates();
    const seen: (readonly unknown[])[] = [];
    const build = (args: readonly unknown[]) => {
      seen.push(args);
      return { sql: `x IN (${args.map(() => "?").join(", ")})`, parameters: [...args] };
    };
    for (const n of [64, 65, 500]) {
      const args = Array.from({ length: n }, (_, i) => `v${i}`);
      seen.length = 0;
      expect(templates.compile(`in:${n}`, args, build).parameters).toEqual(args);
      // 64 values: a template, built once with markers; more: built once with the values themselves.
      expect(seen).toHaveLength(1);
      if (n > 64) expect(seen[0]).toBe(args);
      else expect(seen[0]?.[0]).not.toBe("v0");
    }
  });

  it("gives a number a numeric marker, so a compiler branching on the type compiles the number's branch", () => {
    const templates = new CompiledTemplates();
    const build = (args: readonly unknown[]) =>
      typeof args[0] === "number"
        ? { sql: "n = ?", parameters: [args[0]] }
        : { sql: "s = ?", parameters: [args[0]] };
    expect(templates.compile("k", [5], build)).toEqual({ sql: "n = ?", parameters: [5] });
    expect(templates.compile("k", [6], build)).toEqual({ sql: "n = ?", parameters: [6] });
  });

  it("describes scope shapes, and refuses others", async () => {
    expect(scopeShape(wsScope("d", "w"))?.key).toBe("eq:domain_id,in:workspace_id:2");
    expect(scopeShape(wsScope("d", "w"))?.values).toEqual(["d", "w", "*"]);
    expect(scopeShape([{ op: "contain", field: field("domain_id"), value: "x" }])).toBeNull();
  });
});

describe("point templates: a template per (name, scope shape), found by comparing scopes", () => {
  const wsEq = (d: string, w: string): Condition[] => [
    ...domainScope(d),
    { op: "eq", field: field("workspace_id"), value: w },
  ];
  const options: Condition = {
    op: "eq",
    field: { column: "options", path: ["a"], name: "options.a" },
    value: "x",
  };
  /** A compiler whose text follows the scope's shape and whose parameters are the values, with a constant. */
  const render = (jobId: unknown, scope: readonly Condition[]) => {
    const parts = ["job_id = ?"];
    const parameters: unknown[] = [jobId];
    for (const c of scope) {
      const name =
        c.field.path.length > 0 ? `${c.field.column}->'${c.field.path.join(".")}'` : c.field.column;
      if ("values" in c) {
        parts.push(`${name} ${c.op} (${c.values.map(() => "?").join(", ")})`);
        parameters.push(...c.values);
      } else {
        parts.push(`${name} ${c.op} ?`);
        parameters.push(c.value);
      }
    }
    parts.push("kind <> ?");
    parameters.push("deleted");
    return { sql: parts.join(" AND "), parameters };
  };
  const counted = () => {
    const calls: { jobId: unknown; scope: readonly Condition[] }[] = [];
    const build = (jobId: string, scope: readonly Condition[]) => {
      calls.push({ jobId, scope });
      return render(jobId, scope);
    };
    return { calls, build };
  };

  // Each cell: a scope, and whether it can be templated (scopeShape accepts it).
  const cells: [string, Condition[], boolean][] = [
    ["domain only", domainScope("d1"), true],
    ["domain and one workspace (eq)", wsEq("d1", "w1"), true],
    ["domain and a workspace or the domain's (in of 2)", wsScope("d1", "w1"), true],
    [
      "an in of 3",
      [...domainScope("d1"), { op: "in", field: field("workspace_id"), values: ["a", "b", "c"] }],
      true,
    ],
    ["no condition", [], true],
    ["a number value (not a scope's)", [{ op: "eq", field: field("domain_id"), value: 5 }], false],
    ["a json path", [...domainScope("d1"), options], false],
    ["another operator", [{ op: "not", field: field("domain_id"), value: "d1" }], false],
  ];

  for (const [what, scope, templated] of cells) {
    it(`${what}: the same SQL and parameters as a direct compile, ${templated ? "built once per shape" : "compiled directly every time"}`, () => {
      const points = new PointTemplates();
      const { calls, build } = counted();
      const first = points.compile("get", "job-1", scope, build);
      const second = points.compile("get", "job-2", scope, build);
      expect(first).toEqual(render("job-1", scope));
      expect(second).toEqual(render("job-2", scope));
      if (templated) {
        expect(calls).toHaveLength(1);
        expect(calls[0]?.jobId).not.toBe("job-1"); // a marker
      } else {
        expect(calls.map((c) => c.jobId)).toEqual(["job-1", "job-2"]);
      }
    });
  }

  it("binds each call's own values to a shape seen before (another tenant's values never stay)", () => {
    const points = new PointTemplates();
    const { calls, build } = counted();
    const scopes = [wsScope("d1", "w1"), wsScope("d2", "w2"), wsScope("d3", "w9")];
    for (const [i, scope] of scopes.entries()) {
      expect(points.compile("get", `job-${i}`, scope, build)).toEqual(render(`job-${i}`, scope));
    }
    expect(calls).toHaveLength(1);
  });

  it("keeps shapes apart: another name, another column, another operator, another in's size", () => {
    const points = new PointTemplates();
    const { calls, build } = counted();
    const seen: [string, Condition[]][] = [
      ["get", wsScope("d", "w")],
      ["delete", wsScope("d", "w")],
      ["get", wsEq("d", "w")],
      ["get", [...domainScope("d"), { op: "in", field: field("workspace_id"), values: ["w"] }]],
      ["get", [{ op: "eq", field: field("workspace_id"), value: "w" }]],
      ["get", domainScope("d")],
    ];
    for (const [name, scope] of seen)
      expect(points.compile(name, "j", scope, build)).toEqual(render("j", scope));
    expect(calls).toHaveLength(seen.length);
    for (const [name, scope] of seen)
      expect(points.compile(name, "k", scope, build)).toEqual(render("k", scope));
    expect(calls).toHaveLength(seen.length);
  });

  it("past 64 shapes starts its list over, and a forgotten shape is found by its key, not built again", () => {
    const points = new PointTemplates();
    const { calls, build } = counted();
    const scope = domainScope("d");
    for (let n = 1; n <= 70; n++)
      expect(points.compile(`stmt${n}`, "j", scope, build)).toEqual(render("j", scope));
    expect(calls).toHaveLength(70);
    // The list forgot the first 64 when the 65th came; the keyed templates behind it did not.
    expect(points.compile("stmt70", "k", scope, build)).toEqual(render("k", scope));
    expect(points.compile("stmt1", "k", scope, build)).toEqual(render("k", scope));
    expect(calls).toHaveLength(70);
  });
});
