/**
 * One open watch stream: what it has been sent, what is waiting to be read, and the rules that turn a
 * committed change into the event this stream sees (or none). The hub (`watch-hub.ts`) calls
 * `deliver` for every change in the watcher's domain and `advance` after every batch; the wire pulls
 * events with `next()`.
 *
 * Memory is bounded: a watcher that does not read is closed with `resource_exhausted` once
 * `bufferEvents` events wait, and its buffer is dropped at once (its cursor lets it resume).
 */
import { SpaceOneError } from "../../errors.js";
import type { JobEventRow, JobRow } from "../../storage/schema.js";
import type { ChangeCursor, JobChange } from "../../storage/store.js";
import { type JobEventView, toEventView } from "../job-lifecycle.js";
import { type JobView, toJobView } from "../job-view.js";
import { encodeCursor } from "./cursor.js";
import { inScope, type WatchSpec } from "./watch-request.js";

export type WatchEventType = "SNAPSHOT" | "SYNCED" | "CREATED" | "UPDATED" | "DELETED" | "HEARTBEAT";

export interface WatchEventView {
  readonly type: WatchEventType;
  readonly cursor: string;
  readonly job?: JobView;
  readonly event?: JobEventView;
  /** False on the UPDATED that tells a client a job left the filter. */
  readonly matches: boolean;
}

/** Views of rows without a projection, shared by the watchers a batch reaches (never mutated). */
const fullViews = new WeakMap<JobRow, JobView>();

/**
 * The events one change becomes, built once and shared by every watcher that receives the same event
 * (never mutated): the wire encodes an event once per format for all its streams (docs/watch.md,
 * "Delivery path"). Events with a projection (`only`) are the watcher's own. Keyed by the change the
 * hub read; a change delivered again with another row (a joining watcher's catch-up read) is not shared.
 */
interface SharedEvents {
  readonly row: JobRow | undefined;
  readonly event: JobEventRow | undefined;
  timeline?: JobEventView | undefined;
  /** CREATED or UPDATED of a matching job, without projection. */
  matching?: WatchEventView;
  /** The UPDATED that says the job left the filter, without projection. */
  leaving?: WatchEventView;
  deleted?: WatchEventView;
}
const sharedEvents = new WeakMap<JobChange, SharedEvents>();

function sharedOf(change: JobChange, row: JobRow | undefined, event: JobEventRow | undefined): SharedEvents {
  const known = sharedEvents.get(change);
  if (known !== undefined && known.row === row && known.event === event) return known;
  const fresh: SharedEvents = { row, event, timeline: event ? toEventView(event) : undefined };
  if (known === undefined) sharedEvents.set(change, fresh);
  return fresh;
}

/** Most jobs a filtered watcher remembers as "sent as matching" (to tell when one stops matching). */
const MAX_KNOWN = 50_000;

export class Watcher {
  /** The last change this watcher has been given (delivered or skipped as not matching). */
  after: ChangeCursor;
  /** When an event was last queued (heartbeats fill silences). */
  lastQueuedAt = Date.now();
  /** The snapshot (send_initial): sent first, not counted against the buffer of live events. */
  private readonly initial: WatchEventView[] = [];
  private readonly queue: WatchEventView[] = [];
  private wake: (() => void) | null = null;
  /** Stops listening to the reader's signal (see `next`). */
  private unlisten: (() => void) | null = null;
  private ended = false;
  private failure: SpaceOneError | null = null;
  /** Jobs the client holds as matching, and the version it was sent. */
  private readonly known = new Map<string, number>();
  /** True when `known` is complete: the stream began with a snapshot, so it saw every job it holds. */
  private knowsAll = false;

  constructor(
    readonly spec: WatchSpec,
    start: ChangeCursor,
    private readonly bufferEvents: number,
    private readonly onClose: (watcher: Watcher) => void,
  ) {
    this.after = start;
  }

  get closed(): boolean {
    return this.ended;
  }

  /** The snapshot: jobs that match at `cursor` (send_initial), then SYNCED. Not bounded by the buffer. */
  snapshot(rows: readonly JobRow[], cursor: ChangeCursor): void {
    const text = encodeCursor(cursor);
    for (const row of rows) {
      this.initial.push({ type: "SNAPSHOT", cursor: text, job: this.view(row), matches: true });
      this.remember(row);
    }
    this.knowsAll = true;
    this.initial.push({ type: "SYNCED", cursor: text, matches: true });
  }

