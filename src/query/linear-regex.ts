/**
 * User regexes on the JavaScript side (the SQLite `regexp_i` function), run by re2js: a pure-JS port
 * of RE2, whose automaton is linear in the text for a given pattern, so no accepted pattern can stall
 * the process whatever the data (docs/regex.md). Patterns are first checked against the portable
 * subset (`portable-regex.ts`), which also spells case-insensitivity out, so the engine runs
 * case-sensitive with `.` matching newlines, as PostgreSQL's `~*` does.
 *
 * Compiled patterns are kept in a least-recently-used cache bounded by entries and by (estimated)
 * bytes: a request with many distinct patterns evicts old ones one at a time, it never empties the
 * cache (which made every row recompile every pattern).
 */
import { createRequire } from "node:module";
import { LRUCache } from "lru-cache";
import type { RE2JS } from "re2js";
import { PortableRegexError, toPortableSource } from "./portable-regex.js";

/** A pattern outside the portable subset or that the engine refuses. */
export class UnsupportedRegexError extends Error {
  override readonly name = "UnsupportedRegexError";
}

/** A compiled pattern: `test` is an unanchored search, like `RegExp.prototype.test`. */
export interface CompiledRegex {
  test(text: string): boolean;
}

export interface RegexCacheLimits {
  /** Most compiled patterns kept (REGEX_CACHE_ENTRIES). */
  readonly maxEntries: number;
  /** Most estimated bytes of compiled patterns kept (REGEX_CACHE_BYTES). */
  readonly maxBytes: number;
}

export const defaultRegexCacheLimits: RegexCacheLimits = { maxEntries: 4096, maxBytes: 32 * 1024 * 1024 };

/**
 * Estimated heap bytes of one compiled pattern: re2js keeps the parsed program (a few dozen bytes per
 * instruction, about two instructions per source character once letters become classes) and a small
 * fixed part. Measured: see docs/regex.md.
 */
function estimatedBytes(source: string): number {
  return 2_048 + source.length * 160;
}

function createCache(limits: RegexCacheLimits): LRUCache<string, CompiledRegex> {
  return new LRUCache<string, CompiledRegex>({
    max: limits.maxEntries,
    maxSize: limits.maxBytes,
    sizeCalculation: (_value, pattern) => estimatedBytes(pattern),
  });
}

let cache = createCache(defaultRegexCacheLimits);

/**
 * re2js, loaded when the first pattern is compiled, not with this module: its code and tables hold about
 * 6 MB of resident memory in every thread that loads it (the main thread and each read worker), which a
 * service whose callers never filter by regex should not carry (docs/benchmarks.md "Memory: re2js on
 * first use"). Synchronous (the SQLite function and the watch filter match synchronously), hence
 * `require` of the package's CommonJS build, the same code as its ES module.
 */
let engine: typeof RE2JS | undefined;
function re2(): typeof RE2JS {
  engine ??= (createRequire(import.meta.url)("re2js") as { RE2JS: typeof RE2JS }).RE2JS;
  return engine;
}

/** Replace the cache with one of these bounds (at start-up, from the configuration). */
export function setRegexCacheLimits(limits: RegexCacheLimits): void {
  cache = createCache(limits);
}

/** Entries and estimated bytes in the cache now (tests, metrics). */
export function regexCacheStats(): { entries: number; bytes: number } {
  return { entries: cache.size, bytes: cache.calculatedSize };
}

/**
 * `pattern` compiled for a case-insensitive search with the portable subset's meaning. Throws
 * UnsupportedRegexError outside the subset.
 */
export function linearRegex(pattern: string): CompiledRegex {
  const cached = cache.get(pattern);
  if (cached) return cached;
  let source: string;
  try {
    source = toPortableSource(pattern);
  } catch (error) {
    if (error instanceof PortableRegexError) throw new UnsupportedRegexError(error.message);
    throw error;
  }
  let compiled: RE2JS;
  try {
    const re = re2();
    compiled = re.compile(source, re.DOTALL);
  } catch (error) {
    throw new UnsupportedRegexError((error as Error).message);
  }
  const entry: CompiledRegex = { test: (text) => compiled.test(text) };
  cache.set(pattern, entry);
  return entry;
}
