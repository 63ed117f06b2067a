/**
 * Case-insensitive JavaScript regexes run on V8's linear-time engine, so no pattern can stall the
 * process, whatever the data (docs/decisions.md #7).
 *
 * Why: refusing nested quantifiers (safe-regex2) stops `(a+)+$`, but not patterns that backtrack
 * exponentially or polynomially without nesting: `^(a|a)*$` on 30 `a`s and a `!` takes minutes, and
 * `a*a*a*a*a*b` on a few thousand `a`s as long. JavaScript cannot interrupt a running regex, so the
 * only sound bound is an engine that does not backtrack. V8 has one (the `l` flag, behind
 * `--enable-experimental-regexp-engine`, which this module turns on): a breadth-first automaton,
 * linear in the input for a given pattern.
 *
 * The linear engine does not do `i` (ignore case), so case-insensitivity is compiled into the
 * pattern: every atom that matches one character (a literal, an escape, a class, `.`) becomes an
 * explicit class of exactly the code units `/.../i` would match with it, computed with the
 * ECMAScript `Canonicalize` of non-unicode ignore-case mode (ES2023 §22.2.2.7.3). Everything else
 * (groups, alternation, quantifiers, anchors, `\b`) is copied as is. So the rewritten pattern
 * matches exactly the strings the original matches with `i`.
 *
 * What the linear engine cannot run is refused (backreferences, lookaround, counted repetition over
 * 16, legacy octal escapes): `regexProblem` (regex.ts) reports it as invalid_argument.
 */
import v8 from "node:v8";

// Only regexes created with the `l` flag use the engine; every other regex is untouched.
v8.setFlagsFromString("--enable-experimental-regexp-engine");

/** A pattern this module cannot run in linear time, or does not understand. */
export class UnsupportedRegexError extends Error {
  override readonly name = "UnsupportedRegexError";
}

const UNITS = 0x10000;

let canonTable: Uint16Array | undefined;
let groups: Map<number, number[]> | undefined;

/** Canonicalize(ch) for non-unicode ignore-case: toUpperCase, unless that is not one unit or maps non-ASCII into ASCII. */
function canon(): Uint16Array {
  if (canonTable) return canonTable;
  const table = new Uint16Array(UNITS);
  for (let c = 0; c < UNITS; c++) {
    const upper = String.fromCharCode(c).toUpperCase();
    const cu = upper.length === 1 ? upper.charCodeAt(0) : c;
    table[c] = c >= 128 && cu < 128 ? c : cu;
  }
  canonTable = table;
  return table;
}

/** Code units grouped by their canonical form: the units one literal character matches. */
function caseGroup(unit: number): readonly number[] {
  if (!groups) {
    const table = canon();
    groups = new Map();
    for (let c = 0; c < UNITS; c++) {
      const key = table[c] as number;
      const list = groups.get(key);
      if (list) list.push(c);
      else groups.set(key, [c]);
    }
  }
  return groups.get(canon()[unit] as number) ?? [unit];
}

type UnitSet = Uint8Array;

function setOf(...ranges: [number, number][]): UnitSet {
  const set = new Uint8Array(UNITS);
  for (const [from, to] of ranges) set.fill(1, from, to + 1);
  return set;
}

function complement(set: UnitSet): UnitSet {
  const out = new Uint8Array(UNITS);
  for (let c = 0; c < UNITS; c++) out[c] = set[c] ? 0 : 1;
  return out;
}

const DIGITS: [number, number][] = [[0x30, 0x39]];
const WORD: [number, number][] = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
];
// WhiteSpace and LineTerminator (ES2023 §12.2, §12.3): what \s matches.
const SPACE: [number, number][] = [
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
];
const LINE_TERMINATORS: [number, number][] = [
  [0x0a, 0x0a],
  [0x0d, 0x0d],
  [0x2028, 0x2029],
];

function classEscape(letter: string): UnitSet | null {
  switch (letter) {
    case "d":
      return setOf(...DIGITS);
    case "D":
      return complement(setOf(...DIGITS));
    case "w":
      return setOf(...WORD);
    case "W":
      return complement(setOf(...WORD));
    case "s":
      return setOf(...SPACE);
    case "S":
      return complement(setOf(...SPACE));
    default:
      return null;
  }
}

