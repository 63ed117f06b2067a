/** The messages between `read-pool.ts` and its `read-worker.ts` threads (structured clones). */
import type { RegexCacheLimits } from "../../query/linear-regex.js";
import type { StatQuery } from "../../query/stat-ast.js";
import type { ListRequest, ListResult, StatOptions, StatResult } from "../store.js";

export interface ReadWorkerData {
  readonly file: string;
  readonly busyTimeoutMs: number;
  /** The bounds of the worker's own compiled-pattern cache (REGEX_CACHE_*); unset: the defaults. */
  readonly regexCache?: RegexCacheLimits;
}

export type ReadRequest =
  | { readonly id: number; readonly kind: "list"; readonly request: ListRequest }
  | {
      readonly id: number;
      readonly kind: "stat";
      readonly query: StatQuery;
      readonly statOptions: StatOptions;
    };

export type ReadReply =
  | { readonly ready: true }
  | { readonly id: number; readonly ok: true; readonly result: ListResult | StatResult }
  | {
      readonly id: number;
      readonly ok: false;
      /** A driver error's code travels so the main thread classifies it as the store would. */
      readonly error: { readonly message: string; readonly sqliteCode: string | null };
    };