  /** A committed change, with the job as read after it (undefined if it is gone) and its timeline entry. */
  deliver(change: JobChange, row: JobRow | undefined, event: JobEventRow | undefined): void {
    if (this.ended || change.id <= this.after) return;
    this.after = change.id;
    const { spec } = this;
    if (!inScope(spec.scope, change.domain_id, change.workspace_id)) return;
    const shared = sharedOf(change, row, event);
    const timeline = shared.timeline;
    if (change.kind === "deleted" || row === undefined) {
      // Deleted (or already gone: its `deleted` change follows). Sent when the client may hold it.
      if (change.kind !== "deleted") return;
      const held = this.known.delete(change.job_id) || !spec.filtered || !this.knowsAll;
      if (!held) return;
      // No projection applies to the ids of a deleted job: one event for every watcher.
      shared.deleted ??= {
        type: "DELETED",
        cursor: encodeCursor(change.id),
        job: { job_id: change.job_id, domain_id: change.domain_id, workspace_id: change.workspace_id },
        matches: false,
      };
      this.push(shared.deleted);
      return;
    }
    if (spec.predicate(row)) {
      const sent = this.known.get(row.job_id);
      // A version the client already has (a catch-up read that ran ahead of the hub): nothing new.
      if (sent !== undefined && row.version !== undefined && row.version < sent) return;
      this.remember(row);
      if (spec.only === null) {
        shared.matching ??= this.event(change, row, timeline, true);
        this.push(shared.matching);
      } else {
        this.push(this.event(change, row, timeline, true));
      }
      return;
    }
    // Not matching now: tell a client that holds it, once.
    const held =
      this.known.delete(row.job_id) ||
      (spec.filtered && !this.knowsAll && event?.from_status != null && this.matchedBefore(row, event));
    if (!held) return;
    if (spec.only === null) {
      shared.leaving ??= this.event(change, row, timeline, false);
      this.push(shared.leaving);
    } else {
      this.push(this.event(change, row, timeline, false));
    }
  }

  /** The event of a change to a job that exists: CREATED or UPDATED, matching or leaving the filter. */
  private event(
    change: JobChange,
    row: JobRow,
    timeline: JobEventView | undefined,
    matches: boolean,
  ): WatchEventView {
    const type = matches && change.kind === "created" ? "CREATED" : "UPDATED";
    const cursor = encodeCursor(change.id);
    return { type, cursor, job: this.view(row), ...(timeline && { event: timeline }), matches };
  }

  /** The hub read every change up to `position`: nothing more for this watcher before it. */
  advance(position: ChangeCursor): void {
    if (position > this.after) this.after = position;
  }

  heartbeat(): void {
    this.push({ type: "HEARTBEAT", cursor: encodeCursor(this.after), matches: true });
  }

  /** End the stream: cleanly (shutdown, client gone) or with an error the client receives. */
  close(error?: SpaceOneError): void {
    if (this.ended) return;
    this.ended = true;
    if (error) {
      this.failure = error;
      this.initial.length = 0;
      this.queue.length = 0;
    }
    this.onClose(this);
    this.unlisten?.();
    this.unlisten = null;
    this.wakeUp();
  }

  /**
   * The next event, or null when the stream has ended cleanly; throws the error it ended with. A stream
   * reads with one signal: it is listened to once, not once per wait (listeners on an AbortSignal cost
   * more than the rest of a wait, per event and stream).
   */
  async next(signal: AbortSignal): Promise<WatchEventView | null> {
    if (this.unlisten === null && !this.ended && !signal.aborted) {
      const onAbort = () => this.wakeUp();
      signal.addEventListener("abort", onAbort, { once: true });
      this.unlisten = () => signal.removeEventListener("abort", onAbort);
    }
    for (;;) {
      const event = this.initial.shift() ?? this.queue.shift();
      if (event) return event;
      if (this.failure) throw this.failure;
      if (this.ended || signal.aborted) return null;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  private push(event: WatchEventView): void {
    if (this.ended) return;
    if (this.queue.length >= this.bufferEvents) {
      this.close(
        new SpaceOneError(
          "ERROR_WATCH_TOO_SLOW",
          "resource_exhausted",
          `The client did not read the stream fast enough (${this.bufferEvents} events waiting); ` +
            "watch again from the cursor of the last event it received.",
        ),
      );
      return;
    }
    this.queue.push(event);
    this.lastQueuedAt = Date.now();
    this.wakeUp();
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private view(row: JobRow): JobView {
    if (this.spec.only !== null) return toJobView(row, this.spec.only);
    // Every watcher without a projection shares one view of a row (the hub reads a row once per batch).
    let view = fullViews.get(row);
    if (!view) {
      view = toJobView(row);
      fullViews.set(row, view);
    }
    return view;
  }

  private remember(row: JobRow): void {
    if (!this.spec.filtered) return;
    this.known.delete(row.job_id);
    this.known.set(row.job_id, row.version ?? 0);
    if (this.known.size > MAX_KNOWN) {
      const oldest = this.known.keys().next().value;
      if (oldest !== undefined) this.known.delete(oldest);
    }
  }

  /** Did the job match with the status it had before this change (a status change's timeline entry)? */
  private matchedBefore(row: JobRow, event: JobEventRow): boolean {
    return this.spec.predicate({ ...row, status: event.from_status });
  }
}
