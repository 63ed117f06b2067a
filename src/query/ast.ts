/**
 * The typed query: what the parser produces from SpaceONE `Query` JSON and the compiler turns into
 * SQL. Every value here is validated; every field reference names a catalogued column. The parser
 * knows nothing of SQL, the compiler nothing of protobuf.
 */
import type { JobColumn } from "./fields.js";

/** A reference to a Job field, or to a path inside a json column (`options.a.b`). */
export interface FieldRef {
  readonly column: JobColumn;
  /** Path segments under a json column; empty for a plain column. */
  readonly path: readonly string[];
  /** The name as the client wrote it (`options.a.b`), for error messages and output keys. */
  readonly name: string;
}

export type Scalar = string | number | boolean | null;

/**
 * One condition. datetime_* and timediff_* are resolved by the parser into `lt`/`lte`/`gt`/`gte`
 * with an ISO-8601 string value (the storage format of datetime columns), so the compiler has one
 * comparison path.
 */
export type Condition =
  | { readonly op: "eq" | "not"; readonly field: FieldRef; readonly value: Scalar }
  | {
      readonly op: "lt" | "lte" | "gt" | "gte";
      readonly field: FieldRef;
      readonly value: string | number | boolean;
    }
  | { readonly op: "exists"; readonly field: FieldRef; readonly value: boolean }
  | { readonly op: "contain" | "not_contain"; readonly field: FieldRef; readonly value: string }
  | { readonly op: "in" | "not_in"; readonly field: FieldRef; readonly values: readonly Scalar[] }
  | {
      readonly op: "contain_in" | "not_contain_in";
      readonly field: FieldRef;
      readonly values: readonly string[];
    }
  | { readonly op: "regex"; readonly field: FieldRef; readonly value: string }
  | { readonly op: "regex_in"; readonly field: FieldRef; readonly values: readonly string[] }
  | { readonly op: "match"; readonly field: FieldRef; readonly value: Readonly<Record<string, Scalar>> };

export type ConditionOp = Condition["op"];

/** `filter` (AND) and `filter_or` (OR); the result is AND(filter) AND OR(filter_or). */
export interface Where {
  readonly and: readonly Condition[];
  readonly or: readonly Condition[];
}

export interface SortKey {
  readonly field: FieldRef;
  readonly desc: boolean;
}

export interface Page {
  /** 0-based offset (the wire's 1-based `start` minus one). */
  readonly offset: number;
  /** null when the request set no limit; the service then enforces the unpaged maximum. */
  readonly limit: number | null;
}

export interface ListQuery {
  readonly where: Where;
  /** Empty means the default order (created_at DESC). A seq tiebreaker is always appended. */
  readonly sort: readonly SortKey[];
  readonly page: Page;
  /** Fields to return (columns or `options.*` paths); null means all. */
  readonly only: readonly FieldRef[] | null;
  readonly countOnly: boolean;
}
