/**
 * SpaceONE filter conditions (`{key|k, value|v, operator|o}`, docs/compatibility.md, "Query language") -> typed `Condition`s.
 *
 * Every problem is an `invalid_argument` naming the field path (`query.filter[2].value`). Upstream
 * answers unknown operators and unknown fields with INTERNAL (ERROR_DB_QUERY); we do not.
 */
import { errors, show } from "../errors.js";
import type { Condition, FieldRef, Scalar } from "./ast.js";
import { CostBudget, type QueryLimits } from "./cost.js";
import { inDatetimeRange, isoValueToStorage, parseTimediff, toStorage, YEAR_RANGE } from "./datetime.js";
import { type FieldSpec, isJobColumn, JOB_FIELDS, JSON_SEGMENT, MAX_JSON_DEPTH } from "./fields.js";
import { regexProblem } from "./regex.js";

export const OPERATORS = [
  "eq",
  "not",
  "lt",
  "lte",
  "gt",
  "gte",
  "exists",
  "contain",
  "not_contain",
  "in",
  "not_in",
  "contain_in",
  "not_contain_in",
  "match",
  "regex",
  "regex_in",
  "datetime_lt",
  "datetime_lte",
  "datetime_gt",
  "datetime_gte",
  "timediff_lt",
  "timediff_lte",
  "timediff_gt",
  "timediff_gte",
] as const;
export type Operator = (typeof OPERATORS)[number];

const LIST_OPERATORS = new Set<Operator>(["in", "not_in", "contain_in", "not_contain_in", "regex_in"]);

/** Operators that search text: meaningless on number fields. */
const TEXT_OPERATORS = new Set<Operator>([
  "contain",
  "not_contain",
  "contain_in",
  "not_contain_in",
  "regex",
  "regex_in",
]);

/** The longest string value. */
export const MAX_STRING_VALUE = 4096;

export interface FilterContext {
  /** "now" for timediff; injected so tests and a request see one instant. */
  readonly now: Date;
  /** The cost model's bounds (cost.ts); the defaults when absent. */
  readonly limits?: QueryLimits;
  /** This request's running cost; the parse entry points create it, one per request. */
  readonly budget?: CostBudget;
}

/** The request's budget, or a fresh one for a condition parsed on its own. */
export function budgetOf(ctx: FilterContext): CostBudget {
  return ctx.budget ?? new CostBudget(ctx.limits);
}

/** A dotted path under a json column: bounded depth, whitelisted segments (safe inside a JSON path). */
export function validateJsonPath(path: readonly string[], at: string): void {
  if (path.length > MAX_JSON_DEPTH)
    throw errors.invalidParameter(at, `path deeper than ${MAX_JSON_DEPTH} levels`);
  for (const segment of path) {
    if (!JSON_SEGMENT.test(segment)) {
      throw errors.invalidParameter(
        at,
        `invalid path segment ${show(segment, 80)}: use 1-64 letters, digits or _-:@$`,
      );
    }
  }
}

/** Resolve a field name (`status`, `options.provider`) against the catalogue. */
export function parseFieldRef(raw: unknown, at: string): FieldRef {
  if (raw === undefined || raw === null || raw === "") throw errors.requiredParameter(at);
  if (typeof raw !== "string") throw errors.invalidParameterType(at, "string");
  const [column, ...path] = raw.split(".");
  if (column === undefined || !isJobColumn(column)) {
    throw errors.invalidParameter(
      at,
      `unknown field ${show(raw, 80)}; fields are ${Object.keys(JOB_FIELDS).join(", ")}`,
    );
  }
  const spec: FieldSpec = JOB_FIELDS[column];
  if (path.length > 0) {
    if (spec.type !== "json") {
      throw errors.invalidParameter(
        at,
        `field '${column}' has no sub-fields (only options.* paths are nested)`,
      );
    }
    validateJsonPath(path, at);
  }
  return { column, path, name: raw };
}

function pick(obj: Record<string, unknown>, long: string, short: string): unknown {
  return obj[long] !== undefined ? obj[long] : obj[short];
}