const CONTROL_ESCAPES: Readonly<Record<string, number>> = { t: 9, n: 10, v: 11, f: 12, r: 13 };

/** `{n}`, `{n,}`, `{n,m}` at the start of `text`, or null (then `{` is a literal, Annex B). */
const QUANTIFIER_BRACE = /^\{\d+(?:,\d*)?\}/;

/** The units `/x/i` matches for a set of units x: all whose canonical form one of x's has. */
function foldSet(set: UnitSet): UnitSet {
  const table = canon();
  const canonical = new Uint8Array(UNITS);
  for (let c = 0; c < UNITS; c++) if (set[c]) canonical[table[c] as number] = 1;
  const out = new Uint8Array(UNITS);
  for (let c = 0; c < UNITS; c++) out[c] = canonical[table[c] as number] as number;
  return out;
}

const hex = (unit: number) => `\\u${unit.toString(16).padStart(4, "0")}`;

/** A set as a class: `[\u0041-\u005a...]`, or its negation when that is shorter. */
function classText(set: UnitSet): string {
  let count = 0;
  for (let c = 0; c < UNITS; c++) count += set[c] as number;
  const negate = count > UNITS / 2;
  const source = negate ? complement(set) : set;
  let body = "";
  for (let c = 0; c < UNITS; c++) {
    if (!source[c]) continue;
    let end = c;
    while (end + 1 < UNITS && source[end + 1]) end++;
    body += end === c ? hex(c) : `${hex(c)}-${hex(end)}`;
    c = end;
  }
  return negate ? `[^${body}]` : `[${body}]`;
}

function literal(unit: number): string {
  const units = caseGroup(unit);
  if (units.length === 1) return hex(unit);
  return `[${units.map(hex).join("")}]`;
}

/**
 * Read an escape after `\` at `i` (pointing at the character after the backslash). Returns the
 * units it matches as a set (class escapes) or one unit, and the index after it. `inClass` changes
 * `\b` (backspace in a class, an assertion outside) and is handled by the caller for `\b`/`\B`.
 */
function readEscape(
  p: string,
  i: number,
  inClass: boolean,
): { set: UnitSet | null; unit: number; next: number } {
  const c = p[i];
  if (c === undefined) throw new UnsupportedRegexError("a pattern cannot end with a backslash");
  const set = classEscape(c);
  if (set) return { set, unit: -1, next: i + 1 };
  if (c in CONTROL_ESCAPES) return { set: null, unit: CONTROL_ESCAPES[c] as number, next: i + 1 };
  if (c === "0" && !/[0-9]/.test(p[i + 1] ?? "")) return { set: null, unit: 0, next: i + 1 };
  if (/[0-9]/.test(c)) throw new UnsupportedRegexError("backreferences and octal escapes are not supported");
  if (c === "k") throw new UnsupportedRegexError("named backreferences are not supported");
  if (c === "b" && inClass) return { set: null, unit: 8, next: i + 1 };
  if (c === "c") {
    const letter = p[i + 1] ?? "";
    if (!/[A-Za-z]/.test(letter)) throw new UnsupportedRegexError("\\c needs a letter");
    return { set: null, unit: letter.charCodeAt(0) % 32, next: i + 2 };
  }
  if (c === "x" && /^[0-9A-Fa-f]{2}$/.test(p.slice(i + 1, i + 3))) {
    return { set: null, unit: Number.parseInt(p.slice(i + 1, i + 3), 16), next: i + 3 };
  }
  if (c === "u" && /^[0-9A-Fa-f]{4}$/.test(p.slice(i + 1, i + 5))) {
    return { set: null, unit: Number.parseInt(p.slice(i + 1, i + 5), 16), next: i + 5 };
  }
  // Identity escape (Annex B: any other character stands for itself, `\x`, `\u`, `\p` included).
  return { set: null, unit: c.charCodeAt(0), next: i + 1 };
}

