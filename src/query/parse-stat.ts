/**
 * A SpaceONE `StatisticsQuery` (proto JSON with proto field names, docs/compatibility.md, "Stat") -> a validated
 * `StatQuery` (stat-ast.ts).
 *
 * The parser walks the `aggregate` pipeline in order and tracks which names exist at each point,
 * as the upstream Mongo pipeline does (docs/compatibility.md, "Stat"): while rows are jobs every catalogued field is
 * there (`status`, `options.provider`); after a `group` only its key and field names exist; a
 * `project` keeps the group keys (unless `exclude_keys`) plus the names it makes; `count`
 * leaves one name; `unwind` keeps the row and replaces the unwound value by one element.
 *
 * Every problem is an `invalid_argument` whose message names the request path, e.g.
 * `query.aggregate[1].group.fields[0].operator`. Upstream answers most of these with INTERNAL
 * (`ERROR_DB_QUERY`, docs/compatibility.md, "Stat"); we do not.
 *
 * Names made by stages (group key/field names, push sub-field names, project names, the count
 * name) must match `NAME` below: they become SQL column aliases (always quoted) and result keys.
 */

import { STAT_KEYWORD_FIELDS } from "../catalogue/job-fields.js";
import { errors, show } from "../errors.js";
import type { Condition, FieldRef, Scalar } from "./ast.js";
import type { CostBudget } from "./cost.js";
import { isoValueToStorage } from "./datetime.js";
import { JOB_FIELDS, valueKindOf } from "./fields.js";
import {
  budgetOf,
  MAX_STRING_VALUE,
  parseCondition,
  parseConditions,
  parseFieldRef,
  validateJsonPath,
} from "./parse-filter.js";
import { keywordConditions, parsePage, type QueryContext } from "./parse-query.js";
import type {
  DateFormat,
  GroupConditionOp,
  GroupField,
  GroupFieldOp,
  GroupKey,
  NamedColumn,
  ProjectField,
  ProjectOp,
  PushSubField,
  RowShape,
  Stage,
  StatCondition,
  StatQuery,
  StatRef,
  StatSortKey,
  UnwindFilterOp,
  ValueKind,
} from "./stat-ast.js";

export type StatContext = QueryContext & { readonly budget: CostBudget };

/**
 * Stage-made names: a letter or `_`, then up to 63 letters, digits or `_`; a leading `__` is
 * reserved for the compiler's hidden columns. No dots: a dotted key means a path into a value.
 */
export const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const RESERVED_PREFIX = "__";

/**
 * Fixed bounds of the message's shape; the bounds on work and output are the cost model's
 * (cost.ts, configurable, checked through `ctx.budget`).
 */
export const STAT_LIMITS = {
  conditions: 32,
  sortKeys: 8,
  dateFormatLength: 64,
  /** Structural ceilings over any configured value, so a list is never read unbounded. */
  list: 1000,
} as const;

export const STAGE_TYPES = ["unwind", "group", "count", "sort", "project", "limit", "skip"] as const;

export const GROUP_OPERATORS: readonly GroupFieldOp[] = [
  "count",
  "sum",
  "average",
  "max",
  "min",
  "first",
  "last",
  "add_to_set",
  "merge_objects",
  "push",
];

export const GROUP_CONDITION_OPERATORS: readonly GroupConditionOp[] = ["eq", "not", "gt", "gte", "lt", "lte"];

export const UNWIND_FILTER_OPERATORS: readonly UnwindFilterOp[] = [
  "eq",
  "not",
  "in",
  "not_in",
  "contain",
  "not_contain",
  "contain_in",
  "not_contain_in",
];

export const PROJECT_OPERATORS: readonly ProjectOp[] = ["size", "sum", "array_to_object", "object_to_array"];

/**
 * strftime-style `date_format` directives accepted: those whose SQLite `strftime` meaning equals
 * Mongo `$dateToString`'s (the upstream implementation). Mongo's `%w` (1-7) and SQLite's (0-6)
 * differ, `%L`, `%z` and `%Z` have no SQLite twin: they are rejected rather than answered wrongly.
 * All times are UTC.
 */
