/**
 * A pattern of the portable subset (validated by the query parser) rewritten so that PostgreSQL's
 * `~*` matches exactly what JavaScript's `RegExp(pattern, "i")` matches:
 * - `\d`, `\w`, `\s` and their negations are ASCII classes in JavaScript (without the `u` flag) but
 *   locale classes in PostgreSQL: they become explicit bracket expressions;
 * Case-insensitivity comes from the "C" collation the dialect applies: PostgreSQL then folds exactly
 * the ASCII letters, as the JavaScript side does (the subset refuses cased non-ASCII letters, and the
 * Kelvin sign or the long s in a subject never match `k` or `s`). `.` matches any character,
 * newlines included, on both sides.
 */

/** JavaScript's `\s` (WhiteSpace and LineTerminator), as PostgreSQL bracket-expression content. */
const SPACE = " \\t\\n\\r\\f\\v\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff";
const CLASSES: Readonly<Record<string, string>> = { d: "0-9", w: "A-Za-z0-9_", s: SPACE };

export function portableRegex(pattern: string): string {
  let out = "";
  let inBracket = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch === "\\" && i + 1 < pattern.length) {
      const next = pattern[i + 1] as string;
      i++;
      const lower = next.toLowerCase();
      const content = CLASSES[lower];
      if (content !== undefined) {
        const negated = next !== lower;
        if (!inBracket) out += negated ? `[^${content}]` : `[${content}]`;
        // Inside brackets only the positive classes expand; a negated one keeps PostgreSQL's meaning
        // (the parser's subset does not admit it there).
        else out += negated ? `\\${next}` : content;
      } else {
        out += `\\${next}`;
      }
      continue;
    }
    if (inBracket) {
      // `]` right after `[` or `[^` is a literal member, not the end.
      if (ch === "]" && !(out.endsWith("[") || out.endsWith("[^"))) inBracket = false;
      out += ch;
      continue;
    }
    if (ch === "[") {
      inBracket = true;
      out += ch;
      if (pattern[i + 1] === "^") {
        out += "^";
        i++;
      }
      continue;
    }
    out += ch;
  }
  return out;
}