/** Parse a class starting after `[` at `i`; returns its text (case-folded) and the index after `]`. */
function readClass(p: string, start: number): { text: string; next: number } {
  let i = start;
  const negated = p[i] === "^";
  if (negated) i++;
  const members = new Uint8Array(UNITS);
  const readAtom = (): { set: UnitSet | null; unit: number } => {
    const c = p[i];
    if (c === "\\") {
      const read = readEscape(p, i + 1, true);
      i = read.next;
      return read;
    }
    i++;
    return { set: null, unit: (c as string).charCodeAt(0) };
  };
  while (i < p.length && p[i] !== "]") {
    const first = readAtom();
    if (p[i] === "-" && p[i + 1] !== undefined && p[i + 1] !== "]") {
      i++;
      const second = readAtom();
      if (first.set || second.set) {
        // Annex B: a class escape at either end makes `-` a literal.
        for (const atom of [first, second]) {
          if (atom.set) for (let c = 0; c < UNITS; c++) members[c] ||= atom.set[c] as number;
          else members[atom.unit] = 1;
        }
        members[0x2d] = 1;
      } else {
        if (first.unit > second.unit) throw new UnsupportedRegexError("class range out of order");
        members.fill(1, first.unit, second.unit + 1);
      }
    } else if (first.set) {
      for (let c = 0; c < UNITS; c++) members[c] ||= first.set[c] as number;
    } else {
      members[first.unit] = 1;
    }
  }
  if (p[i] !== "]") throw new UnsupportedRegexError("unterminated character class");
  const folded = foldSet(members);
  return { text: classText(negated ? complement(folded) : folded), next: i + 1 };
}

/** The pattern with case-insensitivity compiled in (see the file comment). Throws UnsupportedRegexError. */
export function foldCase(p: string): string {
  let out = "";
  let i = 0;
  while (i < p.length) {
    const c = p[i] as string;
    switch (c) {
      case "\\": {
        const next = p[i + 1];
        if (next === "b" || next === "B") {
          out += `\\${next}`;
          i += 2;
          break;
        }
        const read = readEscape(p, i + 1, false);
        out += read.set ? classText(foldSet(read.set)) : literal(read.unit);
        i = read.next;
        break;
      }
      case "[": {
        const cls = readClass(p, i + 1);
        out += cls.text;
        i = cls.next;
        break;
      }
      case ".":
        out += classText(complement(setOf(...LINE_TERMINATORS)));
        i++;
        break;
      case "(": {
        const rest = p.slice(i, i + 4);
        if (
          rest.startsWith("(?=") ||
          rest.startsWith("(?!") ||
          rest.startsWith("(?<=") ||
          rest.startsWith("(?<!")
        ) {
          throw new UnsupportedRegexError("lookahead and lookbehind are not supported");
        }
        const named = /^\(\?<[A-Za-z_$][\w$]*>/.exec(p.slice(i));
        const opener = rest.startsWith("(?:") ? "(?:" : named ? named[0] : "(";
        out += opener;
        i += opener.length;
        break;
      }
      case "{": {
        const quantifier = QUANTIFIER_BRACE.exec(p.slice(i));
        if (quantifier) {
          out += quantifier[0];
          i += quantifier[0].length;
        } else {
          out += literal(0x7b);
          i++;
        }
        break;
      }
      case ")":
      case "|":
      case "^":
      case "$":
      case "*":
      case "+":
      case "?":
        out += c;
        i++;
        break;
      default:
        out += literal(c.charCodeAt(0));
        i++;
    }
  }
  return out;
}

const cache = new Map<string, RegExp>();
const CACHE_SIZE = 512;

/**
 * `pattern` as a linear-time regex matching what `new RegExp(pattern, "i")` matches. Throws
 * UnsupportedRegexError when the pattern needs backtracking (or is not valid JavaScript).
 */
export function linearRegex(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (re) return re;
  try {
    new RegExp(pattern, "i");
  } catch (error) {
    throw new UnsupportedRegexError((error as Error).message);
  }
  try {
    re = new RegExp(foldCase(pattern), "l");
  } catch (error) {
    if (error instanceof UnsupportedRegexError) throw error;
    throw new UnsupportedRegexError(
      "the pattern needs backtracking (backreferences, lookaround, or a repetition count over 16)",
    );
  }
  if (cache.size >= CACHE_SIZE) cache.clear();
  cache.set(pattern, re);
  return re;
}
