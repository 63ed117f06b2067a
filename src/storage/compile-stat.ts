/**
 * A `StatQuery` (stat-ast.ts) -> one SQL statement: a chain of CTEs, one (or a few) per pipeline
 * stage, so SQLite does all the work and only result rows reach Node (docs/compatibility.md, "Stat").
 *
 * Relations. Every CTE selects the row's visible columns under their own names (job columns while
 * rows are jobs, otherwise the names stages made, always quoted with `sql.id`) plus hidden
 * columns: order (`__oN`) and pending unwind elements (`__uN`, see `Override`). User names cannot
 * start with `__` (parse-stat.ts), so hidden columns never clash.
 *
 * Stream order. Rows flow in a defined order, which `first`, `last`, `push`, `merge_objects`,
 * `limit`, `skip` and the final result follow:
 * - the filtered jobs come newest first (`created_at DESC, seq DESC`, the list default);
 * - `sort` orders by its keys, ties keep the incoming order (stable);
 * - `unwind` keeps the incoming order, elements in list order;
 * - `group` emits one row per key combination ordered by the keys ascending (Mongo leaves it
 *   unspecified; a defined order makes results reproducible);
 * - `project`, `limit`, `skip` keep it; `count` emits one row.
 * The order is carried as hidden columns and applied only where it matters (windows, LIMIT, the
 * final ORDER BY), so a plain group-by never sorts the jobs. Everything database-specific comes
 * from the `Dialect` the caller passes.
 *
 * Values. `json` values travel as JSON documents (the dialect's form); the plan tells the caller
 * which result columns to parse. Names become column aliases (quoted) or bound `json_object` keys,
 * never SQL text.
 */
import { type SqlBool, sql } from "kysely";
import type { Page, Scalar, Where } from "../query/ast.js";
import { JOB_COLUMNS, JOB_FIELDS, valueKindOf } from "../query/fields.js";
import type {
  GroupField,
  GroupKey,
  NamedColumn,
  ProjectField,
  RowShape,
  Stage,
  StatCondition,
  StatQuery,
  StatRef,
  ValueKind,
} from "../query/stat-ast.js";
import { compileCondition, compileWhere } from "./compile-where.js";
import type { Compiled } from "./compiled-template.js";
import type { Bool, Dialect, Expr, OrderTerm } from "./dialect/dialect.js";
import { and, COMPARATORS, notTrue, or } from "./logic.js";

/** How the result rows are turned into JSON (job-stat.ts). */
export type StatResultShape =
  | { readonly kind: "jobs" }
  | { readonly kind: "named"; readonly columns: readonly NamedColumn[] }
  | { readonly kind: "values"; readonly valueKind: ValueKind };

export interface StatPlan {
  /** The result rows: one page (`page.limit`), or at most `cap + 1` rows without a page limit. */
  readonly rows: Compiled;
  /** `total_count` (rows before paging): only when the request is paged (docs/compatibility.md, "Stat"). */
  readonly total: Compiled | null;
  readonly result: StatResultShape;
  /** Without page.limit: the most rows the caller may return; `rows` fetches one more to detect more. */
  readonly cap: number | null;
}

export interface StatCompileOptions {
  /** The most rows a stat without page.limit may return (MAX_PAGE_SIZE). */
  readonly maxRows: number;
}

interface OrderCol {
  readonly col: string;
  readonly desc: boolean;
}

/**
 * A value an `unwind` replaced by one element, kept aside in the hidden column `element` instead
 * of being written back into its document (`json_set` per element doubles the cost of an
 * unwind -> group over `options`). References at or under `path` read the element; a reference to
 * an ancestor (the whole `options`, a job condition on it, the final job rows) first writes the
 * elements back (`settle`).
 */
interface Override {
  readonly column: string;
  readonly path: readonly string[];
  readonly element: string;
}

/** A CTE of the chain: its name, the shape of its rows, its hidden order and unwind columns. */
interface Rel {
  readonly name: string;
  readonly shape: RowShape;
  readonly order: readonly OrderCol[];
  readonly overrides: readonly Override[];
}

interface Column {
  readonly name: string;
  readonly kind: ValueKind;
}

/** The CTEs of one statement and a counter for fresh hidden names. */
class Chain {
  readonly ctes: Expr[] = [];
  private counter = 0;