export const DATE_FORMAT_DIRECTIVES: Readonly<Record<string, string>> = {
  Y: "year (0000-9999)",
  m: "month (01-12)",
  d: "day of month (01-31)",
  H: "hour (00-23)",
  M: "minute (00-59)",
  S: "second (00-59)",
  j: "day of year (001-366)",
  U: "week of year, weeks starting Sunday (00-53)",
  V: "ISO 8601 week number (01-53)",
  G: "ISO 8601 week-numbering year",
  u: "ISO 8601 day of week (1-7, Monday = 1)",
  "%": "a literal %",
};

type Json = Record<string, unknown>;

// ---- small helpers ------------------------------------------------------------------------------

function isObject(raw: unknown): raw is Json {
  return typeof raw === "object" && raw !== null && !Array.isArray(raw);
}

function asObject(raw: unknown, at: string): Json {
  if (!isObject(raw)) throw errors.invalidParameterType(at, "object");
  return raw;
}

/** An optional list; `undefined`/`null` are an empty list (proto3 omits empty repeated fields). */
function asList(raw: unknown, at: string, max: number): unknown[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw errors.invalidParameterType(at, "list");
  if (raw.length > max) throw errors.invalidParameter(at, `more than ${max} entries`);
  return raw;
}

/** Reject members the message does not have (a typo would otherwise be silently ignored). */
function onlyMembers(obj: Json, at: string, allowed: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      throw errors.invalidParameter(`${at}.${key}`, `unknown member; expected ${allowed.join(", ")}`);
    }
  }
}

/** One member of a proto oneof with a long and a short alias (`key`/`k`): both set is an error. */
function alias(obj: Json, long: string, short: string, at: string): unknown {
  const a = obj[long];
  const b = obj[short];
  if (a !== undefined && a !== null && b !== undefined && b !== null) {
    throw errors.invalidParameter(`${at}.${long}`, `give '${long}' or '${short}', not both`);
  }
  return a !== undefined && a !== null ? a : b;
}

/** `undefined`, `null` and `""` are all "absent": proto3 JSON omits empty strings. */
function present(value: unknown): boolean {
  return value !== undefined && value !== null && value !== "";
}

function parseName(raw: unknown, at: string): string {
  if (!present(raw)) throw errors.requiredParameter(at);
  if (typeof raw !== "string") throw errors.invalidParameterType(at, "string");
  if (!NAME.test(raw) || raw.startsWith(RESERVED_PREFIX)) {
    throw errors.invalidParameter(
      at,
      `invalid name ${show(raw, 80)}: use a letter or _ then up to 63 letters, digits or _ (no leading __)`,
    );
  }
  return raw;
}

function describe(ref: StatRef): string {
  return ref.kind === "json" ? "any JSON value" : `a ${ref.kind}`;
}

function namesOf(shape: RowShape): string {
  return shape.kind === "jobs"
    ? Object.keys(JOB_FIELDS).join(", ")
    : shape.columns.map((c) => c.name).join(", ");
}

// ---- references ---------------------------------------------------------------------------------

/**
 * Resolve a key against the rows at this point: job fields (via the catalogue, `parseFieldRef`)
 * while rows are jobs, otherwise a name an earlier stage made, optionally with a path into it.
 */
export function resolveRef(raw: unknown, at: string, shape: RowShape): StatRef {
  if (shape.kind === "jobs") {
    const field = parseFieldRef(raw, at);
    const kind = field.path.length > 0 ? "json" : valueKindOf(JOB_FIELDS[field.column].type);
    return { column: field.column, path: field.path, kind, text: field.name };
  }
  if (!present(raw)) throw errors.requiredParameter(at);
  if (typeof raw !== "string") throw errors.invalidParameterType(at, "string");
  const [name = "", ...path] = raw.split(".");
  const column = shape.columns.find((c) => c.name === name);
  if (!column) {
    throw errors.invalidParameter(
      at,
      `unknown name ${show(raw, 80)} at this point of the pipeline; names here: ${namesOf(shape) || "(none)"}`,
    );
  }
  if (path.length > 0) {
    if (column.kind !== "json") {
      throw errors.invalidParameter(at, `'${name}' is a ${column.kind} and has no sub-fields`);
    }
    validateJsonPath(path, at);
  }
  return { column: name, path, kind: path.length > 0 ? "json" : column.kind, text: raw };
}

// ---- conditions ---------------------------------------------------------------------------------

function text(value: unknown, at: string): string {
  if (typeof value !== "string") throw errors.invalidParameterType(at, "string");
  if (value.length > MAX_STRING_VALUE)
    throw errors.invalidParameter(at, `longer than ${MAX_STRING_VALUE} characters`);
  return value;
}

