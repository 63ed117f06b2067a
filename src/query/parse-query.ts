/**
 * A SpaceONE `Query` (as proto JSON with proto field names) -> `ListQuery`. Paths in errors are
 * the request's own (`query.sort[1].key`). Page sizes are bounded: see `maxPageSize`.
 */

import { MINIMAL_FIELDS } from "../catalogue/job-fields.js";
import { errors } from "../errors.js";
import type { Condition, FieldRef, ListQuery, Page, SortKey } from "./ast.js";
import { CostBudget } from "./cost.js";
import { JOB_FIELDS, type JobColumn } from "./fields.js";
import {
  budgetOf,
  type FilterContext,
  MAX_STRING_VALUE,
  parseConditions,
  parseFieldRef,
} from "./parse-filter.js";

export interface QueryContext extends FilterContext {
  /** Largest page.limit accepted. */
  readonly maxPageSize: number;
}

const MAX_SORT_KEYS = 8;
const MAX_KEYWORD_TOKENS = 16;

type Json = Record<string, unknown>;

function asObject(raw: unknown, at: string): Json {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== "object" || Array.isArray(raw)) throw errors.invalidParameterType(at, "object");
  return raw as Json;
}

export function parsePage(raw: unknown, at: string, maxPageSize: number): Page {
  const page = asObject(raw, at);
  const start = page.start ?? 1;
  const limit = page.limit ?? 0;
  if (typeof start !== "number" || !Number.isInteger(start) || start < 0) {
    throw errors.invalidParameterType(`${at}.start`, "non-negative integer");
  }
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 0) {
    throw errors.invalidParameterType(`${at}.limit`, "non-negative integer");
  }
  if (limit > maxPageSize) {
    throw errors.invalidParameter(
      `${at}.limit`,
      `${limit} is more than the maximum page size ${maxPageSize}`,
    );
  }
  // Upstream: start < 1 is 1; a start without a limit is ignored.
  if (limit === 0) return { offset: 0, limit: null };
  return { offset: Math.max(1, start) - 1, limit };
}

export function parseSort(raw: unknown, at: string): SortKey[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw errors.invalidParameterType(at, "list");
  if (raw.length > MAX_SORT_KEYS) throw errors.invalidParameter(at, `more than ${MAX_SORT_KEYS} sort keys`);
  return raw.map((item, i) => {
    const entry = asObject(item, `${at}[${i}]`);
    const field = parseFieldRef(entry.key, `${at}[${i}].key`);
    if (JOB_FIELDS[field.column].type === "json" && field.path.length === 0) {
      throw errors.invalidParameter(
        `${at}[${i}].key`,
        `cannot sort by the object '${field.name}'; sort by a path in it`,
      );
    }
    const desc = entry.desc ?? false;
    if (typeof desc !== "boolean") throw errors.invalidParameterType(`${at}[${i}].desc`, "boolean");
    return { field, desc };
  });
}

export function parseOnly(
  raw: unknown,
  at: string,
  budget: CostBudget = new CostBudget(),
): FieldRef[] | null {
  if (raw === undefined || raw === null) return null;
  if (!Array.isArray(raw)) throw errors.invalidParameterType(at, "list");
  if (raw.length === 0) return null;
  budget.list(raw.length, at, "maxFields", "fields");
  return raw.map((name, i) => parseFieldRef(name, `${at}[${i}]`));
}

/**
 * `keyword`: split on whitespace; for each keyword field, a `contain_in` over the tokens that is
 * ORed with the caller's `filter_or` (upstream `append_keyword_filter`, docs/compatibility.md, "Query language").
 */
export function keywordConditions(
  raw: unknown,
  at: string,
  fields: readonly JobColumn[],
  budget: CostBudget = new CostBudget(),
): Condition[] {
  if (raw === undefined || raw === null || raw === "") return [];
  if (typeof raw !== "string") throw errors.invalidParameterType(at, "string");
  if (raw.length > MAX_STRING_VALUE)
    throw errors.invalidParameter(at, `longer than ${MAX_STRING_VALUE} characters`);
  const tokens = raw.split(/\s+/).filter((t) => t.length > 0);
  if (tokens.length === 0) return [];
  if (tokens.length > MAX_KEYWORD_TOKENS)
    throw errors.invalidParameter(at, `more than ${MAX_KEYWORD_TOKENS} words`);
  // One contain_in per keyword field, each with every word.
  budget.condition(at, fields.length);
  for (let i = 0; i < fields.length; i++) budget.listValues(tokens.length, at);
  return fields.map((column) => ({
    op: "contain_in" as const,
    field: { column, path: [], name: column },
    values: tokens,
  }));
}

const REJECTED_LIST_OPTIONS: Record<string, string> = {
  unwind: "jobs have no list fields to unwind in list; use the unwind stage of stat",
  lookup: "lookup joins other collections and is not supported",
  add_fields: "add_fields is not supported",
};

/** Parse `JobsQuery.query` into a ListQuery (without the shortcut fields and scope: the service adds those). */
export function parseListQuery(
  raw: unknown,
  ctx: QueryContext,
  keywordFields: readonly JobColumn[],
): ListQuery {
  const at = "query";
  const q = asObject(raw, at);
  for (const [key, reason] of Object.entries(REJECTED_LIST_OPTIONS)) {
    if (q[key] !== undefined && q[key] !== null) throw errors.invalidParameter(`${at}.${key}`, reason);
  }
  const budget = budgetOf(ctx);
  const costed = { ...ctx, budget };
  const and = parseConditions(q.filter, `${at}.filter`, costed);
  const or = [
    ...parseConditions(q.filter_or, `${at}.filter_or`, costed),
    ...keywordConditions(q.keyword, `${at}.keyword`, keywordFields, budget),
  ];
  const minimal = q.minimal ?? false;
  const countOnly = q.count_only ?? false;
  if (typeof minimal !== "boolean") throw errors.invalidParameterType(`${at}.minimal`, "boolean");
  if (typeof countOnly !== "boolean") throw errors.invalidParameterType(`${at}.count_only`, "boolean");
  let only = parseOnly(q.only, `${at}.only`, budget);
  // Upstream applies minimal after only, so minimal wins.
  if (minimal) only = MINIMAL_FIELDS.map((column) => ({ column, path: [], name: column }));
  return {
    where: { and, or },
    sort: parseSort(q.sort, `${at}.sort`),
    page: parsePage(q.page, `${at}.page`, ctx.maxPageSize),
    only,
    countOnly,
  };
}
