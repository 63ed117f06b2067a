/**
 * Following `watch` with reconnection, apart from the wire so it can be tested: the request for a
 * cursor, what each kind of failure means for the connection indicator, the growing pause before a
 * retry, and resuming from the last cursor (or from a fresh snapshot when the cursor is too old).
 */
import type { JsonObject } from "./history-query.js";
import type { LiveEventType, LiveJob, LiveModel } from "./live-model.js";

export type Connection =
  | { readonly state: "connecting" }
  | { readonly state: "live" }
  | { readonly state: "reconnecting"; readonly reason: string; readonly retryMs: number }
  | { readonly state: "unavailable"; readonly reason: string };

/** What a failure means: sign out, give up (the indicator says why), start over, or retry. */
export type FailureKind = "unauthenticated" | "unimplemented" | "refused" | "cursor_too_old" | "transient";

export interface StreamEvent<J extends LiveJob> {
  readonly type: LiveEventType | undefined;
  readonly cursor: string;
  readonly job?: J | undefined;
  readonly matches: boolean;
}

export interface FollowOptions<J extends LiveJob> {
  readonly model: LiveModel<J>;
  /** Open the stream for a request (proto JSON). */
  watch(request: JsonObject, signal: AbortSignal): AsyncIterable<StreamEvent<J>>;
  classify(error: unknown): { kind: FailureKind; message: string };
  setConnection(connection: Connection): void;
  /** The model changed. */
  redraw(): void;
  onUnauthenticated(message: string): void;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  now(): number;
}

export const FIRST_RETRY_MS = 1_000;
export const MAX_RETRY_MS = 15_000;

/** The running jobs: the same filter language as `list`. */
export function watchRequest(cursor: string): JsonObject {
  return {
    query: { filter: [{ k: "status", v: ["PENDING", "IN_PROGRESS"], o: "in" }] },
    cursor,
    // A snapshot first only when not resuming: a resumed stream continues where it stopped.
    send_initial: cursor === "",
  };
}

/** Runs until `signal` aborts or the stream cannot be had (unauthenticated, unimplemented, refused). */
export async function follow<J extends LiveJob>(
  options: FollowOptions<J>,
  signal: AbortSignal,
): Promise<void> {
  const { model } = options;
  let cursor = "";
  let retryMs = FIRST_RETRY_MS;
  while (!signal.aborted) {
    try {
      if (cursor === "") model.reset();
      for await (const event of options.watch(watchRequest(cursor), signal)) {
        options.setConnection({ state: "live" });
        retryMs = FIRST_RETRY_MS;
        if (event.cursor) cursor = event.cursor;
        if (!event.type) continue;
        model.apply({ type: event.type, job: event.job, matches: event.matches }, options.now());
        options.redraw();
      }
      if (signal.aborted) return;
      // The server ended the stream (a restart or a drain): resume, elsewhere if need be, from the cursor.
      options.setConnection({ state: "reconnecting", reason: "the stream ended", retryMs });
    } catch (error) {
      if (signal.aborted) return;
      const { kind, message } = options.classify(error);
      switch (kind) {
        case "unauthenticated":
          options.onUnauthenticated(message);
          return;
        case "unimplemented":
        case "refused":
          options.setConnection({ state: "unavailable", reason: message });
          return;
        case "cursor_too_old":
          cursor = "";
          break;
        case "transient":
          break;
      }
      options.setConnection({ state: "reconnecting", reason: message, retryMs });
    }
    await options.sleep(retryMs, signal);
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
  }
}
