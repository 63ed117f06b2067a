/**
 * Compile a query once per shape and fill in its values per call. Building and compiling a Kysely
 * query costs tens of microseconds; for the hot point lookups (`get`, `delete`, lifecycle reads) the
 * SQL text depends only on which conditions there are, not on their values. The query is compiled
 * once with unique marker strings in place of the values; each parameter that is a marker becomes a
 * slot filled from the call's arguments, every other parameter stays as compiled. A number's marker
 * is a number (a distinct subnormal no compiler emits), so a compiler that branches on a value's type
 * takes the same branch for the marker as for the value.
 */
import type { Condition } from "../query/ast.js";

export interface Compiled {
  readonly sql: string;
  readonly parameters: readonly unknown[];
}

type Slot = { readonly arg: number } | { readonly constant: unknown };

interface Template {
  readonly sql: string;
  readonly slots: readonly Slot[];
}

/** A shape whose SQL text depends on a value: compiled directly each call, without trying markers again. */
const DIRECT = null;

/** The marker of argument `i`: of the argument's type (number or string), unique to this compile. */
function marker(arg: unknown, i: number, key: string): string | number {
  return typeof arg === "number" ? -(i + 1) * Number.MIN_VALUE : `\u0000arg:${i}:${key.length}\u0000`;
}

const MAX_TEMPLATES = 256;

/**
 * A query with more values than this is compiled directly, never as a template. Templates pay where the
 * same small query comes again and again (a `get`, a page of a list); a request with hundreds of values
 * (a maximal filter) is rare, its compile is dominated by its size either way, and trying markers first
 * would compile a shape that turns out value-dependent twice, on the event loop.
 */
const MAX_TEMPLATE_ARGS = 64;

export class CompiledTemplates {
  private readonly templates = new Map<string, Template | typeof DIRECT>();

  /**
   * `maxArgs`: above it a query is compiled directly (default 64). A cache whose keys bound the SQL
   * text whatever the values (the change-feed append: one text per row count) may take more.
   */
  constructor(private readonly maxArgs = MAX_TEMPLATE_ARGS) {}

  /**
   * The compiled query for `args`, built by `build` (called with markers in place of the args) the
   * first time a `key` is seen. `key` must determine the SQL text given the args' positions and types.
   */
  compile(key: string, args: readonly unknown[], build: (args: readonly unknown[]) => Compiled): Compiled {
    const template = this.template(key, args, build);
    return template === DIRECT ? build(args) : fill(template, args);
  }

  /**
   * `compile`'s template for `key` (made with `build` the first time), or `DIRECT` (null) when the
   * query is compiled directly: over `maxArgs` values, or a shape whose SQL text depends on a value.
   */
  template(
    key: string,
    args: readonly unknown[],
    build: (args: readonly unknown[]) => Compiled,
  ): Template | typeof DIRECT {
    if (args.length > this.maxArgs) return DIRECT;
    let template = this.templates.get(key);
    if (template !== undefined) return template;
    const markers = args.map((arg, i) => marker(arg, i, key));
    // A map, not `indexOf`: a list's `in` may carry thousands of values, and a search per
    // parameter would make this first compile quadratic in them (a stall of the event loop).
    const argOf = new Map<unknown, number>(markers.map((m, i) => [m, i]));
    const compiled = build(markers);
    const slots = compiled.parameters.map((p): Slot => {
      const arg = typeof p === "string" || typeof p === "number" ? argOf.get(p) : undefined;
      return arg !== undefined ? { arg } : { constant: p };
    });
    // Every argument must have landed in a parameter, else the SQL text depends on a value.
    const templated = new Set(slots.flatMap((s) => ("arg" in s ? [s.arg] : []))).size === args.length;
    template = templated ? { sql: compiled.sql, slots } : DIRECT;
    if (this.templates.size >= MAX_TEMPLATES) this.templates.clear();
    this.templates.set(key, template);
    return template;
  }
}

/** A template's query with these args in its slots. */
function fill(template: Template, args: readonly unknown[]): Compiled {
  const { slots } = template;
  const parameters = new Array<unknown>(slots.length);
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i] as Slot;
    parameters[i] = "arg" in s ? args[s.arg] : s.constant;
  }
  return { sql: template.sql, parameters };
}