  constructor(readonly d: Dialect) {}

  fresh(prefix: "__s" | "__o" | "__k" | "__v" | "__w" | "__c" | "__t" | "__u"): string {
    return `${prefix}${this.counter++}`;
  }

  add(body: Expr): string {
    const name = this.fresh("__s");
    this.ctes.push(sql`${sql.id(name)} AS (${body})`);
    return name;
  }

  /** A Kysely select (embedded with its own parentheses). */
  addQuery(query: unknown): string {
    const name = this.fresh("__s");
    this.ctes.push(sql`${sql.id(name)} AS ${query}`);
    return name;
  }

  statement(select: Expr): Compiled {
    const compiled = sql`WITH ${sql.join(this.ctes)} ${select}`.compile(this.d.builder);
    return { sql: compiled.sql, parameters: compiled.parameters };
  }
}

// ---- values of the current row ------------------------------------------------------------------

const JOB_VISIBLE: readonly Column[] = JOB_COLUMNS.map((name) => ({
  name,
  kind: valueKindOf(JOB_FIELDS[name].type),
}));

function visible(shape: RowShape): readonly Column[] {
  return shape.kind === "jobs" ? JOB_VISIBLE : shape.columns;
}

function col(alias: string, name: string): Expr {
  return sql.id(alias, name);
}

/** The stored representation: SQL value, or JSON text (NULL when missing/null) for json. */
function refValue(d: Dialect, ref: StatRef, alias: string): Expr {
  const base = col(alias, ref.column);
  return ref.kind === "json" ? d.jsonAt(base, ref.path) : base;
}

/** A value to order and compare by: json values as their SQL value (json_extract). */
function refSortable(d: Dialect, ref: StatRef, alias: string): Expr {
  const base = col(alias, ref.column);
  return ref.kind === "json" ? d.jsonScalarAt(base, ref.path) : base;
}

/** A number or NULL (sum/average skip anything that is not a number, as Mongo does). */
function refNumber(d: Dialect, ref: StatRef, alias: string): Expr {
  const base = col(alias, ref.column);
  return ref.kind === "json" ? d.jsonNumberAt(base, ref.path) : base;
}

/** The sortable form of a stored value of a kind (a hidden column or a stage-made one). */
function sortableOf(d: Dialect, value: Expr, kind: ValueKind): Expr {
  return kind === "json" ? d.jsonScalarAt(value, []) : value;
}

/** A stored value as an element of a JSON constructor. */
function embedOf(d: Dialect, value: Expr, kind: ValueKind): Expr {
  return kind === "json" ? d.embedJson(value) : value;
}

function carry(alias: string, columns: readonly Column[]): Expr[] {
  return columns.map((c) => sql`${col(alias, c.name)} AS ${sql.id(c.name)}`);
}

function carryOrder(alias: string, order: readonly OrderCol[]): Expr[] {
  return order.map((o) => sql`${col(alias, o.col)} AS ${sql.id(o.col)}`);
}

/** The hidden columns a row keeps while its shape stays: order and pending unwind elements. */
function carryHidden(alias: string, rel: Rel): Expr[] {
  return [
    ...carryOrder(alias, rel.order),
    ...rel.overrides.map((o) => sql`${col(alias, o.element)} AS ${sql.id(o.element)}`),
  ];
}

function orderTerms(alias: string, order: readonly OrderCol[], reverse = false): OrderTerm[] {
  return order.map((o) => ({ expr: col(alias, o.col), desc: reverse ? !o.desc : o.desc }));
}

function orderClause(d: Dialect, alias: string, order: readonly OrderCol[]): Expr {
  return order.length > 0 ? sql` ORDER BY ${d.orderList(orderTerms(alias, order))}` : sql``;
}

/** `first_value(value) OVER (PARTITION BY ... ORDER BY ...)`. */
function firstValueOver(
  d: Dialect,
  value: Expr,
  partition: readonly Expr[],
  order: readonly OrderTerm[],
): Expr {
  return sql`first_value(${value}) OVER (${windowSpec(d, partition, order)})`;
}