/** A value compared with a stage-made value, typed by what the pipeline knows of it. */
function namedScalar(value: unknown, ref: StatRef, at: string, allowNull: boolean): Scalar {
  if (value === null) {
    if (!allowNull) throw errors.invalidParameter(at, "null is not comparable");
    return null;
  }
  if (typeof value === "object") throw errors.invalidParameterType(at, "string, number, boolean or null");
  switch (ref.kind) {
    case "string":
      return text(value, at);
    case "datetime": {
      if (typeof value !== "string") throw errors.invalidParameterType(at, "ISO-8601 datetime string");
      return isoValueToStorage(value, at);
    }
    case "number":
      if (typeof value !== "number" || !Number.isFinite(value))
        throw errors.invalidParameterType(at, "number");
      return value;
    case "json":
      if (typeof value === "string") return text(value, at);
      if (typeof value === "number" && !Number.isFinite(value))
        throw errors.invalidParameter(at, "number is not finite");
      return value as Scalar;
  }
}

/**
 * One condition of a group field (`conditions`) or an unwind `filter`, with the operators that
 * place allows. On job rows the list filter's parser does the work (same messages, same value
 * rules); on named rows the value is checked against the kind of what it is compared with.
 */
function parseStatCondition(
  raw: unknown,
  at: string,
  shape: RowShape,
  allowed: readonly string[],
  ctx: StatContext,
): StatCondition {
  const obj = asObject(raw, at);
  onlyMembers(obj, at, ["key", "k", "value", "v", "operator", "o"]);
  const operator = alias(obj, "operator", "o", at);
  if (!present(operator)) throw errors.requiredParameter(`${at}.operator`);
  if (typeof operator !== "string" || !allowed.includes(operator)) {
    throw errors.invalidParameter(
      `${at}.operator`,
      `unsupported operator ${show(operator, 40)} here; supported: ${allowed.join(", ")}`,
    );
  }
  alias(obj, "key", "k", at);
  alias(obj, "value", "v", at);
  if (shape.kind === "jobs") {
    const condition: Condition = parseCondition(obj, at, ctx);
    return { on: "job", condition };
  }
  ctx.budget.condition(at);
  const ref = resolveRef(alias(obj, "key", "k", at), `${at}.key`, shape);
  const value = alias(obj, "value", "v", at);
  const valueAt = `${at}.value`;
  if (value === undefined) throw errors.requiredParameter(valueAt);
  const op = operator as UnwindFilterOp | GroupConditionOp;
  switch (op) {
    case "eq":
    case "not":
      if (Array.isArray(value)) throw errors.operatorValueType(ref.text, op, obj);
      return { on: "named", op, ref, value: namedScalar(value, ref, valueAt, true) };
    case "gt":
    case "gte":
    case "lt":
    case "lte":
      if (Array.isArray(value)) throw errors.operatorValueType(ref.text, op, obj);
      return {
        on: "named",
        op,
        ref,
        value: namedScalar(value, ref, valueAt, false) as string | number | boolean,
      };
    case "in":
    case "not_in":
      if (!Array.isArray(value)) throw errors.operatorListValueType(ref.text, op, obj);
      return {
        on: "named",
        op,
        ref,
        values: listValues(value, valueAt, ctx).map((v, i) => namedScalar(v, ref, `${valueAt}[${i}]`, true)),
      };
    case "contain":
    case "not_contain":
      if (Array.isArray(value)) throw errors.operatorValueType(ref.text, op, obj);
      requireTextual(ref, `${at}.key`, op);
      return { on: "named", op, ref, value: text(value, valueAt) };
    case "contain_in":
    case "not_contain_in":
      if (!Array.isArray(value)) throw errors.operatorListValueType(ref.text, op, obj);
      requireTextual(ref, `${at}.key`, op);
      return {
        on: "named",
        op,
        ref,
        values: listValues(value, valueAt, ctx).map((v, i) => text(v, `${valueAt}[${i}]`)),
      };
  }
}

function listValues(value: unknown[], at: string, ctx: StatContext): unknown[] {
  ctx.budget.listValues(value.length, at);
  return value;
}

function requireTextual(ref: StatRef, at: string, op: string): void {
  if (ref.kind === "number")
    throw errors.invalidParameter(at, `'${op}' needs text; '${ref.text}' is a number`);
}

// ---- stages -------------------------------------------------------------------------------------

