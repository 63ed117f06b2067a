/**
 * Validation of user regexes before they reach the database: a pattern is refused when it is too long
 * or outside the portable subset (portable-regex.ts), the patterns that re2js on the SQLite side and
 * PostgreSQL's `~*` evaluate identically. Both engines run in time linear in the text for a given
 * pattern, so length, count and expansion bounds (here and in the cost model, cost.ts) are all the
 * bounding a pattern needs.
 *
 * Validation only checks the subset, one linear pass, and compiles nothing: re2js compiling 64 long
 * patterns took 100-300 ms, on the event loop, for a program PostgreSQL never needs and the SQLite
 * read workers compile again in their own threads. The subset's bounds are RE2's own (nested counts,
 * program size), so re2js accepts every pattern the subset does (test/hardening/portable-regex.test.ts);
 * each side compiles a pattern when it first matches with it (linear-regex.ts, its LRU cache).
 */
import { PortableRegexError, toPortableSource } from "./portable-regex.js";

export const MAX_REGEX_LENGTH = 256;

/** Returns null when the pattern is acceptable, else the reason it is not. */
export function regexProblem(pattern: string): string | null {
  if (pattern.length > MAX_REGEX_LENGTH) return `regex longer than ${MAX_REGEX_LENGTH} characters`;
  try {
    toPortableSource(pattern);
  } catch (error) {
    if (error instanceof PortableRegexError) return `unsupported regular expression: ${error.message}`;
    throw error;
  }
  return null;
}