/** `row_number() OVER (PARTITION BY ... ORDER BY ...)`. */
function rowNumberOver(d: Dialect, partition: readonly Expr[], order: readonly OrderTerm[]): Expr {
  return sql`row_number() OVER (${windowSpec(d, partition, order)})`;
}

function windowSpec(d: Dialect, partition: readonly Expr[], order: readonly OrderTerm[]): Expr {
  const parts: Expr[] = [];
  if (partition.length > 0) parts.push(sql`PARTITION BY ${sql.join([...partition])}`);
  if (order.length > 0) parts.push(sql`ORDER BY ${d.orderList(order)}`);
  return sql.join(parts, sql` `);
}

// ---- conditions ---------------------------------------------------------------------------------

/**
 * A stage condition against the rows of `alias`. On job rows: the list filter's compiler (its
 * column references are unqualified, so the caller selects from that one relation only). On
 * named rows: the same semantics (typed JSON equality, elements of lists match eq, `not`/`not_in`
 * also match missing, case-insensitive literal `contain`) over stage-made values.
 */
function compileStatCondition(d: Dialect, c: StatCondition, alias: string): Bool {
  if (c.on === "job") return compileCondition(d, c.condition);
  const ref = c.ref;
  const base = col(alias, ref.column);
  const json = ref.kind === "json";
  const equals = (v: Scalar): Bool => {
    if (v === null) return sql<SqlBool>`${refValue(d, ref, alias)} IS NULL`;
    return json
      ? or(d, [d.jsonEquals(base, ref.path, v), d.jsonElementEquals(base, ref.path, v)])
      : sql<SqlBool>`${base} = ${d.scalar(v)}`;
  };
  const contains = (needle: string): Bool =>
    json
      ? sql<SqlBool>`(${d.jsonIs(base, ref.path, ["string"])} AND ${d.containsCI(d.jsonScalarAt(base, ref.path), needle)})`
      : d.containsCI(base, needle);
  switch (c.op) {
    case "eq":
      return equals(c.value);
    case "not":
      return c.value === null
        ? sql<SqlBool>`${refValue(d, ref, alias)} IS NOT NULL`
        : notTrue(d, equals(c.value));
    case "gt":
    case "gte":
    case "lt":
    case "lte":
      return json
        ? d.jsonCompare(base, ref.path, c.op, c.value)
        : sql<SqlBool>`${base} ${sql.raw(COMPARATORS[c.op])} ${d.scalar(c.value)}`;
    case "in":
      return or(d, c.values.map(equals));
    case "not_in":
      return notTrue(d, or(d, c.values.map(equals)));
    case "contain":
      return contains(c.value);
    case "not_contain":
      return notTrue(d, contains(c.value));
    case "contain_in":
      return or(d, c.values.map(contains));
    case "not_contain_in":
      // "Contains none of the values", as the list filter decides (upstream's $nor here agrees).
      return and(
        d,
        c.values.map((v) => notTrue(d, contains(v))),
      );
  }
}

// ---- stages -------------------------------------------------------------------------------------

function source(chain: Chain, where: Where): Rel {
  const d = chain.d;
  const created = chain.fresh("__o");
  const seq = chain.fresh("__o");
  const query = d.builder
    .selectFrom("jobs")
    .selectAll()
    .select([sql<string>`${sql.ref("created_at")}`.as(created), sql<number>`${sql.ref("seq")}`.as(seq)])
    .where(compileWhere(d, where));
  const name = chain.addQuery(query);
  return {
    name,
    shape: { kind: "jobs" },
    order: [
      { col: created, desc: true },
      { col: seq, desc: true },
    ],
    overrides: [],
  };
}

// ---- pending unwinds ----------------------------------------------------------------------------

function startsWith(path: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= path.length && prefix.every((segment, i) => path[i] === segment);
}

/** A reference redirected to a pending unwind element; null when it needs the element written back. */
function redirect(ref: StatRef, rel: Rel): StatRef | null {
  for (const o of rel.overrides) {
    if (o.column !== ref.column) continue;
    if (startsWith(ref.path, o.path)) {
      return { column: o.element, path: ref.path.slice(o.path.length), kind: "json", text: ref.text };
    }
    if (startsWith(o.path, ref.path)) return null;
  }
  return ref;
}

/**
 * A condition redirected likewise. A job condition on the unwound path becomes the same condition
 * on the element (compileStatCondition gives named JSON values the list filter's semantics).
 */