/** Parse a list of filter conditions found at `at` (e.g. `query.filter`). */
export function parseConditions(raw: unknown, at: string, ctx: FilterContext): Condition[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw errors.invalidParameterType(at, "list");
  const budget = budgetOf(ctx);
  const budgeted = { ...ctx, budget };
  // Charged before any condition is parsed: a huge list is refused without being read.
  budget.condition(at, raw.length);
  return raw.map((item, i) => parseCondition(item, `${at}[${i}]`, budgeted, false));
}

export function parseCondition(raw: unknown, at: string, ctx: FilterContext, charge = true): Condition {
  const budget = budgetOf(ctx);
  if (charge) budget.condition(at);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw errors.invalidParameterType(at, "object");
  const obj = raw as Record<string, unknown>;
  const field = parseFieldRef(pick(obj, "key", "k"), `${at}.key`);
  const operatorRaw = pick(obj, "operator", "o");
  if (operatorRaw === undefined || operatorRaw === "") throw errors.requiredParameter(`${at}.operator`);
  if (typeof operatorRaw !== "string" || !(OPERATORS as readonly string[]).includes(operatorRaw)) {
    throw errors.invalidParameter(
      `${at}.operator`,
      `unsupported operator ${show(operatorRaw, 40)}; supported: ${OPERATORS.join(", ")}`,
    );
  }
  const op = operatorRaw as Operator;
  const value = pick(obj, "value", "v");
  if (value === undefined) throw errors.requiredParameter(`${at}.value`);
  const valueAt = `${at}.value`;
  const spec: FieldSpec = JOB_FIELDS[field.column];
  const isJsonRoot = spec.type === "json" && field.path.length === 0;
  const isJsonPath = spec.type === "json" && field.path.length > 0;

  if (LIST_OPERATORS.has(op)) {
    if (!Array.isArray(value)) throw errors.operatorListValueType(field.name, op, obj);
    budget.listValues(value.length, valueAt);
    if (isJsonPath) budget.pathValues(value.length, valueAt);
  } else if (Array.isArray(value)) {
    throw errors.operatorValueType(field.name, op, obj);
  }
  if (isJsonRoot && op !== "exists" && !((op === "eq" || op === "not") && value === null)) {
    throw errors.invalidParameter(
      `${at}.key`,
      `'${field.name}' is an object: use a dotted path such as ${field.name}.provider, or exists`,
    );
  }

  if (TEXT_OPERATORS.has(op) && spec.type === "number") {
    // A number has no text to search: SQLite would search its REAL rendering ("50.0") for contain but
    // JavaScript's ("50") for regex, and Mongo never matches a number with a regex. Say so instead.
    throw errors.invalidParameter(
      `${at}.key`,
      `'${op}' needs a text field; '${field.name}' is a number (use eq, in, lt, gt...)`,
    );
  }

  switch (op) {
    case "exists":
      if (typeof value !== "boolean") throw errors.operatorBooleanType(field.name, op, obj);
      return { op, field, value };
    case "eq":
    case "not":
      return { op, field, value: comparable(value, spec, isJsonPath, valueAt, true) as Scalar };
    case "lt":
    case "lte":
    case "gt":
    case "gte": {
      if (value === null) throw errors.invalidParameter(valueAt, `'${op}' cannot compare with null`);
      return {
        op,
        field,
        value: comparable(value, spec, isJsonPath, valueAt, false) as string | number | boolean,
      };
    }
    case "in":
    case "not_in":
      return {
        op,
        field,
        values: (value as unknown[]).map(
          (v, i) => comparable(v, spec, isJsonPath, `${valueAt}[${i}]`, true) as Scalar,
        ),
      };
    case "contain":
    case "not_contain":
      return { op, field, value: text(value, valueAt) };
    case "contain_in":
    case "not_contain_in":
      return { op, field, values: (value as unknown[]).map((v, i) => text(v, `${valueAt}[${i}]`)) };
    case "regex":
      return { op, field, value: pattern(value, valueAt, budget) };
    case "regex_in":
      return {
        op,
        field,
        values: (value as unknown[]).map((v, i) => pattern(v, `${valueAt}[${i}]`, budget)),
      };
    case "match": {
      if (typeof value !== "object" || value === null)
        throw errors.operatorDictValueType(field.name, op, obj);
      if (!isJsonPath) {
        throw errors.invalidParameter(
          `${at}.key`,
          "'match' applies to lists of objects inside options (options.<path>)",
        );
      }
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length === 0) throw errors.invalidParameter(valueAt, "'match' needs at least one key");
      const matched: Record<string, Scalar> = {};
      for (const [k, v] of entries) {
        if (!JSON_SEGMENT.test(k))
          throw errors.invalidParameter(valueAt, `invalid key ${show(k, 80)} in match`);
        if (v !== null && typeof v === "object") {
          throw errors.invalidParameterType(`${valueAt}.${k}`, "string, number, boolean or null");
        }
        matched[k] = v as Scalar;
      }
      return { op, field, value: matched };
    }
    case "datetime_lt":
    case "datetime_lte":
    case "datetime_gt":
    case "datetime_gte": {
      requireDatetimeCapable(field, spec, `${at}.key`, op);
      if (typeof value !== "string") throw errors.invalidParameterType(valueAt, "ISO-8601 datetime string");
      return { op: op.slice("datetime_".length) as "lt", field, value: isoValueToStorage(value, valueAt) };
    }
    case "timediff_lt":
    case "timediff_lte":
    case "timediff_gt":
    case "timediff_gte": {
      requireDatetimeCapable(field, spec, `${at}.key`, op);
      if (typeof value !== "string")
        throw errors.invalidParameterType(valueAt, "timediff string such as now/d - 2h");
      const date = parseTimediff(value, ctx.now);
      if (!date) {
        throw errors.invalidParameter(
          valueAt,
          `invalid timediff ${show(value, 60)}; expected now, now/d, now/w or now/m, optionally +/- N followed by s, m, h, d or w`,
        );
      }
      if (!inDatetimeRange(date)) {
        throw errors.invalidParameter(
          valueAt,
          `timediff ${show(value, 60)} resolves to a time outside years ${YEAR_RANGE} (UTC)`,
        );
      }
      return { op: op.slice("timediff_".length) as "lt", field, value: toStorage(date) };
    }
  }
}

