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
 * final ORDER BY), so a plain group-by never sorts the jobs.
 *
 * Values. `json` values travel as JSON text (dialect/sqlite-stat.ts); the plan tells the caller
 * which result columns to parse. Names become column aliases (quoted) or bound `json_object` keys,
 * never SQL text.
 */
import { type RawBuilder, type SqlBool, sql } from "kysely";
import type { Page, Scalar, Where } from "../query/ast.js";
import { type FieldType, JOB_COLUMNS, JOB_FIELDS } from "../query/fields.js";
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
import { builder, containsCI } from "./dialect/sqlite.js";
import {
  arraySize,
  arraySum,
  arrayToObject,
  COMPARATORS,
  datePart,
  type Expr,
  eachElement,
  eachMember,
  eachValueJson,
  embedJson,
  firstValueOver,
  formatDatetime,
  jsonArrayAgg,
  jsonAt,
  jsonCompare,
  jsonEquals,
  jsonNumberAt,
  jsonObject,
  jsonObjectAgg,
  jsonReplaceAt,
  jsonScalarAt,
  jsonTypeAt,
  type OrderTerm,
  objectToArray,
  orderList,
  rowNumberOver,
  scalarParam,
} from "./dialect/sqlite-stat.js";

type Bool = RawBuilder<SqlBool>;

export interface CompiledSql {
  readonly sql: string;
  readonly parameters: readonly unknown[];
}

/** How the result rows are turned into JSON (job-stat.ts). */
export type StatResultShape =
  | { readonly kind: "jobs" }
  | { readonly kind: "named"; readonly columns: readonly NamedColumn[] }
  | { readonly kind: "values"; readonly valueKind: ValueKind };

export interface StatPlan {
  /** The result rows: one page (`page.limit`), or at most `cap + 1` rows without a page limit. */
  readonly rows: CompiledSql;
  /** `total_count` (rows before paging): only when the request is paged (docs/compatibility.md, "Stat"). */
  readonly total: CompiledSql | null;
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

  statement(select: Expr): CompiledSql {
    const compiled = sql`WITH ${sql.join(this.ctes)} ${select}`.compile(builder);
    return { sql: compiled.sql, parameters: compiled.parameters };
  }
}

// ---- values of the current row ------------------------------------------------------------------

function kindOfType(type: FieldType): ValueKind {
  if (type === "datetime" || type === "json" || type === "number") return type;
  return "string";
}

const JOB_VISIBLE: readonly Column[] = JOB_COLUMNS.map((name) => ({
  name,
  kind: kindOfType(JOB_FIELDS[name].type),
}));

function visible(shape: RowShape): readonly Column[] {
  return shape.kind === "jobs" ? JOB_VISIBLE : shape.columns;
}

function col(alias: string, name: string): Expr {
  return sql.id(alias, name);
}

/** The stored representation: SQL value, or JSON text (NULL when missing/null) for json. */
function refValue(ref: StatRef, alias: string): Expr {
  const base = col(alias, ref.column);
  return ref.kind === "json" ? jsonAt(base, ref.path) : base;
}

/** A value to order and compare by: json values as their SQL value (json_extract). */
function refSortable(ref: StatRef, alias: string): Expr {
  const base = col(alias, ref.column);
  return ref.kind === "json" ? jsonScalarAt(base, ref.path) : base;
}

/** A number or NULL (sum/average skip anything that is not a number, as Mongo does). */
function refNumber(ref: StatRef, alias: string): Expr {
  const base = col(alias, ref.column);
  return ref.kind === "json" ? jsonNumberAt(base, ref.path) : base;
}

/** The sortable form of a stored value of a kind (a hidden column or a stage-made one). */
function sortableOf(value: Expr, kind: ValueKind): Expr {
  return kind === "json" ? jsonScalarAt(value, []) : value;
}