function redirectCondition(c: StatCondition, rel: Rel): StatCondition | null {
  if (c.on === "named") {
    const ref = redirect(c.ref, rel);
    return ref === null ? null : ({ ...c, ref } as StatCondition);
  }
  const field = c.condition.field;
  const ref = redirect({ column: field.column, path: field.path, kind: "json", text: field.name }, rel);
  if (ref === null) return null;
  if (ref.column === field.column) return c;
  const cond = c.condition;
  switch (cond.op) {
    case "eq":
    case "not":
    case "gt":
    case "gte":
    case "lt":
    case "lte":
    case "contain":
    case "not_contain":
      return { on: "named", op: cond.op, ref, value: cond.value } as StatCondition;
    case "in":
    case "not_in":
    case "contain_in":
    case "not_contain_in":
      return { on: "named", op: cond.op, ref, values: cond.values } as StatCondition;
    default:
      return null;
  }
}

/** Write pending unwind elements back into their documents (json_set), in unwind order. */
function settle(chain: Chain, rel: Rel): Rel {
  const d = chain.d;
  if (rel.overrides.length === 0) return rel;
  const select = visible(rel.shape).map((c) => {
    let value = col("p", c.name);
    for (const o of rel.overrides)
      if (o.column === c.name) value = d.jsonReplaceAt(value, o.path, col("p", o.element));
    return sql`${value} AS ${sql.id(c.name)}`;
  });
  const name = chain.add(
    sql`SELECT ${sql.join([...select, ...carryOrder("p", rel.order)])} FROM ${sql.id(rel.name)} AS "p"`,
  );
  return { ...rel, name, overrides: [] };
}

/** The relation a stage reads and how its references resolve there. */
interface View {
  readonly rel: Rel;
  ref(ref: StatRef): StatRef;
  cond(c: StatCondition): StatCondition;
}

function view(
  chain: Chain,
  rel: Rel,
  refs: readonly StatRef[],
  conds: readonly StatCondition[],
  force = false,
): View {
  const clean =
    !force &&
    refs.every((r) => redirect(r, rel) !== null) &&
    conds.every((c) => redirectCondition(c, rel) !== null);
  if (!clean) return { rel: settle(chain, rel), ref: (r) => r, cond: (c) => c };
  return {
    rel,
    ref: (r) => redirect(r, rel) as StatRef,
    cond: (c) => redirectCondition(c, rel) as StatCondition,
  };
}

// ---- stages -------------------------------------------------------------------------------------

function sortStage(chain: Chain, input: Rel, stage: Extract<Stage, { type: "sort" }>): Rel {
  const d = chain.d;
  const { rel, ref } = view(
    chain,
    input,
    stage.keys.map((k) => k.field),
    [],
  );
  const keys = stage.keys.map((k) => ({
    col: chain.fresh("__o"),
    desc: k.desc,
    expr: refSortable(d, ref(k.field), "p"),
  }));
  const select = [
    ...carry("p", visible(rel.shape)),
    ...keys.map((k) => sql`${k.expr} AS ${sql.id(k.col)}`),
    ...carryHidden("p", rel),
  ];
  const name = chain.add(sql`SELECT ${sql.join(select)} FROM ${sql.id(rel.name)} AS "p"`);
  return {
    name,
    shape: stage.output,
    order: [...keys.map(({ col, desc }) => ({ col, desc })), ...rel.order],
    overrides: rel.overrides,
  };
}

function sliceStage(chain: Chain, rel: Rel, stage: Extract<Stage, { type: "limit" | "skip" }>): Rel {
  const d = chain.d;
  const select = [...carry("p", visible(rel.shape)), ...carryHidden("p", rel)];
  const slice = stage.type === "limit" ? d.limitOffset(stage.count, 0) : d.limitOffset(null, stage.count);
  const name = chain.add(
    sql`SELECT ${sql.join(select)} FROM ${sql.id(rel.name)} AS "p"${orderClause(d, "p", rel.order)}${slice}`,
  );
  return { ...rel, name, shape: stage.output };
}