/** The most (name, scope shape) pairs `PointTemplates` finds without a key; it starts over when full. */
const MAX_POINT_SHAPES = 64;

/**
 * Statements on one job within a scope (`get`, `delete`, the writes' locked reads): a template per
 * (statement name, scope shape), found again by comparing the call's scope with the one it was made
 * from, condition by condition. Building the shape's key, its values and a rebuild function on every
 * call was 4-5 % of a `get`'s instructions (docs/benchmarks.md "get JSON: point statements found
 * without a key"). A scope of another shape (anything `scopeShape` declines) is compiled directly.
 */
export class PointTemplates {
  private readonly templates = new CompiledTemplates();
  private shapes: {
    readonly name: string;
    readonly scope: readonly Condition[];
    readonly template: Template;
  }[] = [];

  compile(
    name: string,
    jobId: string,
    scope: readonly Condition[],
    build: (jobId: string, scope: readonly Condition[]) => Compiled,
  ): Compiled {
    for (const known of this.shapes) {
      if (known.name === name && sameShape(known.scope, scope))
        return fill(known.template, pointArgs(jobId, scope));
    }
    const shape = scopeShape(scope);
    if (!shape) return build(jobId, scope);
    const args = [jobId, ...shape.values];
    const template = this.templates.template(`${name}|${shape.key}`, args, (given) =>
      build(given[0] as string, shape.rebuild(given.slice(1))),
    );
    if (template === DIRECT) return build(jobId, scope);
    if (this.shapes.length >= MAX_POINT_SHAPES) this.shapes = [];
    this.shapes.push({ name, scope, template });
    return fill(template, args);
  }
}

/**
 * Whether `scope` has the shape of `known` (a scope `scopeShape` accepted): the same conditions in the
 * same order, on the same plain columns, `in`s of the same size, every value a string. The same test as
 * equal `scopeShape` keys, without building them.
 */
function sameShape(known: readonly Condition[], scope: readonly Condition[]): boolean {
  if (known.length !== scope.length) return false;
  for (let i = 0; i < known.length; i++) {
    const k = known[i] as Condition;
    const c = scope[i] as Condition;
    if (c.op !== k.op || c.field.column !== k.field.column || c.field.path.length > 0) return false;
    if (c.op === "eq") {
      if (typeof c.value !== "string") return false;
    } else if (c.op === "in" && k.op === "in") {
      if (c.values.length !== k.values.length) return false;
      for (const v of c.values) if (typeof v !== "string") return false;
    } else {
      return false;
    }
  }
  return true;
}

/** The job id, then the scope's values in order: the args of its shape's template. */
function pointArgs(jobId: string, scope: readonly Condition[]): unknown[] {
  const args: unknown[] = [jobId];
  for (const c of scope) {
    if (c.op === "eq") args.push(c.value);
    else if (c.op === "in") for (const v of c.values) args.push(v);
  }
  return args;
}

/**
 * The shape and values of scope conditions (`eq` / `in` on plain columns, as `scopeConditions`
 * makes them), or null when they hold anything else (then compile directly).
 */
export function scopeShape(
  scope: readonly Condition[],
): { key: string; values: unknown[]; rebuild: (values: readonly unknown[]) => Condition[] } | null {
  const parts: string[] = [];
  const values: unknown[] = [];
  for (const c of scope) {
    if (c.field.path.length > 0) return null;
    if (c.op === "eq" && typeof c.value === "string") {
      parts.push(`eq:${c.field.column}`);
      values.push(c.value);
    } else if (c.op === "in" && c.values.every((v) => typeof v === "string")) {
      parts.push(`in:${c.field.column}:${c.values.length}`);
      values.push(...c.values);
    } else {
      return null;
    }
  }
  const rebuild = (given: readonly unknown[]): Condition[] => {
    let i = 0;
    return scope.map((c) => {
      if (c.op === "eq") return { ...c, value: given[i++] as string };
      if (c.op === "in") return { ...c, values: c.values.map(() => given[i++] as string) };
      return c;
    });
  };
  return { key: parts.join(","), values, rebuild };
}
