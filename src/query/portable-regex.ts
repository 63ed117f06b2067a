/**
 * The portable regex subset: patterns that the JavaScript side (re2js over SQLite, `linear-regex.ts`)
 * and PostgreSQL (`~*`, advanced regular expressions) evaluate identically, case-insensitively
 * (docs/regex.md). One linear scan checks a pattern against the subset and, for the JavaScript side,
 * writes it out with case-insensitivity spelt out (`k` -> `[kK]`), so the engine runs case-sensitive
 * and folds exactly the ASCII letters, as PostgreSQL does, never the Kelvin sign or the long s that
 * Unicode folding would add.
 *
 * The subset: literal characters (printable ASCII, and non-ASCII characters that have no case),
 * `.` (any character, newlines included, as in PostgreSQL), `^` and `$` (start and end of the text),
 * groups `( )` and `(?: )`, alternation `|`, the greedy quantifiers `* + ? {n} {n,} {n,m}` (counts up
 * to MAX_REPEAT, nested ones multiplying to at most MAX_NESTED_REPEAT, the whole pattern at most
 * MAX_EXPANDED_SIZE once its counts are unrolled) after something repeatable, classes `[...]` and
 * `[^...]` of such characters and ranges inside `0-9`, `a-z` or `A-Z`, `\d` and `\D`, and a
 * backslash before any punctuation character (which stands for itself). Everything else differs
 * between the engines or is not needed by a yes/no match, and is refused with the reason.
 */

/** A pattern outside the subset; the message says what and where. */
export class PortableRegexError extends Error {
  override readonly name = "PortableRegexError";
}

/** Largest count in `{n}`, `{n,}`, `{n,m}` (PostgreSQL's own limit is 255). */
export const MAX_REPEAT = 100;
/** Deepest nesting of groups. */
export const MAX_GROUP_DEPTH = 16;
/**
 * Largest product of the counts of nested `{n}` repetitions (`(a{10}){100}` is 1,000): RE2's own
 * limit, so re2js never refuses what the subset accepts.
 */
export const MAX_NESTED_REPEAT = 1_000;
/**
 * Largest size of a pattern with its counts unrolled (`a{100}` is 100, `(ab){3}` is 12: two
 * for each copy's capture): the engine's program grows with it, and so does the time to compile it
 * (docs/regex.md).
 */
export const MAX_EXPANDED_SIZE = 4_096;

/**
 * The size of one group level as the scan goes, counted as RE2 counts a pattern's size (one per
 * atom, a counted repetition multiplies its operand): the alternatives closed so far, the current
 * sequence, the last atom (what a quantifier applies to), and the largest product of nested counts.
 */
interface Level {
  alternatives: number;
  branches: number;
  sequence: number;
  last: number;
  lastNesting: number;
  nesting: number;
}

function newLevel(): Level {
  return { alternatives: 0, branches: 1, sequence: 0, last: 0, lastNesting: 1, nesting: 1 };
}

/** Record an atom of `size` (a character, a class, a closed group) at the end of `level`. */
function addAtom(level: Level, size: number, nesting = 1): void {
  level.sequence += size;
  level.last = size;
  level.lastNesting = nesting;
  level.nesting = Math.max(level.nesting, nesting);
}