function unwindStage(chain: Chain, input: Rel, stage: Extract<Stage, { type: "unwind" }>): Rel {
  const d = chain.d;
  const path = stage.path;
  // Unwinding inside (or around) a value already unwound: write that one back first.
  const overlaps = input.overrides.some(
    (o) => o.column === path.column && (startsWith(o.path, path.path) || startsWith(path.path, o.path)),
  );
  const rel = overlaps ? settle(chain, input) : input;
  const base = col("p", path.column);
  const element = d.elementJson("__e");
  const index = chain.fresh("__o");
  const direct = path.path.length === 0;
  const select = visible(rel.shape).map((c) =>
    direct && c.name === path.column
      ? sql`${element} AS ${sql.id(c.name)}`
      : sql`${col("p", c.name)} AS ${sql.id(c.name)}`,
  );
  select.push(...carryHidden("p", rel), sql`${d.elementKey("__e")} AS ${sql.id(index)}`);
  const overrides = [...rel.overrides];
  if (!direct) {
    const held = chain.fresh("__u");
    select.push(sql`${element} AS ${sql.id(held)}`);
    overrides.push({ column: path.column, path: path.path, element: held });
  }
  const name = chain.add(
    sql`SELECT ${sql.join(select)} FROM ${sql.id(rel.name)} AS "p", ${d.eachElement(base, path.path)} AS "__e"`,
  );
  let out: Rel = { name, shape: stage.output, order: [...rel.order, { col: index, desc: false }], overrides };
  if (stage.filter.length > 0) {
    // A separate CTE: the filter sees the unwound element, not the list.
    const v = view(chain, out, [], stage.filter);
    const where = and(
      d,
      stage.filter.map((c) => compileStatCondition(d, v.cond(c), "p")),
    );
    out = { ...v.rel, name: chain.add(sql`SELECT * FROM ${sql.id(v.rel.name)} AS "p" WHERE ${where}`) };
  }
  return out;
}

function countStage(chain: Chain, rel: Rel, stage: Extract<Stage, { type: "count" }>): Rel {
  // HAVING: Mongo's $count emits no row for no input (docs/compatibility.md, "Stat", quirk 3).
  const name = chain.add(
    sql`SELECT count(*) AS ${sql.id(stage.name)} FROM ${sql.id(rel.name)} AS "p" HAVING count(*) > 0`,
  );
  return { name, shape: stage.output, order: [], overrides: [] };
}

function keyExpr(d: Dialect, key: GroupKey, alias: string): Expr {
  if (key.dateFormat === null) return refValue(d, key.field, alias);
  const value = refSortable(d, key.field, alias);
  return key.dateFormat.kind === "strftime"
    ? d.formatDatetime(key.dateFormat.format, value)
    : d.datePart(key.dateFormat.kind, value);
}

/** The hidden per-row columns one group field needs in the pre-aggregation CTE. */
interface FieldPlan {
  readonly field: GroupField;
  value?: string;
  sortable?: string;
  condition?: string;
  window?: string;
  merged?: string;
}

