/**
 * The cost model: bounds on a query's worst-case work and output, checked from its shape while it is
 * parsed, before anything runs. Every bound is configurable (src/config.ts) and listed in
 * docs/limits.md; a request over one is `invalid_argument` naming the request path and the setting.
 *
 * Why these bounds hold the cost down:
 * - conditions and list values bound the size of the SQL expression: each condition is one term of
 *   an AND/OR chain and each list value one term of an OR chain, so the defaults keep the deepest
 *   expression far below SQLite's depth limit (1,000) and the bound parameters below its 32,766
 *   (an options-path `in` value costs ~10 parameters), on PostgreSQL too;
 * - list values on options paths are tested on the parsed JSON of every row, so they have a bound of
 *   their own, lower than column values;
 * - regex patterns and their total length bound the per-row matching work (both engines are linear
 *   in the text for a given pattern) and the validation work;
 * - stages, group keys and fields, projected fields bound the width of every row;
 * - push / add_to_set / merge_objects fields each hold a whole group: they bound the memory of a
 *   `stat` by a small multiple of the rows it reads;
 * - one `unwind` makes at most as many rows as there are list elements stored (or rows pushed): work
 *   linear in the data. A second would multiply lengths (quadratic, then worse), so it is refused
 *   unless configured.
 */
import { errors } from "../errors.js";

export interface QueryLimits {
  /** Conditions in one request: filter, filter_or, keyword terms, group conditions, unwind filters. */
  readonly maxConditions: number;
  /** Values of one list operator (in, not_in, contain_in, not_contain_in, regex_in). */
  readonly maxListValues: number;
  /** List values in one request, all conditions together. */
  readonly maxTotalValues: number;
  /**
   * List values compared with an options path in one request: each is tested per row on the parsed
   * JSON (type and list membership), about ten times the work of a column value.
   */
  readonly maxPathValues: number;
  /** Regex patterns (regex, regex_in) in one request. */
  readonly maxRegexPatterns: number;
  /** Characters of all regex patterns in one request. */
  readonly maxRegexTotalLength: number;
  /** `stat` pipeline stages. */
  readonly maxStages: number;
  /** Keys of one group stage. */
  readonly maxGroupKeys: number;
  /** Fields of one group stage. */
  readonly maxGroupFields: number;
  /** push, add_to_set and merge_objects fields in one request (each holds a whole group). */
  readonly maxCollectFields: number;
  /** Sub-fields of one push. */
  readonly maxPushSubFields: number;
  /** unwind stages in one request. */
  readonly maxUnwinds: number;
  /** Fields of `only` (list) or of one project stage. */
  readonly maxFields: number;
}

export const DEFAULT_QUERY_LIMITS: QueryLimits = {
  maxConditions: 128,
  maxListValues: 256,
  maxTotalValues: 2048,
  maxPathValues: 64,
  maxRegexPatterns: 64,
  maxRegexTotalLength: 4096,
  maxStages: 16,
  maxGroupKeys: 16,
  maxGroupFields: 32,
  maxCollectFields: 8,
  maxPushSubFields: 16,
  maxUnwinds: 1,
  maxFields: 64,
};

/** The environment variable of each limit: error messages name it, docs/limits.md lists it. */
export const QUERY_LIMIT_SETTINGS: Readonly<Record<keyof QueryLimits, string>> = {
  maxConditions: "QUERY_MAX_CONDITIONS",
  maxListValues: "QUERY_MAX_LIST_VALUES",
  maxTotalValues: "QUERY_MAX_TOTAL_VALUES",
  maxPathValues: "QUERY_MAX_PATH_VALUES",
  maxRegexPatterns: "QUERY_MAX_REGEX_PATTERNS",
  maxRegexTotalLength: "QUERY_MAX_REGEX_TOTAL_LENGTH",
  maxStages: "STAT_MAX_STAGES",
  maxGroupKeys: "STAT_MAX_GROUP_KEYS",
  maxGroupFields: "STAT_MAX_GROUP_FIELDS",
  maxCollectFields: "STAT_MAX_COLLECT_FIELDS",
  maxPushSubFields: "STAT_MAX_PUSH_SUB_FIELDS",
  maxUnwinds: "STAT_MAX_UNWINDS",
  maxFields: "QUERY_MAX_FIELDS",
};

/**
 * The running total of one request's cost, charged as the parser meets each part, so a count is
 * refused before the parts it counts are validated (1,000 patterns are never compiled to be refused).
 */
export class CostBudget {
  private conditions = 0;
  private values = 0;
  private pathValueCount = 0;
  private patterns = 0;
  private patternChars = 0;
  private collects = 0;
  private unwinds = 0;

  constructor(readonly limits: QueryLimits = DEFAULT_QUERY_LIMITS) {}

  /** A list of `count` items at `at` bounded by `limit` alone (stages, keys, fields...). */
  list(count: number, at: string, limit: keyof QueryLimits, what: string): void {
    if (count > this.limits[limit]) this.refuse(at, limit, `more than ${this.limits[limit]} ${what}`);
  }

  condition(at: string, count = 1): void {
    this.conditions += count;
    if (this.conditions > this.limits.maxConditions) {
      this.refuse(at, "maxConditions", `more than ${this.limits.maxConditions} conditions in one request`);
    }
  }

  listValues(count: number, at: string): void {
    this.list(count, at, "maxListValues", "values in one condition");
    this.values += count;
    if (this.values > this.limits.maxTotalValues) {
      this.refuse(at, "maxTotalValues", `more than ${this.limits.maxTotalValues} list values in one request`);
    }
  }

  /** List values compared with an options path (charged on top of `listValues`). */
  pathValues(count: number, at: string): void {
    this.pathValueCount += count;
    if (this.pathValueCount > this.limits.maxPathValues) {
      this.refuse(
        at,
        "maxPathValues",
        `more than ${this.limits.maxPathValues} list values compared with options paths in one request`,
      );
    }
  }

  pattern(pattern: string, at: string): void {
    this.patterns++;
    this.patternChars += pattern.length;
    if (this.patterns > this.limits.maxRegexPatterns) {
      this.refuse(
        at,
        "maxRegexPatterns",
        `more than ${this.limits.maxRegexPatterns} regex patterns in one request`,
      );
    }
    if (this.patternChars > this.limits.maxRegexTotalLength) {
      this.refuse(
        at,
        "maxRegexTotalLength",
        `regex patterns longer than ${this.limits.maxRegexTotalLength} characters in total`,
      );
    }
  }

  collect(at: string): void {
    this.collects++;
    if (this.collects > this.limits.maxCollectFields) {
      this.refuse(
        at,
        "maxCollectFields",
        `more than ${this.limits.maxCollectFields} push, add_to_set or merge_objects fields in one request (each holds a whole group)`,
      );
    }
  }

  unwind(at: string): void {
    this.unwinds++;
    if (this.unwinds > this.limits.maxUnwinds) {
      this.refuse(
        at,
        "maxUnwinds",
        `more than ${this.limits.maxUnwinds} unwind stage${this.limits.maxUnwinds === 1 ? "" : "s"} (each multiplies the rows by a list length)`,
      );
    }
  }

  private refuse(at: string, limit: keyof QueryLimits, message: string): never {
    throw errors.invalidParameter(at, `${message} (limit ${QUERY_LIMIT_SETTINGS[limit]})`);
  }
}