function requireDatetimeCapable(field: FieldRef, spec: FieldSpec, at: string, op: string): void {
  if (spec.type !== "datetime" && !(spec.type === "json" && field.path.length > 0)) {
    throw errors.invalidParameter(at, `'${op}' needs a datetime field; '${field.name}' is a ${spec.type}`);
  }
}

function text(value: unknown, at: string): string {
  if (typeof value !== "string") throw errors.invalidParameterType(at, "string");
  if (value.length > MAX_STRING_VALUE)
    throw errors.invalidParameter(at, `longer than ${MAX_STRING_VALUE} characters`);
  return value;
}

function pattern(value: unknown, at: string, budget: CostBudget): string {
  if (typeof value !== "string") throw errors.invalidParameterType(at, "string");
  // Counted before it is compiled, so validation work is bounded by the budget too.
  budget.pattern(value, at);
  const p = text(value, at);
  const problem = regexProblem(p);
  if (problem) throw errors.invalidParameter(at, problem);
  return p;
}

/**
 * A value compared with a field (eq/not/in/lt..): typed by the field. Datetime columns take ISO
 * strings (normalised to the storage format); enum columns take any string (an unknown one matches
 * nothing); options paths take any JSON scalar.
 */
function comparable(
  value: unknown,
  spec: FieldSpec,
  jsonPath: boolean,
  at: string,
  allowNull: boolean,
): Scalar {
  if (value === null) {
    if (!allowNull) throw errors.invalidParameter(at, "null is not comparable");
    return null;
  }
  if (typeof value === "object") throw errors.invalidParameterType(at, "string, number, boolean or null");
  if (jsonPath) {
    if (typeof value === "string") return text(value, at);
    if (typeof value === "number" && !Number.isFinite(value))
      throw errors.invalidParameter(at, "number is not finite");
    return value as Scalar;
  }
  switch (spec.type) {
    case "datetime": {
      if (typeof value !== "string") throw errors.invalidParameterType(at, "ISO-8601 datetime string");
      return isoValueToStorage(value, at);
    }
    case "enum":
      // A string outside the enum matches no row, as upstream (its own example filters on "ERROR").
      if (typeof value !== "string") throw errors.invalidParameterType(at, "string");
      return text(value, at);
    case "number":
      if (typeof value !== "number" || !Number.isFinite(value))
        throw errors.invalidParameterType(at, "number");
      return value;
    default:
      if (typeof value !== "string") throw errors.invalidParameterType(at, "string");
      return text(value, at);
  }
}