function groupStage(chain: Chain, input: Rel, stage: Extract<Stage, { type: "group" }>): Rel {
  const d = chain.d;
  const refs = [
    ...stage.keys.map((k) => k.field),
    ...stage.fields.flatMap((f) =>
      "subFields" in f ? f.subFields.map((s) => s.field) : "field" in f ? [f.field] : [],
    ),
  ];
  const conditions = stage.fields.flatMap((f) => ("conditions" in f ? f.conditions : []));
  const { rel, ref, cond } = view(chain, input, refs, conditions);
  const keyCols = stage.keys.map(() => chain.fresh("__k"));
  const keyKinds = stage.output.kind === "named" ? stage.output.columns.map((c) => c.kind) : [];

  // 1. Per row: key values, field inputs, condition flags, the stream order.
  const pre: Expr[] = stage.keys.map(
    (k, i) => sql`${keyExpr(d, { ...k, field: ref(k.field) }, "p")} AS ${sql.id(keyCols[i] as string)}`,
  );
  const plans: FieldPlan[] = stage.fields.map((field) => {
    const plan: FieldPlan = { field };
    if ("conditions" in field && field.conditions.length > 0) {
      plan.condition = chain.fresh("__c");
      const test = and(
        d,
        field.conditions.map((c) => compileStatCondition(d, cond(c), "p")),
      );
      pre.push(sql`(CASE WHEN ${test} THEN 1 ELSE 0 END) AS ${sql.id(plan.condition)}`);
    }
    if (field.op === "count") return plan;
    plan.value = chain.fresh("__v");
    let value: Expr;
    if (field.op === "push" && "subFields" in field) {
      value = d.jsonObject(
        field.subFields.map(
          (s) => [s.name, embedOf(d, refValue(d, ref(s.field), "p"), s.field.kind)] as const,
        ),
      );
    } else if ("field" in field) {
      const at = ref(field.field);
      value = field.op === "sum" || field.op === "average" ? refNumber(d, at, "p") : refValue(d, at, "p");
    } else {
      value = sql`NULL`;
    }
    pre.push(sql`${value} AS ${sql.id(plan.value)}`);
    if (
      field.op === "add_to_set" ||
      ((field.op === "max" || field.op === "min") && field.field.kind === "json")
    ) {
      plan.sortable = chain.fresh("__v");
      pre.push(sql`${refSortable(d, ref(field.field), "p")} AS ${sql.id(plan.sortable)}`);
    }
    return plan;
  });
  pre.push(...carryOrder("p", rel.order));
  let rows = chain.add(sql`SELECT ${sql.join(pre)} FROM ${sql.id(rel.name)} AS "p"`);

  // 2. Window values: first/last in stream order, max/min of JSON values with their JSON type.
  const partition = (alias: string) => keyCols.map((k) => col(alias, k));
  const windows: Expr[] = [];
  for (const plan of plans) {
    const op = plan.field.op;
    const value = plan.value as string;
    let order: OrderTerm[] | null = null;
    if (op === "first") order = orderTerms("w", rel.order);
    else if (op === "last") order = orderTerms("w", rel.order, true);
    else if ((op === "max" || op === "min") && plan.sortable) {
      order = [{ expr: col("w", plan.sortable), desc: op === "max", nullsLast: true }];
    }
    if (order === null) continue;
    plan.window = chain.fresh("__w");
    windows.push(sql`${firstValueOver(d, col("w", value), partition("w"), order)} AS ${sql.id(plan.window)}`);
  }
  if (windows.length > 0)
    rows = chain.add(sql`SELECT "w".*, ${sql.join(windows)} FROM ${sql.id(rows)} AS "w"`);

  // 3. merge_objects: a shallow merge in stream order (later rows win per top-level member).
  for (const plan of plans) {
    if (plan.field.op !== "merge_objects") continue;
    const rank = chain.fresh("__t");
    const members = chain.add(
      sql`SELECT ${sql.join([
        ...keyCols.map((k) => sql`${col("m", k)} AS ${sql.id(k)}`),
        sql`${d.elementKey("__e")} AS "__mk"`,
        sql`${d.elementJson("__e")} AS "__mv"`,
        sql`${rowNumberOver(d, [...partition("m"), d.elementKey("__e")], orderTerms("m", rel.order, true))} AS ${sql.id(rank)}`,
      ])} FROM ${sql.id(rows)} AS "m", ${d.eachMember(col("m", plan.value as string))} AS "__e"`,
    );
    const groupBy = keyCols.length > 0 ? sql` GROUP BY ${sql.join(keyCols.map((k) => sql.id(k)))}` : sql``;
    plan.merged = chain.add(
      sql`SELECT ${sql.join([
        ...keyCols.map((k) => sql.id(k)),
        sql`${d.jsonObjectAgg(sql`"__mk"`, sql`"__mv"`)} AS "__m"`,
      ])} FROM ${sql.id(members)} WHERE ${sql.id(rank)} = 1${groupBy}`,
    );
  }

  // 4. The aggregate, one row per key combination, ordered by the keys.
  const stream = orderTerms("g", rel.order);
  const select: Expr[] = stage.keys.map(
    (k, i) => sql`${col("g", keyCols[i] as string)} AS ${sql.id(k.name)}`,
  );
  for (const plan of plans) {
    select.push(sql`${aggregate(d, plan, stream, keyCols)} AS ${sql.id(plan.field.name)}`);
  }
  const order: OrderCol[] = keyCols.map((k, i) => {
    const o = chain.fresh("__o");
    select.push(sql`${sortableOf(d, col("g", k), keyKinds[i] as ValueKind)} AS ${sql.id(o)}`);
    return { col: o, desc: false };
  });
  let tail: Expr;
  if (keyCols.length > 0) {
    tail = sql` GROUP BY ${sql.join(keyCols.map((k) => col("g", k)))}`;
  } else {
    // Mongo's $group emits no row for no input; an SQL aggregate would emit one. The hidden count
    // keeps the select an aggregate even when every field is a subquery (merge_objects).
    select.push(sql`count(*) AS ${sql.id(chain.fresh("__t"))}`);
    tail = sql` HAVING count(*) > 0`;
  }
  const name = chain.add(sql`SELECT ${sql.join(select)} FROM ${sql.id(rows)} AS "g"${tail}`);
  return { name, shape: stage.output, order, overrides: [] };
}

