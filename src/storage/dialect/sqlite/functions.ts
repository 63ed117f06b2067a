/**
 * User functions the SQLite dialect's SQL relies on, registered on every connection (the main one
 * and the read workers').
 */
import type Database from "better-sqlite3";
import { linearRegex } from "../../../query/linear-regex.js";

export function registerSqliteFunctions(db: Database.Database): void {
  // Case-insensitive regex (upstream: Mongo $regex with $options 'i'), run by re2js, linear in the
  // text, so no accepted pattern can stall the process on unlucky data (linear-regex.ts). The parser
  // only checked the pattern against the portable subset; it is compiled here, on this connection's
  // thread (a read worker's, usually), once, then taken from the LRU cache for every other row.
  db.function("regexp_i", { deterministic: true }, (pattern: unknown, value: unknown) => {
    if (typeof pattern !== "string" || value === null || value === undefined) return 0;
    return linearRegex(pattern).test(String(value)) ? 1 : 0;
  });
}
