/**
 * AND / OR / NOT over SQL boolean expressions, the same for every compiler (filters, stat
 * conditions). `notTrue` reads NULL (unknown) as false first, so `not` also matches missing values.
 */
import { type SqlBool, sql } from "kysely";
import type { Bool, Dialect } from "./dialect/dialect.js";

export function or(d: Dialect, parts: readonly Bool[]): Bool {
  if (parts.length === 0) return d.false;
  if (parts.length === 1) return parts[0] as Bool;
  return sql<SqlBool>`(${sql.join([...parts], sql` OR `)})`;
}

export function and(d: Dialect, parts: readonly Bool[]): Bool {
  if (parts.length === 0) return d.true;
  if (parts.length === 1) return parts[0] as Bool;
  return sql<SqlBool>`(${sql.join([...parts], sql` AND `)})`;
}

export function notTrue(d: Dialect, expr: Bool): Bool {
  return d.notTrue(expr);
}

/** Fixed SQL tokens of the ordered comparisons (never user text). */
export const COMPARATORS = { lt: "<", lte: "<=", gt: ">", gte: ">=" } as const;
