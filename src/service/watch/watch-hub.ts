/**
 * The one reader of the change feed in a process. However many streams and waiters are open, the hub
 * reads each committed change once (one `changesAfter` and one `jobsByIds` per batch), then hands it to
 * the watchers of the change's domain and to the waiters of its job; with nobody to hand them to, a
 * commit only moves it to the new head. It reads when this process
 * commits (the store's `onCommit`), when another instance's commit is announced (`wake()`, e.g.
 * PostgreSQL NOTIFY), and every `pollIntervalMs` (other processes on one SQLite file), never once per
 * watcher.
 *
 * A watcher that starts behind the hub (a resumed cursor, a snapshot older than the hub's position)
 * first reads the gap itself, then joins at the hub's position in the same tick, while no hub read is
 * in flight: every change reaches it exactly once, and no job's version goes backwards.
 */
import { errors } from "../../errors.js";
import type { JobEventRow, JobRow } from "../../storage/schema.js";
import type { ChangeCursor, ChangeFeed, JobChange, JobStore } from "../../storage/store.js";
import type { Watcher } from "./watcher.js";

/** What the hub reads: the change feed, and the timeline entries the changes name. */
export type ChangeSource = ChangeFeed & Pick<JobStore, "events">;

export interface WatchHubOptions {
  /** How often the feed is read when nothing announced a commit (other processes' writes). */
  readonly pollIntervalMs: number;
  /** Changes read per query. */
  readonly batchSize: number;
  /** A watcher that was sent nothing for this long gets a HEARTBEAT. */
  readonly heartbeatMs: number;
  /** Called with an error the poll loop hit (it keeps going). */
  readonly onError?: (error: unknown) => void;
}

/** Resolves a waiter with the job after a change (undefined: it was deleted; "closing": shutdown). */
export type Waiter = (row: JobRow | undefined | "closing") => void;