function parseDateFormat(raw: unknown, at: string, field: StatRef): DateFormat | null {
  if (!present(raw)) return null;
  if (typeof raw !== "string") throw errors.invalidParameterType(at, "string");
  if (field.kind !== "datetime" && field.kind !== "json") {
    throw errors.invalidParameter(at, `date_format needs a datetime; '${field.text}' is ${describe(field)}`);
  }
  if (raw === "year" || raw === "month" || raw === "day") return { kind: raw };
  if (raw.length > STAT_LIMITS.dateFormatLength) {
    throw errors.invalidParameter(at, `longer than ${STAT_LIMITS.dateFormatLength} characters`);
  }
  const allowed = Object.keys(DATE_FORMAT_DIRECTIVES)
    .map((d) => `%${d}`)
    .join(" ");
  let directives = 0;
  for (let i = 0; i < raw.length; i++) {
    const ch = raw.charCodeAt(i);
    if (ch < 0x20 || ch === 0x7f) throw errors.invalidParameter(at, "control characters are not allowed");
    if (raw[i] !== "%") continue;
    const directive = raw[i + 1];
    if (directive === undefined || !Object.hasOwn(DATE_FORMAT_DIRECTIVES, directive)) {
      throw errors.invalidParameter(
        at,
        `unknown date_format ${show(raw, 80)}: use year, month, day or a format made of ${allowed} and literal text`,
      );
    }
    if (directive !== "%") directives++;
    i++;
  }
  if (directives === 0) {
    throw errors.invalidParameter(
      at,
      `unknown date_format ${show(raw, 80)}: use year, month, day or a format with at least one of ${allowed}`,
    );
  }
  return { kind: "strftime", format: raw };
}

function keyKind(key: GroupKey): ValueKind {
  if (key.dateFormat === null) return key.field.kind;
  return key.dateFormat.kind === "strftime" ? "string" : "number";
}

function fieldKind(field: GroupField): ValueKind {
  switch (field.op) {
    case "count":
    case "sum":
    case "average":
      return "number";
    case "max":
    case "min":
    case "first":
    case "last":
      return field.field.kind;
    default:
      return "json";
  }
}

/** Names must be unique among what a stage emits. */
function claim(names: Set<string>, name: string, at: string): void {
  if (names.has(name)) throw errors.invalidParameter(at, `duplicate name '${name}'`);
  names.add(name);
}

