/**
 * What validating the patterns of the expensive suite's `regex_in` case at its bound costs on the
 * event loop (test/hardening/expensive.test.ts: QUERY_MAX_REGEX_PATTERNS patterns sharing
 * QUERY_MAX_REGEX_TOTAL_LENGTH), beside what compiling them with re2js costs (what validation did
 * before: it compiled each pattern; the SQLite read workers now compile them where they match).
 * Rounds are interleaved and every round uses fresh patterns, so no cache answers and machine noise
 * hits both alike:
 *
 *   npx tsx scripts/regex-validation-time.ts
 *
 * Prints the median and worst milliseconds per request (all its patterns) for each.
 */

import { DEFAULT_QUERY_LIMITS as L } from "../src/query/cost.js";
import { linearRegex } from "../src/query/linear-regex.js";
import { regexProblem } from "../src/query/regex.js";

const ROUNDS = Number(process.env.ROUNDS ?? 20);

/** The case's patterns (as the suite builds them), made distinct per round by a prefix. */
function patterns(round: number): string[] {
  return Array.from(
    { length: L.maxRegexPatterns },
    (_, i) =>
      `r${round}${`(a|b)*${String(i).padStart(3, "0")}${"[a-z]*x".repeat(8)}`.slice(0, L.maxRegexTotalLength / L.maxRegexPatterns)}`,
  );
}

function time(run: () => void): number {
  const started = performance.now();
  run();
  return performance.now() - started;
}

const validate: number[] = [];
const compile: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const ps = patterns(round);
  validate.push(
    time(() => {
      for (const p of ps) if (regexProblem(p) !== null) throw new Error(`refused: ${p}`);
    }),
  );
  compile.push(time(() => ps.forEach(linearRegex)));
}

const summary = (ms: number[]) => {
  const sorted = [...ms].sort((a, b) => a - b);
  return `median ${sorted[sorted.length >> 1]?.toFixed(2)} ms, max ${sorted.at(-1)?.toFixed(2)} ms`;
};
console.log(
  `${L.maxRegexPatterns} patterns of ${L.maxRegexTotalLength / L.maxRegexPatterns} characters, ${ROUNDS} rounds`,
);
console.log(`validate (regexProblem, the parser):       ${summary(validate)}`);
console.log(`compile (re2js, the old validation's work): ${summary(compile)}`);
