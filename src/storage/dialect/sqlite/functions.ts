/**
 * User functions the SQLite dialect's SQL relies on, registered on every connection (the main one
 * and the read workers').
 */
import type Database from "better-sqlite3";
import { linearRegex } from "../../../query/linear-regex.js";

export function registerSqliteFunctions(db: Database.Database): void {
  // Case-insensitive JavaScript regex (upstream: Mongo $regex with $options 'i'), run on V8's
  // linear-time engine so no accepted pattern can stall the process on unlucky data (linear-regex.ts;
  // the query parser has already refused what that engine cannot run).
  db.function("regexp_i", { deterministic: true }, (pattern: unknown, value: unknown) => {
    if (typeof pattern !== "string" || value === null || value === undefined) return 0;
    return linearRegex(pattern).test(String(value)) ? 1 : 0;
  });
}