function parseGroup(raw: unknown, at: string, shape: RowShape, ctx: StatContext): Stage {
  const group = asObject(raw, at);
  onlyMembers(group, at, ["keys", "fields"]);
  const rawKeys = asList(group.keys, `${at}.keys`, STAT_LIMITS.list);
  const rawFields = asList(group.fields, `${at}.fields`, STAT_LIMITS.list);
  ctx.budget.list(rawKeys.length, `${at}.keys`, "maxGroupKeys", "group keys");
  ctx.budget.list(rawFields.length, `${at}.fields`, "maxGroupFields", "group fields");
  if (rawKeys.length === 0 && rawFields.length === 0)
    throw errors.requiredParameter(`${at}.keys or ${at}.fields`);
  const names = new Set<string>();

  const keys: GroupKey[] = rawKeys.map((item, i) => {
    const kat = `${at}.keys[${i}]`;
    const obj = asObject(item, kat);
    onlyMembers(obj, kat, ["key", "k", "name", "n", "date_format"]);
    const field = resolveRef(alias(obj, "key", "k", kat), `${kat}.key`, shape);
    const name = parseName(alias(obj, "name", "n", kat), `${kat}.name`);
    claim(names, name, `${kat}.name`);
    return { field, name, dateFormat: parseDateFormat(obj.date_format, `${kat}.date_format`, field) };
  });

  const fields: GroupField[] = rawFields.map((item, j) => {
    const fat = `${at}.fields[${j}]`;
    const obj = asObject(item, fat);
    onlyMembers(obj, fat, ["key", "k", "name", "n", "operator", "o", "fields", "conditions"]);
    const operator = alias(obj, "operator", "o", fat);
    if (!present(operator)) throw errors.requiredParameter(`${fat}.operator`);
    if (typeof operator !== "string" || !(GROUP_OPERATORS as readonly string[]).includes(operator)) {
      throw errors.invalidParameter(
        `${fat}.operator`,
        `unsupported operator ${show(operator, 40)}; supported: ${GROUP_OPERATORS.join(", ")}`,
      );
    }
    const op = operator as GroupFieldOp;
    const name = parseName(alias(obj, "name", "n", fat), `${fat}.name`);
    claim(names, name, `${fat}.name`);
    const rawKey = alias(obj, "key", "k", fat);
    const rawSub = asList(obj.fields, `${fat}.fields`, STAT_LIMITS.list);
    ctx.budget.list(rawSub.length, `${fat}.fields`, "maxPushSubFields", "push sub-fields");
    if (op === "push" || op === "add_to_set" || op === "merge_objects") ctx.budget.collect(`${fat}.operator`);
    const rawConditions = asList(obj.conditions, `${fat}.conditions`, STAT_LIMITS.conditions);
    if (rawSub.length > 0 && op !== "push") {
      throw errors.invalidParameter(`${fat}.fields`, `sub-fields apply to push only, not to ${op}`);
    }
    if (rawConditions.length > 0 && op !== "count" && op !== "sum" && op !== "average") {
      throw errors.invalidParameter(
        `${fat}.conditions`,
        `conditions apply to count, sum and average only, not to ${op}`,
      );
    }
    const conditions = rawConditions.map((c, k) =>
      parseStatCondition(c, `${fat}.conditions[${k}]`, shape, GROUP_CONDITION_OPERATORS, ctx),
    );
    const keyAt = `${fat}.key`;
    switch (op) {
      case "count":
        // Upstream ignores a key on count; so do we (the console sometimes sends one).
        return { op, name, conditions };
      case "sum":
      case "average": {
        const field = resolveRef(rawKey, keyAt, shape);
        if (field.kind === "string" || field.kind === "datetime") {
          throw errors.invalidParameter(keyAt, `${op} needs numbers; '${field.text}' is ${describe(field)}`);
        }
        return { op, name, field, conditions };
      }
      case "merge_objects": {
        const field = resolveRef(rawKey, keyAt, shape);
        if (field.kind !== "json") {
          throw errors.invalidParameter(
            keyAt,
            `merge_objects needs objects; '${field.text}' is ${describe(field)}`,
          );
        }
        return { op, name, field };
      }
      case "push": {
        if (present(rawKey) && rawSub.length > 0) {
          throw errors.invalidParameter(
            fat,
            "push takes a key (a list of values) or fields (a list of objects), not both",
          );
        }
        if (rawSub.length === 0) {
          if (!present(rawKey)) throw errors.requiredParameter(`${keyAt} or ${fat}.fields`);
          return { op, name, field: resolveRef(rawKey, keyAt, shape) };
        }
        const subNames = new Set<string>();
        const subFields: PushSubField[] = rawSub.map((sub, k) => {
          const sat = `${fat}.fields[${k}]`;
          const sobj = asObject(sub, sat);
          onlyMembers(sobj, sat, ["key", "k", "name", "n"]);
          const field = resolveRef(alias(sobj, "key", "k", sat), `${sat}.key`, shape);
          const subName = parseName(alias(sobj, "name", "n", sat), `${sat}.name`);
          claim(subNames, subName, `${sat}.name`);
          return { field, name: subName };
        });
        return { op, name, subFields };
      }
      default:
        return { op, name, field: resolveRef(rawKey, keyAt, shape) };
    }
  });

  const columns: NamedColumn[] = [
    ...keys.map((k) => ({ name: k.name, kind: keyKind(k), key: true })),
    ...fields.map((f) => ({ name: f.name, kind: fieldKind(f), key: false })),
  ];
  return { type: "group", keys, fields, output: { kind: "named", columns } };
}

function parseUnwind(raw: unknown, at: string, shape: RowShape, ctx: StatContext): Stage {
  const unwind = asObject(raw, at);
  onlyMembers(unwind, at, ["path", "filter"]);
  ctx.budget.unwind(at);
  const path = resolveRef(unwind.path, `${at}.path`, shape);
  if (path.kind !== "json" || (shape.kind === "jobs" && path.path.length === 0)) {
    throw errors.invalidParameter(
      `${at}.path`,
      shape.kind === "jobs"
        ? `unwind needs a list inside options (options.<path>); '${path.text}' is not one`
        : `unwind needs a list; '${path.text}' is ${describe(path)}`,
    );
  }
  // The filter sees the unwound rows, which have the same names as the rows coming in.
  const filter = asList(unwind.filter, `${at}.filter`, STAT_LIMITS.conditions).map((c, i) =>
    parseStatCondition(c, `${at}.filter[${i}]`, shape, UNWIND_FILTER_OPERATORS, ctx),
  );
  return { type: "unwind", path, filter, output: shape };
}

