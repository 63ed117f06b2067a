/**
 * The messages between `read-pool.ts` and its `read-worker.ts` threads (structured clones).
 *
 * A list whose rows fit one batch (`fitsOneBatch`: a page of at most `batchRows`, or a count) is
 * answered in one message: header and rows, read in one transaction that has ended when it is sent.
 * Any other list streams: the worker answers with its header (count, change head), then sends its
 * rows in batches, at most `ahead` batches before the pool asks for more (`more`, one per batch the
 * consumer took), then `end`. The read transaction stays open in the worker until `end` or `cancel`.
 */
import type { JobColumn } from "../../query/fields.js";
import type { RegexCacheLimits } from "../../query/linear-regex.js";
import type { JobRow } from "../schema.js";
import type { StatResult } from "../store.js";
import type { CompiledList, CompiledStat, ListHeader } from "./sqlite-statements.js";

export interface ReadWorkerData {
  readonly file: string;
  readonly busyTimeoutMs: number;
  /** The bounds of the worker's own compiled-pattern cache (REGEX_CACHE_*); unset: the defaults. */
  readonly regexCache?: RegexCacheLimits;
  readonly cacheMb?: number;
  /** Send back the statements each request ran (the pool has a statement hook). */
  readonly reportStatements: boolean;
}

/** A statement a worker ran, for the pool's statement hook. */
export interface RanStatement {
  readonly sql: string;
  readonly parameters: readonly unknown[];
}

export type ReadRequest =
  | {
      readonly id: number;
      readonly kind: "list";
      /** Compiled on the main thread: a worker never loads the query builder. */
      readonly list: CompiledList;
      /** Rows per batch. */
      readonly batchRows: number;
      /** Batches the worker may send before the pool asks for more. */
      readonly ahead: number;
    }
  /** The consumer took a batch: the worker may send one more. */
  | { readonly id: number; readonly kind: "more" }
  /** The consumer stopped reading: end the read transaction, send nothing more. */
  | { readonly id: number; readonly kind: "cancel" }
  | {
      readonly id: number;
      readonly kind: "stat";
      readonly stat: CompiledStat;
    };

export type ReadReply =
  | { readonly ready: true }
  /** A stat's answer, or a streamed list's header; `rows`: batches and an `end` follow. `statements`:
   * what the request ran, when the pool has a statement hook. */
  | {
      readonly id: number;
      readonly ok: true;
      readonly result: StatResult;
      readonly statements?: readonly RanStatement[];
    }
  | {
      readonly id: number;
      readonly ok: true;
      readonly header: ListHeader;
      readonly rows: boolean;
      readonly statements?: readonly RanStatement[];
    }
  /**
   * A list answered whole: its header and every row (at most one batch) as arrays of values in
   * `columns`' order (they clone for less than row objects: `rowsOf`); nothing follows.
   */
  | {
      readonly id: number;
      readonly ok: true;
      readonly header: ListHeader;
      readonly columns: readonly JobColumn[];
      readonly values: unknown[][];
      readonly statements?: readonly RanStatement[];
    }
  | { readonly id: number; readonly batch: JobRow[] }
  | { readonly id: number; readonly end: true }
  | {
      readonly id: number;
      readonly ok: false;
      readonly statements?: readonly RanStatement[];
      /** A driver error's code travels so the main thread classifies it as the store would. */
      readonly error: { readonly message: string; readonly sqliteCode: string | null };
    };
