/**
 * Value pools shared by the job and query generators. Queries draw from the same pools as the data, so
 * generated conditions hit rows often enough to be interesting (a random string almost never matches).
 * The pools are chosen to break naive implementations: case and ASCII-only folding (`ß`, `İ`, `É`),
 * UTF-8 versus UTF-16 order (`\uFFFD`, `\uE000` against `😀`), LIKE wildcards (`%`, `_`), quotes,
 * numbers as text (`"3"` next to `3`), and datetimes on the edges of the timediff anchors.
 */
import fc from "fast-check";
import type { Json, JsonObject } from "../reference/job-model.js";

/** The fixed "now" of every differential run: a Sunday, so `now/w` and `now/d` differ. */
export const NOW_ISO = "2026-03-15T12:34:56.789Z";
export const NOW_MS = Date.parse(NOW_ISO);

export const STRINGS = [
  "aws",
  "AWS",
  "Azure",
  "azure",
  "google",
  "",
  "3",
  "0",
  "true",
  "null",
  "100%_off",
  "a_b",
  "50% done",
  "Ünïcödé",
  "ünïcödé",
  "ß",
  "ẞ",
  "İstanbul",
  "😀 smile",
  "\uFFFD",
  "\uE000",
  "x y",
  "O'Brien",
  '"quoted"',
  "back\\slash",
  "AccessDenied",
  "accessdenied: The same job is already running.",
  "2026-03-01T00:00:00.000Z",
  "2026-03-15T00:00:00.000Z",
  "2025-12-31T23:59:59.999Z",
  "line\nbreak",
] as const;

/** Substrings worth searching for in the pools above (contain, keyword). */
export const NEEDLES = [
  "a",
  "A",
  "aws",
  "AZ",
  "%",
  "_",
  "%_",
  "ü",
  "Ü",
  "ss",
  "é",
  "😀",
  "-",
  "job",
  "JOB-",
  "ws",
  "2026-03",
  "T00",
  "'",
  '"',
  "\\",
  " ",
  "",
  "fail",
  "SUCC",
  "pend",
  "denied",
] as const;

/** Regexes inside the portable subset (docs/regex.md). */
export const PATTERNS = [
  "^job-",
  "aws",
  "AWS$",
  "^$",
  "[0-9]",
  "ws-[12]",
  "^(plugin|ta)-",
  ".",
  "a.b",
  "\\.",
  "한",
  "(a|b)+c",
  "😀",
  "^[a-z]+$",
  "\\d{2}",
  "o'b",
  "%",
  "_off$",
  "^ ",
  "denied",
  "^(SUCCESS|FAILURE)$",
  "z{0}",
] as const;

export const NUMBERS = [0, 1, -1, 1.5, 2, 3, 10, 100, -2.25, 1_000_000, 0.1, 12.5, 50, 99.9] as const;

/** Instants around NOW: the timediff anchors (now/d, now/w, now/m) and a millisecond either side. */
const ANCHORS = [
  NOW_MS,
  Date.parse("2026-03-15T00:00:00.000Z"),
  Date.parse("2026-03-09T00:00:00.000Z"),
  Date.parse("2026-03-01T00:00:00.000Z"),
  Date.parse("2026-03-14T12:34:56.789Z"),
  Date.parse("2026-03-15T10:00:00.000Z"),
  Date.parse("2025-12-31T23:59:59.999Z"),
  Date.parse("2026-02-28T23:59:59.999Z"),
];
export const INSTANTS: readonly number[] = ANCHORS.flatMap((t) => [t - 1, t, t + 1]);

export const OPTION_KEYS = [
  "provider",
  "regions",
  "retry",
  "dry_run",
  "sync",
  "targets",
  "note",
  "n",
  "a-b",
  "k:1",
  "@at",
  "$d",
  "UPPER",
  "when",
] as const;

export const scalarArb: fc.Arbitrary<string | number | boolean | null> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...STRINGS) },
  { weight: 3, arbitrary: fc.constantFrom(...NUMBERS) },
  { weight: 2, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
);

export const keyArb = fc.constantFrom(...OPTION_KEYS);

/** Any JSON value, nesting at most three levels: scalars, lists (of scalars, lists, objects), objects. */
export const jsonArb: fc.Arbitrary<Json> = fc.letrec<{ value: Json; list: Json[]; object: JsonObject }>(
  (tie) => ({
    value: fc.oneof(
      { depthSize: "small", maxDepth: 3 },
      { weight: 6, arbitrary: scalarArb },
      { weight: 2, arbitrary: tie("list") },
      { weight: 2, arbitrary: tie("object") },
    ),
    list: fc.array(tie("value"), { maxLength: 4 }),
    object: fc.dictionary(keyArb, tie("value"), { maxKeys: 4 }),
  }),
).value;

export const optionsArb: fc.Arbitrary<JsonObject> = fc.dictionary(keyArb, jsonArb, { maxKeys: 6 });