function parseCount(raw: unknown, at: string): Stage {
  const count = asObject(raw, at);
  onlyMembers(count, at, ["name"]);
  const name = parseName(count.name, `${at}.name`);
  return { type: "count", name, output: { kind: "named", columns: [{ name, kind: "number", key: false }] } };
}

function parseSortStage(raw: unknown, at: string, shape: RowShape): Stage {
  if (!Array.isArray(raw)) throw errors.invalidParameterType(at, "list of {key, desc}");
  const items = asList(raw, at, STAT_LIMITS.sortKeys);
  if (items.length === 0) throw errors.requiredParameter(`${at}[0].key`);
  const keys: StatSortKey[] = items.map((item, i) => {
    const sat = `${at}[${i}]`;
    const obj = asObject(item, sat);
    onlyMembers(obj, sat, ["key", "k", "desc"]);
    const field = resolveRef(alias(obj, "key", "k", sat), `${sat}.key`, shape);
    const desc = obj.desc ?? false;
    if (typeof desc !== "boolean") throw errors.invalidParameterType(`${sat}.desc`, "boolean");
    return { field, desc };
  });
  return { type: "sort", keys, output: shape };
}

const UNREACHABLE_PROJECT_OPERATORS = ["add", "subtract", "multiply", "divide"];

function parseProject(raw: unknown, at: string, shape: RowShape, ctx: StatContext): Stage {
  const project = asObject(raw, at);
  onlyMembers(project, at, ["fields", "exclude_keys"]);
  const excludeKeys = project.exclude_keys ?? false;
  if (typeof excludeKeys !== "boolean") throw errors.invalidParameterType(`${at}.exclude_keys`, "boolean");
  const rawFields = asList(project.fields, `${at}.fields`, STAT_LIMITS.list);
  ctx.budget.list(rawFields.length, `${at}.fields`, "maxFields", "fields");
  if (rawFields.length === 0) throw errors.requiredParameter(`${at}.fields`);
  const names = new Set<string>();
  const fields: ProjectField[] = rawFields.map((item, i) => {
    const fat = `${at}.fields[${i}]`;
    const obj = asObject(item, fat);
    onlyMembers(obj, fat, ["key", "k", "name", "n", "operator", "o"]);
    const field = resolveRef(alias(obj, "key", "k", fat), `${fat}.key`, shape);
    const name = parseName(alias(obj, "name", "n", fat), `${fat}.name`);
    claim(names, name, `${fat}.name`);
    const operator = alias(obj, "operator", "o", fat);
    if (!present(operator)) return { field, name, op: null };
    if (typeof operator !== "string" || !(PROJECT_OPERATORS as readonly string[]).includes(operator)) {
      const reason = UNREACHABLE_PROJECT_OPERATORS.includes(String(operator))
        ? `'${operator}' needs a list of operands that the v2 AggregateProjectField message cannot carry`
        : `unsupported operator ${show(operator, 40)}; supported: ${PROJECT_OPERATORS.join(", ")}`;
      throw errors.invalidParameter(`${fat}.operator`, reason);
    }
    const op = operator as ProjectOp;
    const numeric = op === "sum" && field.kind === "number";
    if (field.kind !== "json" && !numeric) {
      throw errors.invalidParameter(
        `${fat}.key`,
        `${op} needs ${op === "object_to_array" ? "an object" : "a list"}; '${field.text}' is ${describe(field)}`,
      );
    }
    return { field, name, op };
  });
  const kept: NamedColumn[] =
    shape.kind === "named" && !excludeKeys ? shape.columns.filter((c) => c.key && !names.has(c.name)) : [];
  const columns: NamedColumn[] = [
    ...kept,
    ...fields.map((f) => ({
      name: f.name,
      kind:
        f.op === null
          ? f.field.kind
          : f.op === "size" || f.op === "sum"
            ? ("number" as const)
            : ("json" as const),
      key: false,
    })),
  ];
  return { type: "project", fields, excludeKeys, output: { kind: "named", columns } };
}