/** A stored value as an element of a JSON constructor. */
function embedOf(value: Expr, kind: ValueKind): Expr {
  return kind === "json" ? embedJson(value) : value;
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

function orderClause(alias: string, order: readonly OrderCol[]): Expr {
  return order.length > 0 ? sql` ORDER BY ${orderList(orderTerms(alias, order))}` : sql``;
}

// ---- conditions ---------------------------------------------------------------------------------

function or(parts: Bool[]): Bool {
  if (parts.length === 0) return sql<SqlBool>`0`;
  return parts.length === 1 ? (parts[0] as Bool) : sql<SqlBool>`(${sql.join(parts, sql` OR `)})`;
}

function and(parts: Bool[]): Bool {
  if (parts.length === 0) return sql<SqlBool>`1`;
  return parts.length === 1 ? (parts[0] as Bool) : sql<SqlBool>`(${sql.join(parts, sql` AND `)})`;
}

/** NOT that reads NULL (unknown) as false first, as compile-where does: `not` matches missing. */
function notTrue(expr: Bool): Bool {
  return sql<SqlBool>`coalesce(${expr}, 0) = 0`;
}

/**
 * A stage condition against the rows of `alias`. On job rows: the list filter's compiler (its
 * column references are unqualified, so the caller selects from that one relation only). On
 * named rows: the same semantics (typed JSON equality, elements of lists match eq, `not`/`not_in`
 * also match missing, case-insensitive literal `contain`) over stage-made values.
 */
function compileStatCondition(c: StatCondition, alias: string): Bool {
  if (c.on === "job") return compileCondition(c.condition);
  const ref = c.ref;
  const base = col(alias, ref.column);
  const json = ref.kind === "json";
  const equals = (v: Scalar): Bool => {
    if (v === null) return sql<SqlBool>`${refValue(ref, alias)} IS NULL`;
    return json ? jsonEquals(base, ref.path, v) : sql<SqlBool>`${base} = ${scalarParam(v)}`;
  };
  const contains = (needle: string): Bool =>
    json
      ? sql<SqlBool>`(${jsonTypeAt(base, ref.path)} = 'text' AND ${containsCI(jsonScalarAt(base, ref.path), needle)})`
      : (containsCI(base, needle) as Bool);
  switch (c.op) {
    case "eq":
      return equals(c.value);
    case "not":
      return c.value === null ? sql<SqlBool>`${refValue(ref, alias)} IS NOT NULL` : notTrue(equals(c.value));
    case "gt":
    case "gte":
    case "lt":
    case "lte":
      return json
        ? jsonCompare(base, ref.path, c.op, c.value)
        : sql<SqlBool>`${base} ${sql.raw(COMPARATORS[c.op] as string)} ${scalarParam(c.value)}`;
    case "in":
      return or(c.values.map(equals));
    case "not_in":
      return notTrue(or(c.values.map(equals)));
    case "contain":
      return contains(c.value);
    case "not_contain":
      return notTrue(contains(c.value));
    case "contain_in":
      return or(c.values.map(contains));
    case "not_contain_in":
      // "Contains none of the values", as the list filter decides (upstream's $nor here agrees).
      return and(c.values.map((v) => notTrue(contains(v))));
  }
}

// ---- stages -------------------------------------------------------------------------------------

function source(chain: Chain, where: Where): Rel {
  const created = chain.fresh("__o");
  const seq = chain.fresh("__o");
  const query = builder
    .selectFrom("jobs")
    .selectAll()
    .select([sql<string>`${sql.ref("created_at")}`.as(created), sql<number>`${sql.ref("seq")}`.as(seq)])
    .where(compileWhere(where));
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
  if (rel.overrides.length === 0) return rel;
  const select = visible(rel.shape).map((c) => {
    let value = col("p", c.name);
    for (const o of rel.overrides)
      if (o.column === c.name) value = jsonReplaceAt(value, o.path, col("p", o.element));
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
  const { rel, ref } = view(
    chain,
    input,
    stage.keys.map((k) => k.field),
    [],
  );
  const keys = stage.keys.map((k) => ({
    col: chain.fresh("__o"),
    desc: k.desc,
    expr: refSortable(ref(k.field), "p"),
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
  const select = [...carry("p", visible(rel.shape)), ...carryHidden("p", rel)];
  const slice = stage.type === "limit" ? sql` LIMIT ${stage.count}` : sql` LIMIT -1 OFFSET ${stage.count}`;
  const name = chain.add(
    sql`SELECT ${sql.join(select)} FROM ${sql.id(rel.name)} AS "p"${orderClause("p", rel.order)}${slice}`,
  );
  return { ...rel, name, shape: stage.output };
}

function unwindStage(chain: Chain, input: Rel, stage: Extract<Stage, { type: "unwind" }>): Rel {
  const path = stage.path;
  // Unwinding inside (or around) a value already unwound: write that one back first.
  const overlaps = input.overrides.some(
    (o) => o.column === path.column && (startsWith(o.path, path.path) || startsWith(path.path, o.path)),
  );
  const rel = overlaps ? settle(chain, input) : input;
  const base = col("p", path.column);
  const element = eachValueJson("__e");
  const index = chain.fresh("__o");
  const direct = path.path.length === 0;
  const select = visible(rel.shape).map((c) =>
    direct && c.name === path.column
      ? sql`${element} AS ${sql.id(c.name)}`
      : sql`${col("p", c.name)} AS ${sql.id(c.name)}`,
  );
  select.push(...carryHidden("p", rel), sql`${col("__e", "key")} AS ${sql.id(index)}`);
  const overrides = [...rel.overrides];
  if (!direct) {
    const held = chain.fresh("__u");
    select.push(sql`${element} AS ${sql.id(held)}`);
    overrides.push({ column: path.column, path: path.path, element: held });
  }
  const name = chain.add(
    sql`SELECT ${sql.join(select)} FROM ${sql.id(rel.name)} AS "p", ${eachElement(base, path.path)} AS "__e"`,
  );
  let out: Rel = { name, shape: stage.output, order: [...rel.order, { col: index, desc: false }], overrides };
  if (stage.filter.length > 0) {
    // A separate CTE: the filter sees the unwound element, not the list.
    const v = view(chain, out, [], stage.filter);
    const where = and(stage.filter.map((c) => compileStatCondition(v.cond(c), "p")));
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

function keyExpr(key: GroupKey, alias: string): Expr {
  if (key.dateFormat === null) return refValue(key.field, alias);
  const value = refSortable(key.field, alias);
  return key.dateFormat.kind === "strftime"
    ? formatDatetime(key.dateFormat.format, value)
    : datePart(key.dateFormat.kind, value);
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
    (k, i) => sql`${keyExpr({ ...k, field: ref(k.field) }, "p")} AS ${sql.id(keyCols[i] as string)}`,
  );
  const plans: FieldPlan[] = stage.fields.map((field) => {
    const plan: FieldPlan = { field };
    if ("conditions" in field && field.conditions.length > 0) {
      plan.condition = chain.fresh("__c");
      const test = and(field.conditions.map((c) => compileStatCondition(cond(c), "p")));
      pre.push(sql`(CASE WHEN ${test} THEN 1 ELSE 0 END) AS ${sql.id(plan.condition)}`);
    }
    if (field.op === "count") return plan;
    plan.value = chain.fresh("__v");
    let value: Expr;
    if (field.op === "push" && "subFields" in field) {
      value = jsonObject(
        field.subFields.map((s) => [s.name, embedOf(refValue(ref(s.field), "p"), s.field.kind)] as const),
      );
    } else if ("field" in field) {
      const at = ref(field.field);
      value = field.op === "sum" || field.op === "average" ? refNumber(at, "p") : refValue(at, "p");
    } else {
      value = sql`NULL`;
    }
    pre.push(sql`${value} AS ${sql.id(plan.value)}`);
    if (
      field.op === "add_to_set" ||
      ((field.op === "max" || field.op === "min") && field.field.kind === "json")
    ) {
      plan.sortable = chain.fresh("__v");
      pre.push(sql`${refSortable(ref(field.field), "p")} AS ${sql.id(plan.sortable)}`);
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
    windows.push(sql`${firstValueOver(col("w", value), partition("w"), order)} AS ${sql.id(plan.window)}`);
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
        sql`${col("__e", "key")} AS "__mk"`,
        sql`${eachValueJson("__e")} AS "__mv"`,
        sql`${rowNumberOver([...partition("m"), col("__e", "key")], orderTerms("m", rel.order, true))} AS ${sql.id(rank)}`,
      ])} FROM ${sql.id(rows)} AS "m", ${eachMember(col("m", plan.value as string))} AS "__e"`,
    );
    const groupBy = keyCols.length > 0 ? sql` GROUP BY ${sql.join(keyCols.map((k) => sql.id(k)))}` : sql``;
    plan.merged = chain.add(
      sql`SELECT ${sql.join([
        ...keyCols.map((k) => sql.id(k)),
        sql`${jsonObjectAgg(sql`"__mk"`, sql`"__mv"`)} AS "__m"`,
      ])} FROM ${sql.id(members)} WHERE ${sql.id(rank)} = 1${groupBy}`,
    );
  }

  // 4. The aggregate, one row per key combination, ordered by the keys.
  const stream = orderTerms("g", rel.order);
  const select: Expr[] = stage.keys.map(
    (k, i) => sql`${col("g", keyCols[i] as string)} AS ${sql.id(k.name)}`,
  );
  for (const plan of plans) {
    select.push(sql`${aggregate(plan, stream, keyCols)} AS ${sql.id(plan.field.name)}`);
  }
  const order: OrderCol[] = keyCols.map((k, i) => {
    const o = chain.fresh("__o");
    select.push(sql`${sortableOf(col("g", k), keyKinds[i] as ValueKind)} AS ${sql.id(o)}`);
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

function aggregate(plan: FieldPlan, stream: readonly OrderTerm[], keyCols: readonly string[]): Expr {
  const f = plan.field;
  const value = plan.value ? col("g", plan.value) : sql`NULL`;
  const flag = plan.condition ? col("g", plan.condition) : null;
  switch (f.op) {
    case "count":
      return flag ? sql`sum(${flag})` : sql`count(*)`;
    case "sum":
      // total(): a float sum that never overflows; no number at all sums to 0 (Mongo $sum).
      return flag ? sql`total(CASE WHEN ${flag} = 1 THEN ${value} END)` : sql`total(${value})`;
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
      return jsonArrayAgg(embedOf(value, kind), {
        distinct: true,
        order: [
          { expr: sortable, desc: false },
          { expr: value, desc: false },
        ],
        where: sql`${value} IS NOT NULL`,
      });
    }
    case "push":
      if ("subFields" in f) return jsonArrayAgg(embedJson(value), { order: stream });
      return jsonArrayAgg(embedOf(value, f.field.kind), { order: stream, where: sql`${value} IS NOT NULL` });
    case "merge_objects": {
      const match = keyCols.map((k) => sql`${col("m", k)} IS ${col("g", k)}`);
      const where = match.length > 0 ? sql` WHERE ${sql.join(match, sql` AND `)}` : sql``;
      return sql`coalesce((SELECT "m"."__m" FROM ${sql.id(plan.merged as string)} AS "m"${where}), '{}')`;
    }
  }
}

function projectExpr(field: ProjectField): Expr {
  const value = refValue(field.field, "p");
  switch (field.op) {
    case null:
      return value;
    case "size":
      return arraySize(value);
    case "sum":
      return field.field.kind === "number" ? sql`coalesce(${value}, 0)` : arraySum(value);
    case "array_to_object":
      return arrayToObject(value);
    case "object_to_array":
      return objectToArray(value);
  }
}

function projectStage(chain: Chain, input: Rel, stage: Extract<Stage, { type: "project" }>): Rel {
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
    const value = field ? projectExpr({ ...field, field: ref(field.field) }) : col("p", c.name);
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
  query: Extract<StatQuery, { type: "distinct" }>,
  options: StatCompileOptions,
): StatPlan {
  const chain = new Chain();
  const rel = source(chain, query.where);
  const field = query.field;
  let values: string;
  let valueKind: ValueKind;
  let order: Expr;
  if (field.path.length === 0) {
    const value = col("p", field.column);
    valueKind = kindOfType(JOB_FIELDS[field.column].type);
    values = chain.add(
      sql`SELECT DISTINCT ${value} AS "value" FROM ${sql.id(rel.name)} AS "p" WHERE ${value} IS NOT NULL`,
    );
    order = sql`"d"."value" ASC`;
  } else {
    // Mongo's distinct counts each element of a list as a value of its own.
    valueKind = "json";
    values = chain.add(
      sql`SELECT DISTINCT ${eachValueJson("__e")} AS "value" FROM ${sql.id(rel.name)} AS "p", ${eachElement(
        col("p", field.column),
        field.path,
      )} AS "__e" WHERE ${col("__e", "type")} <> 'null'`,
    );
    order = sql`${jsonScalarAt(sql`"d"."value"`, [])} ASC, "d"."value" ASC`;
  }
  const { limit, offset, cap } = paging(query.page, options);
  return {
    rows: chain.statement(
      sql`SELECT "d"."value" AS "value" FROM ${sql.id(values)} AS "d" ORDER BY ${order} LIMIT ${limit} OFFSET ${offset}`,
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
export function compileStat(query: StatQuery, options: StatCompileOptions): StatPlan {
  if (query.type === "distinct") return compileDistinct(query, options);
  const chain = new Chain();
  let rel = source(chain, query.where);
  for (const stage of query.stages) rel = compileStage(chain, rel, stage);
  rel = settle(chain, rel);
  const columns = visible(rel.shape);
  const { limit, offset, cap } = paging(query.page, options);
  const rows = chain.statement(
    sql`SELECT ${sql.join(carry("r", columns))} FROM ${sql.id(rel.name)} AS "r"${orderClause(
      "r",
      rel.order,
    )} LIMIT ${limit} OFFSET ${offset}`,
  );
  const total =
    query.page.limit !== null ? chain.statement(sql`SELECT count(*) AS "n" FROM ${sql.id(rel.name)}`) : null;
  const result: StatResultShape =
    rel.shape.kind === "jobs" ? { kind: "jobs" } : { kind: "named", columns: rel.shape.columns };
  return { rows, total, result, cap };
}
