/**
 * `watch` and `wait` (job_lifecycle.proto, docs/watch.md): authorize and parse like `list` and
 * `get`, then let the process's one `WatchHub` deliver. A stream is an async generator of plain event
 * views; a wait is a promise. Neither polls: both are woken by the hub's single reader.
 */
import type { Principal } from "../../auth/principal.js";
import { errors } from "../../errors.js";
import type { JobRow } from "../../storage/schema.js";
import { collectRows, type JobStore } from "../../storage/store.js";
import { expiredError, missingJob, requireJobId } from "../job-missing.js";
import { authorize, type Scope, scopeConditions } from "../job-rules.js";
import { isFinal } from "../job-state.js";
import { type JobView, toJobView } from "../job-view.js";
import { encodeCursor } from "./cursor.js";
import type { WatchHub } from "./watch-hub.js";
import { parseWatchRequest, type WatchRequest } from "./watch-request.js";
import { type WatchEventView, Watcher } from "./watcher.js";

export interface WatchLimits {
  /** Events a stream may have waiting before it is closed with resource_exhausted. */
  readonly bufferEvents: number;
  /** Most jobs a send_initial snapshot may hold. */
  readonly maxInitial: number;
  /** `wait` without timeout_seconds waits this long (seconds). */
  readonly waitDefaultSeconds: number;
  /** Longest `wait` (seconds); longer requests are capped to it. */
  readonly waitMaxSeconds: number;
}

export interface WatchServiceOptions extends WatchLimits {
  readonly maxPageSize: number;
  readonly now?: () => Date;
}

export interface WaitRequest {
  job_id?: string;
  timeout_seconds?: number;
}

export type WatchStore = Pick<JobStore, "list" | "get" | "tombstone">;

export class WatchService {
  private readonly now: () => Date;

  constructor(
    private readonly store: WatchStore,
    readonly hub: WatchHub,
    private readonly options: WatchServiceOptions,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /**
   * The stream of one watch. Validation errors reject the first `next()`; the generator returns
   * when `signal` aborts (client gone, server shutting down) or the hub closes, and throws
   * `resource_exhausted` when the client reads too slowly.
   */
  async *watch(
    principal: Principal,
    request: WatchRequest,
    signal: AbortSignal,
  ): AsyncGenerator<WatchEventView> {
    const spec = parseWatchRequest(principal, request, {
      now: this.now(),
      maxPageSize: this.options.maxPageSize,
    });
    let snapshot: { rows: JobRow[]; cursor: number } | null = null;
    if (spec.sendInitial) {
      const result = await this.store.list(
        {
          where: spec.where,
          sort: [],
          page: { offset: 0, limit: null },
          only: null,
          countOnly: false,
          unpagedMax: this.options.maxInitial,
        },
        { signal },
      );
      if (result.kind === "too_many") {
        throw errors.invalidParameter(
          "send_initial",
          `${result.total} jobs match and a snapshot holds at most ${this.options.maxInitial}; narrow the ` +
            "filter, or list with pages and watch from the list's cursor",
        );
      }
      // Bounded by maxInitial (the list's ceiling above), so one array is fine here.
      snapshot = { rows: await collectRows(result.rows), cursor: result.cursor };
    }
    const start = snapshot?.cursor ?? spec.after ?? (await this.hub.head());
    const watcher = new Watcher(spec, start, this.options.bufferEvents, (w) => this.hub.leave(w));
    if (snapshot) watcher.snapshot(snapshot.rows, snapshot.cursor);
    try {
      await this.hub.join(watcher);
      // Without a snapshot, a first HEARTBEAT says the stream is live and gives a cursor at once: the
      // starting one (the catch-up may already have queued later events behind it).
      if (!snapshot) yield { type: "HEARTBEAT", cursor: encodeCursor(start), matches: true };
      for (;;) {
        const event = await watcher.next(signal);
        if (event === null) return;
        yield event;
      }
    } finally {
      watcher.close();
    }
  }

  /**
   * The job once it is terminal, or as it is when the timeout passes (not an error), or when
   * `signal` aborts (shutdown). A job deleted while waited on is `not_found`. `budgetMs` is what is
   * left of the client's own deadline: the answer comes before it.
   */
  async wait(
    principal: Principal,
    request: WaitRequest,
    signal: AbortSignal,
    budgetMs?: number,
  ): Promise<JobView> {
    const scope = authorize(principal, "wait");
    const jobId = requireJobId(request.job_id);
    const timeoutMs = Math.min(this.timeoutMs(request.timeout_seconds), budgetMs ?? Number.POSITIVE_INFINITY);
    await this.hub.head();
    const deadline = Date.now() + timeoutMs;
    let row: JobRow | undefined;
    let first = true;
    for (;;) {
      let resolveChange: (changed: JobRow | "deleted" | "closing") => void = () => {};
      const changed = new Promise<JobRow | "deleted" | "closing">((resolve) => {
        resolveChange = resolve;
      });
      // Registered before the read: a change committed after the read wakes this waiter.
      const cancel = this.hub.waitFor(jobId, (next) => resolveChange(next ?? "deleted"));
      try {
        if (first) {
          row = await this.store.get(jobId, scopeConditions(scope), { signal });
          if (!row) throw await this.missing(jobId, scope);
          first = false;
        }
        if (isFinal((row as JobRow).status)) return toJobView(row as JobRow);
        const remaining = deadline - Date.now();
        if (remaining <= 0 || signal.aborted) return toJobView(row as JobRow);
        const outcome = await raceTimeout(changed, remaining, signal);
        if (outcome === "deleted") throw await this.missing(jobId, scope);
        if (outcome === "timeout" || outcome === "closing") return toJobView(row as JobRow);
        row = outcome;
      } finally {
        cancel();
      }
    }
  }

  private timeoutMs(requested: number | undefined): number {
    const { waitDefaultSeconds, waitMaxSeconds } = this.options;
    if (requested !== undefined && (!Number.isFinite(requested) || requested < 0)) {
      throw errors.invalidParameterType("timeout_seconds", "non-negative number");
    }
    const seconds = requested === undefined || requested === 0 ? waitDefaultSeconds : requested;
    return Math.min(seconds, waitMaxSeconds) * 1000;
  }

  private async missing(jobId: string, scope: Scope) {
    const tombstone = await this.store.tombstone(jobId, scopeConditions(scope));
    return tombstone ? expiredError(jobId, tombstone) : missingJob(jobId, scope);
  }
}

/** The promise's value, or "timeout" after `ms` or at an abort of `signal`. */
function raceTimeout<T>(promise: Promise<T>, ms: number, signal: AbortSignal): Promise<T | "timeout"> {
  return new Promise((resolve, reject) => {
    const finish = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      finish();
      resolve("timeout");
    };
    const timer = setTimeout(onAbort, ms);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        finish();
        resolve(value);
      },
      (error) => {
        finish();
        reject(error);
      },
    );
  });
}