const PUNCTUATION = /^[!-/:-@[-`{-~]$/;
/** Characters that are syntax outside a class and must be escaped to stand for themselves. */
const SPECIAL = new Set([..."\\.*+?()[]{}|^$"]);

function fail(message: string, at: number): never {
  throw new PortableRegexError(`${message} at position ${at + 1}`);
}

function isAsciiLetter(ch: string): boolean {
  return (ch >= "a" && ch <= "z") || (ch >= "A" && ch <= "Z");
}

/** Both cases of an ASCII letter, or the character itself. */
function bothCases(ch: string): string {
  return isAsciiLetter(ch) ? `${ch.toLowerCase()}${ch.toUpperCase()}` : ch;
}

/** A literal character allowed by the subset (outside syntax); refuses with the reason otherwise. */
function checkLiteral(ch: string, at: number): void {
  const code = ch.codePointAt(0) as number;
  if (code < 0x20 || code === 0x7f) fail("control characters are not allowed; match them with .", at);
  if (code < 0x80) return;
  if ((code >= 0xd800 && code <= 0xdfff) || (code >= 0x80 && code < 0xa0)) {
    fail("invalid or control character", at);
  }
  if (ch.toLowerCase() !== ch || ch.toUpperCase() !== ch) {
    fail(
      `'${ch}' has upper and lower case outside ASCII, which the two database engines fold differently; not supported`,
      at,
    );
  }
}

function escapeForClass(ch: string): string {
  return ch === "\\" || ch === "]" || ch === "[" || ch === "^" || ch === "-" ? `\\${ch}` : ch;
}

function escapeLiteral(ch: string): string {
  return SPECIAL.has(ch) || ch === "-" ? `\\${ch}` : ch;
}

/**
 * Check `pattern` against the portable subset. Returns the pattern rewritten for a case-sensitive
 * RE2 engine run with `.` matching newlines; throws PortableRegexError outside the subset. Linear
 * in the pattern's length.
 */
export function toPortableSource(pattern: string): string {
  const chars = Array.from(pattern);
  let out = "";
  let i = 0;
  const levels: Level[] = [newLevel()];
  const level = () => levels[levels.length - 1] as Level;
  let depth = 0;
  /** Whether the last thing written can take a quantifier (an atom or a group just closed). */
  let repeatable = false;

  while (i < chars.length) {
    const ch = chars[i] as string;
    switch (ch) {
      case "(": {
        if (chars[i + 1] === "?") {
          if (chars[i + 2] !== ":")
            fail("only (?: ) groups are supported, no (?...) options or lookaround", i);
          out += "(?:";
          i += 3;
        } else {
          out += "(";
          i++;
        }
        depth++;
        levels.push(newLevel());
        if (depth > MAX_GROUP_DEPTH) fail(`groups nested deeper than ${MAX_GROUP_DEPTH}`, i - 1);
        repeatable = false;
        break;
      }
      case ")": {
        if (depth === 0) fail("unmatched )", i);
        depth--;
        const closed = levels.pop() as Level;
        addAtom(level(), groupSize(closed), closed.nesting);
        out += ")";
        i++;
        repeatable = true;
        break;
      }
      case "|": {
        const current = level();
        current.alternatives += current.sequence;
        current.branches++;
        current.sequence = 0;
        out += "|";
        i++;
        repeatable = false;
        break;
      }
      case "^":
      case "$":
        level().sequence++;
        out += ch;
        i++;
        repeatable = false;
        break;
      case ".":
        addAtom(level(), 1);
        out += ".";
        i++;
        repeatable = true;
        break;
      case "*":
      case "+":
      case "?":
      case "{": {
        if (!repeatable) fail(`nothing to repeat before ${ch}`, i);
        let quantifier: string = ch;
        const at = i;
        i++;
        let min = ch === "+" ? 1 : 0;
        let max = ch === "?" ? 1 : -1;
        if (ch === "{") {
          let j = i;
          let body = "";
          while (j < chars.length && chars[j] !== "}") body += chars[j++];
          const match = /^(\d{1,3})(?:(,)(\d{1,3})?)?$/.exec(body);
          if (j >= chars.length || !match) {
            fail("{ starts a count {n}, {n,} or {n,m}; write \\{ for the character", i - 1);
          }
          min = Number(match[1]);
          max = match[2] === undefined ? min : match[3] === undefined ? -1 : Number(match[3]);
          if (min > MAX_REPEAT || max > MAX_REPEAT) fail(`a count over ${MAX_REPEAT}`, i - 1);
          if (max !== -1 && min > max) {
            fail("a count {n,m} with n > m", i - 1);
          }
          quantifier = `{${body}}`;
          i = j + 1;
        }
        const next = chars[i];
        if (next === "?" || next === "+" || next === "*" || next === "{") {
          fail("lazy, possessive or repeated quantifiers are not supported", i);
        }
        repeat(level(), ch === "{", min, max, at);
        out += quantifier;
        repeatable = false;
        break;
      }
      case "}":
        fail("unmatched }; write \\} for the character", i);
        break;
      case "]":
        fail("unmatched ]; write \\] for the character", i);
        break;
      case "[": {
        const cls = readClass(chars, i + 1);
        addAtom(level(), 1);
        out += cls.text;
        i = cls.next;
        repeatable = true;
        break;
      }
      case "\\": {
        const next = chars[i + 1];
        if (next === undefined) fail("a pattern cannot end with a backslash", i);
        if (next === "d" || next === "D") out += next === "d" ? "[0-9]" : "[^0-9]";
        else if (PUNCTUATION.test(next)) out += escapeLiteral(next);
        else {
          fail(
            `\\${next} is not supported (only \\d, \\D and a backslash before punctuation); use a class such as [0-9], [a-z_] or [ ]`,
            i,
          );
        }
        addAtom(level(), 1);
        i += 2;
        repeatable = true;
        break;
      }
      default:
        checkLiteral(ch, i);
        addAtom(level(), 1);
        out += isAsciiLetter(ch) ? `[${bothCases(ch)}]` : escapeLiteral(ch);
        i++;
        repeatable = true;
    }
  }
  if (depth !== 0) fail("unclosed (", chars.length - 1);
  const top = level();
  if (top.alternatives + top.sequence + top.branches - 1 > MAX_EXPANDED_SIZE) {
    throw new PortableRegexError(
      `the pattern is larger than ${MAX_EXPANDED_SIZE} once its counts {n} are unrolled; use fewer or smaller counts`,
    );
  }
  return out;
}

/** A closed group's size: its alternatives, one per `|`, two for the capture. */
function groupSize(closed: Level): number {
  return closed.alternatives + closed.sequence + (closed.branches - 1) + 2;
}

/**
 * Apply a quantifier (`max` -1 for no upper bound) to the last atom of `level`, with RE2's sizes:
 * `*` adds 2, `+` and `?` add 1, `{n,m}` makes m copies and m - n optional branches, `{n,}` n copies
 * and a loop. Refuses nested counts past MAX_NESTED_REPEAT (the size is checked once, at the end).
 */
function repeat(level: Level, counted: boolean, min: number, max: number, at: number): void {
  const operand = level.last;
  let size: number;
  if (!counted) size = operand + (max === -1 && min === 0 ? 2 : 1);
  else if (max === -1) size = min === 0 ? operand + 2 : 1 + min * operand;
  else size = max * operand + (max - min);
  if (counted) {
    const nesting = level.lastNesting * Math.max(1, max === -1 ? min : max);
    if (nesting > MAX_NESTED_REPEAT) {
      fail(`nested counts multiplying to more than ${MAX_NESTED_REPEAT}`, at);
    }
    level.lastNesting = nesting;
    level.nesting = Math.max(level.nesting, nesting);
  }
  level.sequence += Math.max(1, size) - operand;
  level.last = size;
}

/** A class member: a literal character, an escaped punctuation character, or a `\d` set. */
function readClassChar(
  chars: string[],
  i: number,
): { ch: string; digits: boolean; escaped: boolean; next: number } {
  const ch = chars[i] as string;
  if (ch === "\\") {
    const next = chars[i + 1];
    if (next === undefined) fail("unterminated class", i);
    if (next === "d") return { ch: "", digits: true, escaped: true, next: i + 2 };
    if (!PUNCTUATION.test(next)) {
      fail(`\\${next} is not supported in a class (only \\d and a backslash before punctuation)`, i);
    }
    return { ch: next, digits: false, escaped: true, next: i + 2 };
  }
  if (ch === "[") fail("[ inside a class starts a POSIX class in PostgreSQL; write \\[", i);
  checkLiteral(ch, i);
  return { ch, digits: false, escaped: false, next: i + 1 };
}

function rangeKind(ch: string): "digit" | "lower" | "upper" | null {
  if (ch >= "0" && ch <= "9") return "digit";
  if (ch >= "a" && ch <= "z") return "lower";
  if (ch >= "A" && ch <= "Z") return "upper";
  return null;
}

/** Read a class after `[` at `start`; returns its rewritten text (both cases of letters) and the index after `]`. */
function readClass(chars: string[], start: number): { text: string; next: number } {
  let i = start;
  const negated = chars[i] === "^";
  if (negated) i++;
  let members = "";
  let count = 0;
  while (i < chars.length && chars[i] !== "]") {
    const first = readClassChar(chars, i);
    i = first.next;
    count++;
    if (first.digits) {
      members += "0-9";
      continue;
    }
    const dashIsRange = chars[i] === "-" && chars[i + 1] !== undefined && chars[i + 1] !== "]";
    if (!dashIsRange) {
      if (first.ch === "-" && !first.escaped && i - 1 !== (negated ? start + 1 : start) && chars[i] !== "]") {
        fail("- inside a class must be first, last, or a range", i - 1);
      }
      members += escapeForClass(first.ch);
      if (isAsciiLetter(first.ch)) members += escapeForClass(bothCases(first.ch).replace(first.ch, ""));
      continue;
    }
    const second = readClassChar(chars, i + 1);
    const kind = rangeKind(first.ch);
    if (second.digits || kind === null || rangeKind(second.ch) !== kind || first.ch > second.ch) {
      fail("a range must lie inside 0-9, a-z or A-Z, in order", i);
    }
    i = second.next;
    members += `${first.ch}-${second.ch}`;
    if (kind !== "digit")
      members += `${first.ch}-${second.ch}`.replace(/[a-zA-Z]/g, (c) => bothCases(c).replace(c, ""));
  }
  if (chars[i] !== "]") fail("unterminated class", start - 1);
  if (count === 0) fail("an empty class", start - 1);
  return { text: negated ? `[^${members}]` : `[${members}]`, next: i + 1 };
}
