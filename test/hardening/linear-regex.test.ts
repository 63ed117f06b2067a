/**
 * The linear-time regex (src/query/linear-regex.ts) must match exactly what `new RegExp(p, "i")` matches:
 * generated patterns (literals with tricky case mappings, escapes, classes with ranges and negation,
 * groups, alternation, quantifiers, anchors, Annex B oddities) against generated strings. And it must be
 * linear: patterns that take the backtracking engine minutes finish at once.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { linearRegex, UnsupportedRegexError } from "../../src/query/linear-regex.js";
import { regexProblem } from "../../src/query/regex.js";

/** Characters whose case mappings are irregular: ß/ẞ, dotted/dotless i, Kelvin sign, long s, micro, sigma. */
const CHARS = [
  "a",
  "A",
  "b",
  "k",
  "K",
  "\u212a",
  "s",
  "S",
  "\u017f",
  "ß",
  "ẞ",
  "i",
  "I",
  "ı",
  "İ",
  "é",
  "É",
  "µ",
  "Μ",
  "μ",
  "σ",
  "ς",
  "Σ",
  "0",
  "9",
  "_",
  "-",
  " ",
  "\n",
  ".",
  "😀",
  "\ud83d",
  "]",
  "{",
  "}",
];
const charArb = fc.constantFrom(...CHARS);
const escapeChar = (c: string) => (/[\\^$.*+?()[\]{}|/-]/.test(c) ? `\\${c}` : c);

const ESCAPES = [
  "\\d",
  "\\w",
  "\\s",
  "\\D",
  "\\W",
  "\\S",
  "\\t",
  "\\n",
  "\\x41",
  "\\x6b",
  "\\u00e9",
  "\\u212a",
  "\\.",
  "\\-",
  "\\\\",
  "\\0",
  "\\cA",
  "\\e",
  "\\u{2}",
];
const classItemArb = fc.oneof(
  charArb.map(escapeChar),
  fc.constantFrom("\\d", "\\w", "\\s", "\\W", "\\b", "\\-", "\\u017f"),
  fc
    .tuple(
      fc.constantFrom("a", "A", "0", "k", "Z", "\u00c0"),
      fc.constantFrom("z", "Z", "9", "s", "\u00ff", "\u212a"),
    )
    .filter(([x, y]) => x <= y)
    .map(([x, y]) => `${x}-${y}`),
  fc.constant("\\d-z"),
);
const classArb = fc
  .tuple(fc.boolean(), fc.array(classItemArb, { maxLength: 4 }))
  .map(([negate, items]) => `[${negate ? "^" : ""}${items.join("")}]`);
const atomArb = fc.oneof(
  { weight: 5, arbitrary: charArb.map(escapeChar) },
  { weight: 2, arbitrary: fc.constantFrom(...ESCAPES) },
  { weight: 2, arbitrary: classArb },
  { weight: 1, arbitrary: fc.constantFrom(".", "^", "$", "\\b", "\\B") },
);
const quantifierArb = fc.constantFrom("", "", "", "*", "+", "?", "*?", "{2}", "{0,3}", "{1,}", "{2,4}?");

const patternArb: fc.Arbitrary<string> = fc.letrec<{ seq: string; alt: string }>((tie) => ({
  seq: fc
    .array(
      fc.oneof(
        { depthSize: "small", maxDepth: 2 },
        {
          weight: 6,
          arbitrary: fc.tuple(atomArb, quantifierArb).map(([a, q]) => (/^[$^]|^\\[bB]$/.test(a) ? a : a + q)),
        },
        {
          weight: 1,
          arbitrary: fc
            .tuple(fc.constantFrom("(", "(?:", "(?<g>"), tie("alt"), quantifierArb)
            .map(([o, body, q]) => `${o}${body})${q}`),
        },
      ),
      { maxLength: 5 },
    )
    .map((parts) => parts.join("")),
  alt: fc.array(tie("seq"), { minLength: 1, maxLength: 3 }).map((parts) => parts.join("|")),
})).alt;

const inputArb = fc.array(charArb, { maxLength: 10 }).map((chars) => chars.join(""));

function compiles(pattern: string): boolean {
  try {
    new RegExp(pattern, "i");
    return true;
  } catch {
    return false;
  }
}

describe("linear regex = RegExp(p, 'i')", () => {
  it("on generated patterns and inputs", () => {
    let refused = 0;
    fc.assert(
      fc.property(patternArb, fc.array(inputArb, { minLength: 1, maxLength: 8 }), (pattern, inputs) => {
        fc.pre(compiles(pattern));
        const reference = new RegExp(pattern, "i");
        let linear: RegExp;
        try {
          linear = linearRegex(pattern);
        } catch (error) {
          // Refusing (nested counted repetition over the engine's limit) is allowed; a wrong answer is not.
          expect(error).toBeInstanceOf(UnsupportedRegexError);
          refused++;
          return;
        }
        for (const input of inputs)
          expect(linear.test(input), `${pattern} on ${JSON.stringify(input)}`).toBe(reference.test(input));
      }),
      { seed: 4242, numRuns: 1500 },
    );
    // Refusals are the exception (only nested counted repetitions), not a way to pass.
    expect(refused).toBeLessThan(100);
  });

  it("fixed cases: case mappings the canonicalisation must get right", () => {
    const cases: [string, string, boolean][] = [
      ["k", "\u212a", false], // Kelvin sign upper-cases to itself, not K
      ["s", "\u017f", false], // long s upper-cases to ASCII S: not folded (non-ASCII -> ASCII)
      ["ß", "ẞ", false], // ß upper-cases to "SS" (two units): no mapping
      ["μ", "µ", true], // micro sign and mu share Μ
      ["σ", "ς", true],
      ["[a-z]", "K", true],
      ["[^a-z]", "K", false],
      ["[\\W]", "k", false],
      ["\\u{2}", "uu", true], // Annex B: \u{2} is "u" twice
      ["a{", "A{", true],
      ["[]", "", false],
      ["[^]", "\n", true],
    ];
    for (const [pattern, input, expected] of cases) {
      expect(new RegExp(pattern, "i").test(input), `RegExp ${pattern}`).toBe(expected);
      expect(linearRegex(pattern).test(input), `linear ${pattern}`).toBe(expected);
    }
  });
});

describe("no accepted pattern can stall", () => {
  // Each of these passes the nested-quantifier check, and the backtracking engine would take
  // seconds to hours on these inputs (measured: ^(a|a)*$ on 24 a's and a '!' alone takes ~0.7 s,
  // and each further 'a' doubles it).
  const pathological: [string, string][] = [
    ["^(a|a)*$", `${"a".repeat(5000)}!`],
    ["^(a|aa)*$", `${"a".repeat(5000)}!`],
    ["a*a*a*a*a*a*b", "a".repeat(5000)],
    ["^(\\w|\\d)*$", `${"1".repeat(5000)}!`],
    ["^(a|b|ab)*c", "ab".repeat(2500)],
  ];
  it.each(pathological)("%s is accepted and answers within a bound", (pattern, input) => {
    expect(regexProblem(pattern)).toBeNull();
    const started = performance.now();
    expect(linearRegex(pattern).test(input)).toBe(false);
    // Linear: milliseconds. The bound is generous for a loaded CI machine.
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("what the linear engine cannot run is refused, with a reason", () => {
    for (const pattern of ["(a)\\1", "a(?=b)", "(?<!x)y", "a{17}", "(?<n>a)\\k<n>"]) {
      expect(regexProblem(pattern), pattern).toMatch(/unsupported regular expression|backtrack/);
    }
  });
});
