/** The messages between `read-pool.ts` and its `read-worker.ts` threads (structured clones). */
import type { StatQuery } from "../../query/stat-ast.js";
import type { ListRequest, ListResult, StatOptions, StatResult } from "../store.js";

export interface ReadWorkerData {
  readonly file: string;
  readonly busyTimeoutMs: number;
  /** Send back the statements each request ran (the pool has a statement hook). */
  readonly reportStatements: boolean;
}

/** A statement a worker ran, for the pool's statement hook. */
export interface RanStatement {
  readonly sql: string;
  readonly parameters: readonly unknown[];
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
  | {
      readonly id: number;
      readonly ok: true;
      readonly result: ListResult | StatResult;
      readonly statements: readonly RanStatement[];
    }
  | {
      readonly id: number;
      readonly ok: false;
      readonly statements: readonly RanStatement[];
      /** A driver error's code travels so the main thread classifies it as the store would. */
      readonly error: { readonly message: string; readonly sqliteCode: string | null };
    };