export class WatchHub {
  private position: ChangeCursor | null = null;
  private starting: Promise<void> | null = null;
  private reading: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  /**
   * Watchers by what a change must name to reach them: `job:<id>` for a watch of one job (the console
   * following a job: a change is checked only against that job's watchers), `domain:<id>` for the rest.
   */
  private readonly routes = new Map<string, Set<Watcher>>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private watcherCount = 0;
  private timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly source: ChangeSource,
    private readonly options: WatchHubOptions,
  ) {}

  /** Open streams and waiting `wait` calls in this process (metrics, tests). */
  get counts(): { watchers: number; waiters: number } {
    let waiters = 0;
    for (const set of this.waiters.values()) waiters += set.size;
    return { watchers: this.watcherCount, waiters };
  }

  /** The newest change this process has fanned out (the cursor of "now"). */
  async head(): Promise<ChangeCursor> {
    await this.start();
    return this.position as ChangeCursor;
  }

  /** Another instance committed (PostgreSQL NOTIFY, or a test): read the feed now. */
  wake(): void {
    if (this.position === null || this.stopped) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.readAll().finally(() => {
      this.reading = null;
    });
  }

  /**
   * A commit announced with the feed's new head. With no stream open, no `wait` waiting and no read
   * under way, nobody needs the changes: the hub moves to the head without reading them (a progress
   * report would otherwise cost a feed read per group commit once anyone had watched). A stream that
   * joins later reads its own gap from its cursor (`join`); a waiter registers after `head()`.
   */
  private committed(head: ChangeCursor): void {
    const idle = this.watcherCount === 0 && this.waiters.size === 0 && this.reading === null;
    if (idle && this.position !== null && !this.stopped) {
      if (head > this.position) this.position = head;
      return;
    }
    this.wake();
  }

  /**
   * Start delivering to `watcher` every change after its `after`. Resolves once it is live; a
   * cursor older than the feed keeps is `out_of_range`.
   */
  async join(watcher: Watcher): Promise<void> {
    await this.start();
    await this.checkKept(watcher.after);
    for (;;) {
      if (watcher.closed) return;
      const position = this.position as ChangeCursor;
      if (watcher.after >= position && this.reading === null) {
        // Same tick as the check: the hub's next read starts after this and includes this watcher.
        const key = routeOf(watcher);
        let set = this.routes.get(key);
        if (!set) {
          set = new Set();
          this.routes.set(key, set);
        }
        set.add(watcher);
        this.watcherCount++;
        return;
      }
      if (watcher.after >= position) {
        await this.reading;
        continue;
      }
      const changes = await this.source.changesAfter(watcher.after, this.options.batchSize);
      const { rows, events } = await this.details(changes, true);
      for (const change of changes) {
        watcher.deliver(change, rows.get(change.job_id), eventOf(events, change));
      }
      // Everything up to the hub's position was read, even if no change matched (heartbeat cursor).
      if (changes.length < this.options.batchSize) watcher.advance(position);
    }
  }

  /** Stop delivering to a watcher (it closed). */
  leave(watcher: Watcher): void {
    const key = routeOf(watcher);
    const set = this.routes.get(key);
    if (set?.delete(watcher)) {
      this.watcherCount--;
      if (set.size === 0) this.routes.delete(key);
    }
  }

  /**
   * Call `waiter` after the next committed change of `jobId` (with the job as it is then). Returns a
   * function that cancels the wait. Register before reading the job, so no change can slip between;
   * `head()` must have resolved once (it starts the hub).
   */
  waitFor(jobId: string, waiter: Waiter): () => void {
    let set = this.waiters.get(jobId);
    if (!set) {
      set = new Set();
      this.waiters.set(jobId, set);
    }
    set.add(waiter);
    return () => {
      const current = this.waiters.get(jobId);
      if (current?.delete(waiter) && current.size === 0) this.waiters.delete(jobId);
    };
  }

  /**
   * Stop reading; end every stream cleanly (their clients resume elsewhere from their cursor) and
   * answer every waiter with the job as it is.
   */
  close(): void {
    this.stopped = true;
    const waiters = [...this.waiters.values()];
    this.waiters.clear();
    for (const set of waiters) for (const waiter of set) waiter("closing");
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    this.unsubscribe?.();
    for (const set of [...this.routes.values()]) for (const watcher of [...set]) watcher.close();
  }

  private start(): Promise<void> {
    if (this.stopped) return Promise.reject(errors.unavailable("the server is shutting down"));
    this.starting ??= (async () => {
      this.position = await this.source.changeHead();
      this.unsubscribe = this.source.onCommit((head) => this.committed(head));
      this.timers.push(
        setInterval(() => this.wake(), this.options.pollIntervalMs).unref(),
        setInterval(() => this.heartbeats(), Math.min(1000, this.options.heartbeatMs)).unref(),
      );
    })();
    return this.starting;
  }

  private async checkKept(after: ChangeCursor): Promise<void> {
    const oldest = await this.source.oldestChange();
    const expired = oldest === null ? after < (this.position as ChangeCursor) : after < oldest - 1;
    if (expired) {
      throw errors.outOfRange(
        "cursor",
        "the changes after this cursor are no longer kept; list again and watch from the list's cursor",
      );
    }
  }

  private async readAll(): Promise<void> {
    do {
      this.again = false;
      try {
        while ((await this.step()) === this.options.batchSize) {}
      } catch (error) {
        this.options.onError?.(error);
        return;
      }
    } while (this.again && !this.stopped);
  }

  /** Read one batch after the hub's position and fan it out. Returns how many changes it read. */
  private async step(): Promise<number> {
    const after = this.position as ChangeCursor;
    const changes = await this.source.changesAfter(after, this.options.batchSize);
    if (changes.length === 0) return 0;
    const { rows, events } = await this.details(changes, false);
    // From here to the end, synchronous: watchers joining see either all of this batch or none.
    for (const change of changes) {
      const row = rows.get(change.job_id);
      const event = eventOf(events, change);
      const inDomain = this.routes.get(`domain:${change.domain_id}`);
      if (inDomain) for (const watcher of inDomain) watcher.deliver(change, row, event);
      const onJob = this.routes.get(`job:${change.job_id}`);
      if (onJob) for (const watcher of onJob) watcher.deliver(change, row, event);
      const waiters = this.waiters.get(change.job_id);
      if (waiters) {
        this.waiters.delete(change.job_id);
        for (const waiter of waiters) waiter(change.kind === "deleted" ? undefined : row);
      }
    }
    this.position = (changes[changes.length - 1] as JobChange).id;
    for (const set of this.routes.values()) for (const watcher of set) watcher.advance(this.position);
    return changes.length;
  }

  /** The jobs and timeline entries a batch needs, read once for everyone who needs them. */
  private async details(
    changes: readonly JobChange[],
    forJoin: boolean,
  ): Promise<{ rows: Map<string, JobRow>; events: Map<string, JobEventRow> }> {
    const wanted = new Set<string>();
    const withEvents = new Set<string>();
    for (const change of changes) {
      if (change.kind === "deleted") continue;
      const watched =
        forJoin || this.routes.has(`domain:${change.domain_id}`) || this.routes.has(`job:${change.job_id}`);
      if (watched || this.waiters.has(change.job_id)) wanted.add(change.job_id);
      if (watched && change.event_seq !== null) withEvents.add(change.job_id);
    }
    const rows = new Map<string, JobRow>();
    if (wanted.size > 0) {
      for (const row of await this.source.jobsByIds([...wanted])) rows.set(row.job_id, row);
    }
    const events = new Map<string, JobEventRow>();
    for (const jobId of withEvents) {
      for (const event of (await this.source.events(jobId, [])) ?? []) {
        events.set(`${event.job_id}#${event.seq}`, event);
      }
    }
    return { rows, events };
  }

  private heartbeats(): void {
    const due = Date.now() - this.options.heartbeatMs;
    for (const set of this.routes.values()) {
      for (const watcher of set) if (watcher.lastQueuedAt <= due) watcher.heartbeat();
    }
  }
}

function routeOf(watcher: Watcher): string {
  const { spec } = watcher;
  return spec.jobId === null ? `domain:${spec.scope.domainId}` : `job:${spec.jobId}`;
}

function eventOf(events: ReadonlyMap<string, JobEventRow>, change: JobChange): JobEventRow | undefined {
  return change.event_seq === null ? undefined : events.get(`${change.job_id}#${change.event_seq}`);
}
