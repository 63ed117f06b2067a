/**
 * Validation of user regexes before they reach the database: a pattern is refused when it is too long
 * or outside the portable subset (portable-regex.ts), the patterns that re2js on the SQLite side and
 * PostgreSQL's `~*` evaluate identically. Both engines run in time linear in the text, so length and
 * count bounds (the cost model, cost.ts) are all the bounding a pattern needs.
 */
import { linearRegex, UnsupportedRegexError } from "./linear-regex.js";

export const MAX_REGEX_LENGTH = 256;

/** Returns null when the pattern is acceptable, else the reason it is not. */
export function regexProblem(pattern: string): string | null {
  if (pattern.length > MAX_REGEX_LENGTH) return `regex longer than ${MAX_REGEX_LENGTH} characters`;
  try {
    // Compiling here also fills the cache the database function reads from.
    linearRegex(pattern);
  } catch (error) {
    if (error instanceof UnsupportedRegexError) return `unsupported regular expression: ${error.message}`;
    throw error;
  }
  return null;
}