function aggregate(
  d: Dialect,
  plan: FieldPlan,
  stream: readonly OrderTerm[],
  keyCols: readonly string[],
): Expr {
  const f = plan.field;
  const value = plan.value ? col("g", plan.value) : sql`NULL`;
  const flag = plan.condition ? col("g", plan.condition) : null;
  switch (f.op) {
    case "count":
      return flag ? sql`sum(${flag})` : sql`count(*)`;
    case "sum":
      // A float sum that never overflows; no number at all sums to 0 (Mongo $sum).
      return d.floatSum(flag ? sql`CASE WHEN ${flag} = 1 THEN ${value} END` : value);
    case "average":
      // Upstream: {$avg: {$cond: [conditions, "$key", 0]}}: rows failing the conditions count as 0.
      return flag ? sql`avg(CASE WHEN ${flag} = 1 THEN ${value} ELSE 0 END)` : sql`avg(${value})`;
    case "max":
    case "min":
      if (plan.window) return sql`min(${col("g", plan.window)})`;
      return f.op === "max" ? sql`max(${value})` : sql`min(${value})`;
    case "first":
    case "last":
      // Every row of the group carries the same window value; min() picks it.
      return sql`min(${col("g", plan.window as string)})`;
    case "add_to_set": {
      const kind = f.field.kind;
      const sortable = plan.sortable ? col("g", plan.sortable) : value;
      return d.jsonArrayAgg(embedOf(d, value, kind), {
        distinct: true,
        order: [
          { expr: sortable, desc: false },
          { expr: value, desc: false },
        ],
        where: sql`${value} IS NOT NULL`,
      });
    }
    case "push":
      if ("subFields" in f) return d.jsonArrayAgg(d.embedJson(value), { order: stream });
      return d.jsonArrayAgg(embedOf(d, value, f.field.kind), {
        order: stream,
        where: sql`${value} IS NOT NULL`,
      });
    case "merge_objects": {
      const match = keyCols.map((k) => d.nullSafeEquals(col("m", k), col("g", k)));
      const where = match.length > 0 ? sql` WHERE ${sql.join(match, sql` AND `)}` : sql``;
      return sql`coalesce((SELECT "m"."__m" FROM ${sql.id(plan.merged as string)} AS "m"${where}), ${d.emptyObject})`;
    }
  }
}

function projectExpr(d: Dialect, field: ProjectField): Expr {
  const value = refValue(d, field.field, "p");
  switch (field.op) {
    case null:
      return value;
    case "size":
      return d.arraySize(value);
    case "sum":
      return field.field.kind === "number" ? sql`coalesce(${value}, 0)` : d.arraySum(value);
    case "array_to_object":
      return d.arrayToObject(value);
    case "object_to_array":
      return d.objectToArray(value);
  }
}

function projectStage(chain: Chain, input: Rel, stage: Extract<Stage, { type: "project" }>): Rel {
  const d = chain.d;
  const columns = stage.output.kind === "named" ? stage.output.columns : [];
  // Kept group keys are copied whole: one with an unwound path inside must be written back first.
  const keptUnwound = input.overrides.some((o) => columns.some((c) => c.key && c.name === o.column));
  const { rel, ref } = view(
    chain,
    input,
    stage.fields.map((f) => f.field),
    [],
    keptUnwound,
  );
  const select = columns.map((c) => {
    const field = c.key ? undefined : stage.fields.find((f) => f.name === c.name);
    const value = field ? projectExpr(d, { ...field, field: ref(field.field) }) : col("p", c.name);
    return sql`${value} AS ${sql.id(c.name)}`;
  });
  select.push(...carryOrder("p", rel.order));
  const name = chain.add(sql`SELECT ${sql.join(select)} FROM ${sql.id(rel.name)} AS "p"`);
  return { name, shape: stage.output, order: rel.order, overrides: [] };
}

