/**
 * The limits part of the configuration (docs/limits.md lists every one): the query cost model, the
 * caches, the size of an answer, and connections and streams. Kept apart from config.ts so the
 * table of limits is in one place; config.ts spreads `limitsSchema` into its schema.
 */
import { number, type Setting } from "./config-setting.js";
import { DEFAULT_QUERY_LIMITS, type QueryLimits } from "./query/cost.js";

const count = (fallback: number, max = 1_000_000): Setting<number> => number(1, max).default(fallback);

export const limitsSchema = {
  QUERY_MAX_CONDITIONS: count(DEFAULT_QUERY_LIMITS.maxConditions, 400),
  QUERY_MAX_LIST_VALUES: count(DEFAULT_QUERY_LIMITS.maxListValues, 500),
  QUERY_MAX_TOTAL_VALUES: count(DEFAULT_QUERY_LIMITS.maxTotalValues, 2048),
  // Each value on a path is a correlated subquery: preparing N of them grows with N squared
  // (docs/limits.md), so the maximum is what prepares in about a second on a loaded machine.
  QUERY_MAX_PATH_VALUES: count(DEFAULT_QUERY_LIMITS.maxPathValues, 512),
  QUERY_MAX_REGEX_PATTERNS: count(DEFAULT_QUERY_LIMITS.maxRegexPatterns, 1000),
  QUERY_MAX_REGEX_TOTAL_LENGTH: count(DEFAULT_QUERY_LIMITS.maxRegexTotalLength, 65_536),
  QUERY_MAX_FIELDS: count(DEFAULT_QUERY_LIMITS.maxFields, 256),
  STAT_MAX_STAGES: count(DEFAULT_QUERY_LIMITS.maxStages, 64),
  STAT_MAX_GROUP_KEYS: count(DEFAULT_QUERY_LIMITS.maxGroupKeys, 64),
  STAT_MAX_GROUP_FIELDS: count(DEFAULT_QUERY_LIMITS.maxGroupFields, 128),
  STAT_MAX_COLLECT_FIELDS: count(DEFAULT_QUERY_LIMITS.maxCollectFields, 64),
  STAT_MAX_PUSH_SUB_FIELDS: count(DEFAULT_QUERY_LIMITS.maxPushSubFields, 64),
  STAT_MAX_UNWINDS: count(DEFAULT_QUERY_LIMITS.maxUnwinds, 8),
  MAX_RESPONSE_BYTES: count(32 * 1024 * 1024, 1024 * 1024 * 1024),
  REGEX_CACHE_ENTRIES: count(4096),
  REGEX_CACHE_BYTES: count(32 * 1024 * 1024, 1024 * 1024 * 1024),
  TOKEN_CACHE_ENTRIES: count(10_000),
  TOKEN_CACHE_BYTES: count(16 * 1024 * 1024, 1024 * 1024 * 1024),
  MAX_CONNECTIONS: count(1024, 100_000),
  H2_MAX_CONCURRENT_STREAMS: count(100, 10_000),
  H2_MAX_SESSION_MEMORY_MB: count(10, 1024),
  MAX_HEADER_BYTES: count(16 * 1024, 1024 * 1024),
  HEADERS_TIMEOUT_MS: count(10_000, 600_000),
  REQUEST_TIMEOUT_MS: count(30_000, 3_600_000),
  IDLE_TIMEOUT_MS: count(65_000, 3_600_000),
};

type LimitsEnv = { [K in keyof typeof limitsSchema]: number };

export interface WireLimitsConfig {
  readonly maxConnections: number;
  readonly h2MaxConcurrentStreams: number;
  readonly h2MaxSessionMemoryMb: number;
  readonly maxHeaderBytes: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly idleTimeoutMs: number;
}

export interface LimitsConfig {
  readonly query: QueryLimits;
  readonly maxResponseBytes: number;
  readonly regexCache: { readonly maxEntries: number; readonly maxBytes: number };
  readonly tokenCache: { readonly maxEntries: number; readonly maxBytes: number };
  readonly wire: WireLimitsConfig;
}

export function limitsFromEnv(c: LimitsEnv): LimitsConfig {
  return {
    query: {
      maxConditions: c.QUERY_MAX_CONDITIONS,
      maxListValues: c.QUERY_MAX_LIST_VALUES,
      maxTotalValues: c.QUERY_MAX_TOTAL_VALUES,
      maxPathValues: c.QUERY_MAX_PATH_VALUES,
      maxRegexPatterns: c.QUERY_MAX_REGEX_PATTERNS,
      maxRegexTotalLength: c.QUERY_MAX_REGEX_TOTAL_LENGTH,
      maxFields: c.QUERY_MAX_FIELDS,
      maxStages: c.STAT_MAX_STAGES,
      maxGroupKeys: c.STAT_MAX_GROUP_KEYS,
      maxGroupFields: c.STAT_MAX_GROUP_FIELDS,
      maxCollectFields: c.STAT_MAX_COLLECT_FIELDS,
      maxPushSubFields: c.STAT_MAX_PUSH_SUB_FIELDS,
      maxUnwinds: c.STAT_MAX_UNWINDS,
    },
    maxResponseBytes: c.MAX_RESPONSE_BYTES,
    regexCache: { maxEntries: c.REGEX_CACHE_ENTRIES, maxBytes: c.REGEX_CACHE_BYTES },
    tokenCache: { maxEntries: c.TOKEN_CACHE_ENTRIES, maxBytes: c.TOKEN_CACHE_BYTES },
    wire: {
      maxConnections: c.MAX_CONNECTIONS,
      h2MaxConcurrentStreams: c.H2_MAX_CONCURRENT_STREAMS,
      h2MaxSessionMemoryMb: c.H2_MAX_SESSION_MEMORY_MB,
      maxHeaderBytes: c.MAX_HEADER_BYTES,
      headersTimeoutMs: c.HEADERS_TIMEOUT_MS,
      requestTimeoutMs: c.REQUEST_TIMEOUT_MS,
      idleTimeoutMs: c.IDLE_TIMEOUT_MS,
    },
  };
}
