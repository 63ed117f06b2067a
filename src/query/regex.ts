/**
 * Validation of user regexes before they reach the `regexp_i` SQL function. A pattern is refused when
 * it is too long, when safe-regex2 finds nested quantifiers (star height > 1, the classic shape of
 * catastrophic backtracking: refused early with a clear reason), or when it cannot run on the
 * linear-time engine (`linear-regex.ts`), which is what actually bounds the time any accepted
 * pattern can take.
 */
import safeRegex from "safe-regex2";
import { linearRegex, UnsupportedRegexError } from "./linear-regex.js";

export const MAX_REGEX_LENGTH = 256;

/** Returns null when the pattern is acceptable, else the reason it is not. */
export function regexProblem(pattern: string): string | null {
  if (pattern.length > MAX_REGEX_LENGTH) return `regex longer than ${MAX_REGEX_LENGTH} characters`;
  try {
    new RegExp(pattern, "i");
  } catch (error) {
    return `invalid regular expression: ${(error as Error).message.replace(/^Invalid regular expression: /, "")}`;
  }
  if (!safeRegex(pattern, { limit: 25 })) {
    return "regex may backtrack catastrophically (nested or too many repetitions); simplify it";
  }
  try {
    linearRegex(pattern);
  } catch (error) {
    if (error instanceof UnsupportedRegexError) return `unsupported regular expression: ${error.message}`;
    throw error;
  }
  return null;
}
