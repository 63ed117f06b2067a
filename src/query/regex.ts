/**
 * Validation of user regexes before they reach the `regexp_i` SQL function. JavaScript regexes
 * backtrack and cannot be interrupted, so a pattern is refused when it is too long or when
 * safe-regex2 finds nested quantifiers (star height > 1), the shape of catastrophic backtracking.
 */
import safeRegex from "safe-regex2";

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
  return null;
}