function parseCountArg(raw: unknown, at: string, min: number): number {
  if (typeof raw !== "number" || !Number.isInteger(raw)) throw errors.invalidParameterType(at, "integer");
  if (raw < min) throw errors.invalidParameter(at, `must be at least ${min}`);
  if (raw > 2_147_483_647) throw errors.invalidParameter(at, "must fit an int32");
  return raw;
}

function parseStage(raw: unknown, at: string, shape: RowShape, ctx: StatContext): Stage {
  const obj = asObject(raw, at);
  const members = Object.keys(obj).filter((k) => obj[k] !== undefined && obj[k] !== null);
  for (const key of members) {
    if (!(STAGE_TYPES as readonly string[]).includes(key)) {
      throw errors.invalidParameter(
        `${at}.${key}`,
        `unknown stage; a stage is one of ${STAGE_TYPES.join(", ")}`,
      );
    }
  }
  if (members.length !== 1) {
    throw errors.invalidParameter(
      at,
      members.length === 0
        ? `empty stage; give exactly one of ${STAGE_TYPES.join(", ")}`
        : `a stage holds exactly one of ${STAGE_TYPES.join(", ")}; got ${members.join(", ")}`,
    );
  }
  const type = members[0] as (typeof STAGE_TYPES)[number];
  const body = obj[type];
  const sat = `${at}.${type}`;
  switch (type) {
    case "group":
      return parseGroup(body, sat, shape, ctx);
    case "unwind":
      return parseUnwind(body, sat, shape, ctx);
    case "count":
      return parseCount(body, sat);
    case "sort":
      return parseSortStage(body, sat, shape);
    case "project":
      return parseProject(body, sat, shape, ctx);
    case "limit":
      // Mongo rejects $limit 0; a limit of 0 rows is never what a client means.
      return { type, count: parseCountArg(body, sat, 1), output: shape };
    case "skip":
      return { type, count: parseCountArg(body, sat, 0), output: shape };
  }
}

// ---- the query ----------------------------------------------------------------------------------

const QUERY_MEMBERS = ["filter", "filter_or", "aggregate", "page", "distinct", "keyword"];

/**
 * Parse `JobStatQuery.query`. Filters and keyword go through the list query's own code
 * (`parseConditions`, `keywordConditions` with the stat keyword field `job_id`, docs/compatibility.md, "Query language");
 * the service ANDs its scope in. `aggregate` wins over `distinct` when both are given (§2.3).
 */
export function parseStatQuery(raw: unknown, context: QueryContext): StatQuery {
  const at = "query";
  if (raw === undefined || raw === null) throw errors.requiredParameter(at);
  const q = asObject(raw, at);
  onlyMembers(q, at, QUERY_MEMBERS);
  const ctx: StatContext = { ...context, budget: budgetOf(context) };
  const where = {
    and: parseConditions(q.filter, `${at}.filter`, ctx),
    or: [
      ...parseConditions(q.filter_or, `${at}.filter_or`, ctx),
      ...keywordConditions(q.keyword, `${at}.keyword`, STAT_KEYWORD_FIELDS, ctx.budget),
    ],
  };
  const page = parsePage(q.page, `${at}.page`, ctx.maxPageSize);
  const aggregate = asList(q.aggregate, `${at}.aggregate`, STAT_LIMITS.list);
  ctx.budget.list(aggregate.length, `${at}.aggregate`, "maxStages", "stages");
  if (q.distinct !== undefined && q.distinct !== null && typeof q.distinct !== "string") {
    throw errors.invalidParameterType(`${at}.distinct`, "string");
  }

  if (aggregate.length > 0) {
    let shape: RowShape = { kind: "jobs" };
    const stages: Stage[] = aggregate.map((item, i) => {
      const stage = parseStage(item, `${at}.aggregate[${i}]`, shape, ctx);
      shape = stage.output;
      return stage;
    });
    return { type: "aggregate", where, stages, output: shape, page };
  }
  if (present(q.distinct)) {
    const field: FieldRef = parseFieldRef(q.distinct, `${at}.distinct`);
    if (JOB_FIELDS[field.column].type === "json" && field.path.length === 0) {
      throw errors.invalidParameter(
        `${at}.distinct`,
        `'${field.name}' is an object: use a path in it (options.<path>)`,
      );
    }
    return { type: "distinct", where, field, page };
  }
  // Upstream's key (docs/compatibility.md, "Errors"): "Required parameter. (key = aggregate)".
  throw errors.requiredParameter("aggregate");
}