function compileStage(chain: Chain, rel: Rel, stage: Stage): Rel {
  switch (stage.type) {
    case "group":
      return groupStage(chain, rel, stage);
    case "unwind":
      return unwindStage(chain, rel, stage);
    case "count":
      return countStage(chain, rel, stage);
    case "sort":
      return sortStage(chain, rel, stage);
    case "project":
      return projectStage(chain, rel, stage);
    case "limit":
    case "skip":
      return sliceStage(chain, rel, stage);
  }
}

// ---- the statement ------------------------------------------------------------------------------

function paging(
  page: Page,
  options: StatCompileOptions,
): { limit: number; offset: number; cap: number | null } {
  if (page.limit !== null) return { limit: page.limit, offset: page.offset, cap: null };
  return { limit: options.maxRows + 1, offset: 0, cap: options.maxRows };
}

function compileDistinct(
  d: Dialect,
  query: Extract<StatQuery, { type: "distinct" }>,
  options: StatCompileOptions,
): StatPlan {
  const chain = new Chain(d);
  const rel = source(chain, query.where);
  const field = query.field;
  let values: string;
  let valueKind: ValueKind;
  let order: Expr;
  if (field.path.length === 0) {
    const value = col("p", field.column);
    valueKind = valueKindOf(JOB_FIELDS[field.column].type);
    values = chain.add(
      sql`SELECT DISTINCT ${value} AS "value" FROM ${sql.id(rel.name)} AS "p" WHERE ${value} IS NOT NULL`,
    );
    order = sql`"d"."value" ASC`;
  } else {
    // Mongo's distinct counts each element of a list as a value of its own.
    valueKind = "json";
    values = chain.add(
      sql`SELECT DISTINCT ${d.elementJson("__e")} AS "value" FROM ${sql.id(rel.name)} AS "p", ${d.eachElement(
        col("p", field.column),
        field.path,
      )} AS "__e" WHERE NOT ${d.elementIsNull("__e")}`,
    );
    order = sql`${d.jsonScalarAt(sql`"d"."value"`, [])} ASC, "d"."value" ASC`;
  }
  const { limit, offset, cap } = paging(query.page, options);
  return {
    rows: chain.statement(
      sql`SELECT "d"."value" AS "value" FROM ${sql.id(values)} AS "d" ORDER BY ${order}${d.limitOffset(limit, offset)}`,
    ),
    total:
      query.page.limit !== null ? chain.statement(sql`SELECT count(*) AS "n" FROM ${sql.id(values)}`) : null,
    result: { kind: "values", valueKind },
    cap,
  };
}

/**
 * Compile a stat query (with the caller's scope already in `where`) to the statements that
 * answer it. Both statements, when there are two, must run in one read transaction.
 */
export function compileStat(d: Dialect, query: StatQuery, options: StatCompileOptions): StatPlan {
  if (query.type === "distinct") return compileDistinct(d, query, options);
  const chain = new Chain(d);
  let rel = source(chain, query.where);
  for (const stage of query.stages) rel = compileStage(chain, rel, stage);
  rel = settle(chain, rel);
  const columns = visible(rel.shape);
  const { limit, offset, cap } = paging(query.page, options);
  const rows = chain.statement(
    sql`SELECT ${sql.join(carry("r", columns))} FROM ${sql.id(rel.name)} AS "r"${orderClause(
      d,
      "r",
      rel.order,
    )}${d.limitOffset(limit, offset)}`,
  );
  const total =
    query.page.limit !== null ? chain.statement(sql`SELECT count(*) AS "n" FROM ${sql.id(rel.name)}`) : null;
  const result: StatResultShape =
    rel.shape.kind === "jobs" ? { kind: "jobs" } : { kind: "named", columns: rel.shape.columns };
  return { rows, total, result, cap };
}
