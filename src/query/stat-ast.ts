/**
 * The typed `stat` query: what `parse-stat.ts` produces from a SpaceONE `StatisticsQuery` (docs/compatibility.md, "Stat",
 * §2.3) and `compile-stat.ts` turns into one SQL statement. Everything here is validated: every
 * reference names something that exists at that point of the pipeline, every name is a safe
 * identifier, every operator sits where it is allowed. The parser knows nothing of SQL, the
 * compiler nothing of protobuf.
 *
 * Rows flow through the pipeline like documents through a Mongo aggregation. The parser records,
 * for every stage, the shape of the rows that leave it (`RowShape`), so the compiler and the
 * result decoder never have to re-derive which names exist or what kind of value they hold.
 */
import type { Condition, FieldRef, Page, Scalar, Where } from "./ast.js";

/**
 * What a value in a row is, as far as the pipeline can tell statically:
 * - `string`: text (job ids, enums, error messages);
 * - `datetime`: ISO-8601 text in the storage format (`YYYY-MM-DDTHH:MM:SS.mmmZ`);
 * - `number`: a number (count, sum, average, size, date parts);
 * - `json`: any JSON value (anything read from `options`, and lists/objects built by push,
 *   add_to_set, merge_objects, array_to_object, object_to_array). Its type is known only per row.
 */
export type ValueKind = "string" | "datetime" | "number" | "json";

/** A named column of a row after a stage that renames (group, project, count). */
export interface NamedColumn {
  readonly name: string;
  readonly kind: ValueKind;
  /**
   * A group key (upstream keeps these under `_id`). `project` keeps key columns unless
   * `exclude_keys` is set (docs/compatibility.md, "Stat" project).
   */
  readonly key: boolean;
}

/**
 * The rows between two stages: whole jobs (before any group/project/count; unwind, sort, limit
 * and skip keep this shape), or named columns.
 */
export type RowShape =
  | { readonly kind: "jobs" }
  | { readonly kind: "named"; readonly columns: readonly NamedColumn[] };

/**
 * A value of the current row: a top-level column (a job column while rows are jobs, otherwise a
 * name an earlier stage made) and a path inside it (only inside `json` values).
 */
export interface StatRef {
  /** Job column or stage-made name: validated, never SQL text. */
  readonly column: string;
  /** Segments under a json column (`options.a.b` -> column `options`, path `[a, b]`). */
  readonly path: readonly string[];
  /** The kind of the referenced value: `json` whenever a path is present. */
  readonly kind: ValueKind;
  /** As the client wrote it, for messages. */
  readonly text: string;
}

/** Operators of group field `conditions` (docs/compatibility.md, "Stat"); `not` means "not equal" (quirk 10). */
export type GroupConditionOp = "eq" | "not" | "gt" | "gte" | "lt" | "lte";

/** Operators of an `unwind` stage's `filter` (docs/compatibility.md, "Stat" unwind). */
export type UnwindFilterOp =
  | "eq"
  | "not"
  | "in"
  | "not_in"
  | "contain"
  | "not_contain"
  | "contain_in"
  | "not_contain_in";

/**
 * A condition evaluated against the rows at one point of the pipeline. While rows are jobs the
 * list filter's own parser and compiler are reused (`job`); on named rows (`named`) the same
 * semantics are applied to stage-made values.
 */
export type StatCondition =
  | { readonly on: "job"; readonly condition: Condition }
  | { readonly on: "named"; readonly op: "eq" | "not"; readonly ref: StatRef; readonly value: Scalar }
  | {
      readonly on: "named";
      readonly op: "gt" | "gte" | "lt" | "lte";
      readonly ref: StatRef;
      readonly value: string | number | boolean;
    }
  | {
      readonly on: "named";
      readonly op: "in" | "not_in";
      readonly ref: StatRef;
      readonly values: readonly Scalar[];
    }
  | {
      readonly on: "named";
      readonly op: "contain" | "not_contain";
      readonly ref: StatRef;
      readonly value: string;
    }
  | {
      readonly on: "named";
      readonly op: "contain_in" | "not_contain_in";
      readonly ref: StatRef;
      readonly values: readonly string[];
    };

/** `date_format` of a group key: a date part as an integer, or a strftime-style text format. */
export type DateFormat =
  | { readonly kind: "year" | "month" | "day" }
  | {
      readonly kind: "strftime";
      /** Validated against the allowed `%` directives (see parse-stat.ts). */
      readonly format: string;
    };

export interface GroupKey {
  readonly field: StatRef;
  readonly name: string;
  readonly dateFormat: DateFormat | null;
}

export type GroupFieldOp =
  | "count"
  | "sum"
  | "average"
  | "max"
  | "min"
  | "first"
  | "last"
  | "add_to_set"
  | "merge_objects"
  | "push";

export interface PushSubField {
  readonly field: StatRef;
  readonly name: string;
}

export type GroupField =
  | { readonly op: "count"; readonly name: string; readonly conditions: readonly StatCondition[] }
  | {
      readonly op: "sum" | "average";
      readonly name: string;
      readonly field: StatRef;
      readonly conditions: readonly StatCondition[];
    }
  | {
      readonly op: "max" | "min" | "first" | "last" | "add_to_set" | "merge_objects";
      readonly name: string;
      readonly field: StatRef;
    }
  | { readonly op: "push"; readonly name: string; readonly field: StatRef }
  | { readonly op: "push"; readonly name: string; readonly subFields: readonly PushSubField[] };

export type ProjectOp = "size" | "sum" | "array_to_object" | "object_to_array";

export interface ProjectField {
  readonly field: StatRef;
  readonly name: string;
  /** null: the value itself under a new name. */
  readonly op: ProjectOp | null;
}

export interface StatSortKey {
  readonly field: StatRef;
  readonly desc: boolean;
}

/** One pipeline stage; `output` is the shape of the rows it emits. */
export type Stage = (
  | { readonly type: "group"; readonly keys: readonly GroupKey[]; readonly fields: readonly GroupField[] }
  | { readonly type: "unwind"; readonly path: StatRef; readonly filter: readonly StatCondition[] }
  | { readonly type: "count"; readonly name: string }
  | { readonly type: "sort"; readonly keys: readonly StatSortKey[] }
  | { readonly type: "project"; readonly fields: readonly ProjectField[]; readonly excludeKeys: boolean }
  | { readonly type: "limit"; readonly count: number }
  | { readonly type: "skip"; readonly count: number }
) & { readonly output: RowShape };

export type StageType = Stage["type"];

export type StatQuery =
  | {
      readonly type: "aggregate";
      /** filter AND (filter_or OR keyword); the service ANDs its scope in. */
      readonly where: Where;
      readonly stages: readonly Stage[];
      /** The shape of the result rows (the last stage's output, or jobs for an empty tail). */
      readonly output: RowShape;
      readonly page: Page;
    }
  | {
      readonly type: "distinct";
      readonly where: Where;
      readonly field: FieldRef;
      readonly page: Page;
    };
