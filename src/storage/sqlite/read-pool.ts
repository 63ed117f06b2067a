/**
 * A small pool of worker threads for SQLite's heavy reads (`list` with its count, `stat`), so a
 * long query never stops the event loop where every other call is served, and a call's deadline
 * really ends its query: better-sqlite3 cannot interrupt a running statement, so a worker still
 * busy at its caller's deadline is terminated (its connection and query die with it) and replaced;
 * the caller gets `deadline_exceeded`, every other call goes on. Cheap point lookups (`get`) stay on
 * the main connection, where they are fastest.
 *
 * A page that fits one batch comes whole in the worker's answer (read-protocol.ts). The rows of a
 * bigger list come as the worker reads them (`BatchStream`): the worker stays the list's until its
 * consumer has read the last batch or stopped, and the deadline still ends it (worker terminated,
 * iteration throws `deadline_exceeded`). At most `LIST_AHEAD` batches wait for the consumer.
 *
 * Workers start on demand (a read waiting and no idle worker), up to the pool size, or all at once with
 * `start()`; with `idleMs`, a worker that ran nothing for that long is stopped (all but `idleKeep`), and with
 * it its isolate, module graph and connection (~14 MB each, docs/benchmarks.md "Memory"). A heavy read never falls back
 * to the main thread, where nothing could stop it: while workers (re)start it waits in the queue, within
 * its deadline. Requests wait in one FIFO queue when every worker is busy; a request whose deadline passes
 * while it waits is refused without running. Each worker has its own read-only connection (WAL readers
 * see the last committed state when their read transaction starts, never a half-written one).
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import type { RegexCacheLimits } from "../../query/linear-regex.js";
import type { StatQuery } from "../../query/stat-ast.js";
import { asStorageError, deadlineExceeded, readTooLarge } from "../errors.js";
import {
  batchesOf,
  LIST_BATCH_ROWS,
  type ListRequest,
  type ListResult,
  type ReadOptions,
  type StatementHook,
  type StatOptions,
  type StatResult,
} from "../store.js";
import { BatchStream } from "./batch-stream.js";
import type { ReadReply, ReadRequest, ReadWorkerData } from "./read-protocol.js";
import { compileList, compileStatQuery } from "./sqlite-jobs.js";
import { type CompiledList, type CompiledStat, rowsOf } from "./sqlite-statements.js";
import type { HeavyReader, ReaderUse } from "./sqlite-store.js";

export interface ReadPoolOptions {
  /** The database file (never ":memory:": workers need their own connections to it). */
  readonly file: string;
  /** Worker threads (each with one connection). */
  readonly size: number;
  readonly busyTimeoutMs: number;
  /** SQLite page cache of each worker's connection (MiB; unset: the driver's default). */
  readonly cacheMb?: number;
  /** The deadline of a read that brings none (the server's maximum call time). */
  readonly maxTimeMs: number;
  /** Told the statements each worker ran, when its answer arrives (the store's hook). */
  readonly onStatement?: StatementHook;
  /**
   * Each worker's V8 old generation, MB (`resourceLimits.maxOldGenerationSizeMb`); unset: V8's
   * default. A read that needs more ends its worker, not the process: the caller gets
   * `resource_exhausted` and a fresh worker takes the place.
   */
  readonly heapMb?: number;
  /**
   * Each worker's compiled-pattern cache (REGEX_CACHE_*): the workers run the regex filters, so they
   * compile and keep the patterns, each in its own cache; unset: the defaults.
   */
  readonly regexCache?: RegexCacheLimits;
  /** A worker idle this long (ms) is stopped; the next read that needs one starts it. Unset: never. */
  readonly idleMs?: number;
  /**
   * Workers the idle stop leaves running once started (unset: 0, every idle worker stops). Starting one
   * again costs its isolate and connection on top of whatever the process holds at that moment, which
   * is what set the service's peak (docs/benchmarks.md "Memory: the peak, fourth pass").
   */
  readonly idleKeep?: number;
}

/** Batches a worker may send before its consumer takes one: enough to overlap reading and encoding. */
export const LIST_AHEAD = 2;

type Body = { kind: "list"; list: CompiledList } | { kind: "stat"; stat: CompiledStat };

interface Job {
  readonly id: number;
  readonly body: Body;
  readonly deadline: number;
  readonly signal: AbortSignal | undefined;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  timer?: NodeJS.Timeout;
  slot?: Slot;
  /** A list whose rows are streaming (its promise has resolved; the worker is still its). */
  stream?: BatchStream;
  onAbort?: () => void;
}

interface Slot {
  worker: Worker;
  job: Job | null;
  /** The worker has opened its connection. */
  ready: boolean;
  /** Settles when the worker is ready (or has failed before it was). */
  started: Promise<void>;
  /** Stops the worker when it stays idle (`idleMs`). */
  idleTimer: NodeJS.Timeout | null;
}

/**
 * The worker's entry point: the compiled JavaScript in a build; from source (tests, `tsx`), a small
 * bootstrap that registers tsx's loader in the thread and imports the TypeScript file.
 */
function workerEntry(): { source: URL | string; eval: boolean } {
  const js = new URL("./read-worker.js", import.meta.url);
  if (fs.existsSync(js)) return { source: js, eval: false };
  const ts = new URL("./read-worker.ts", import.meta.url);
  // tsx's ESM register API (index.mjs beside the CommonJS entry `require.resolve` finds).
  const tsxApi = pathToFileURL(
    path.join(path.dirname(createRequire(import.meta.url).resolve("tsx/esm/api")), "index.mjs"),
  );
  return {
    source: `import(${JSON.stringify(tsxApi.href)}).then((m) => m.register()).then(() => import(${JSON.stringify(ts.href)}));`,
    eval: true,
  };
}

export class SqliteReadPool implements HeavyReader {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private readonly entry = workerEntry();
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: ReadPoolOptions) {
    if (options.file === ":memory:") throw new Error("a read pool needs a database file");
  }

  /**
   * Start every worker now and resolve once all have opened their connections, so the first heavy
   * reads already leave the event loop (the server calls it at start; tests that measure call it).
   */
  async start(): Promise<void> {
    if (this.closed) return;
    while (this.slots.length < this.options.size && !this.closed) this.slots.push(this.spawn());
    await Promise.all(this.slots.map((slot) => slot.started));
  }

  // The SQL is compiled here, on the main thread, where the query builder is loaded anyway: the
  // workers only run it (docs/decisions.md "Read workers on demand, without Kysely").
  list(request: ListRequest, options?: ReadOptions): Promise<ListResult> {
    return this.compiled(
      () => ({ kind: "list", list: compileList(request) }),
      options,
    ) as Promise<ListResult>;
  }

  stat(query: StatQuery, statOptions: StatOptions, options?: ReadOptions): Promise<StatResult> {
    return this.compiled(
      () => ({ kind: "stat", stat: compileStatQuery(query, statOptions) }),
      options,
    ) as Promise<StatResult>;
  }

  /** Workers running a read, ready and idle, still starting; reads queued for a worker. */
  use(): ReaderUse {
    let inUse = 0;
    let idle = 0;
    for (const slot of this.slots) {
      if (slot.job !== null) inUse++;
      else if (slot.ready) idle++;
    }
    return { inUse, idle, starting: this.slots.length - inUse - idle, waiting: this.queue.length };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) this.fail(job, new Error("the read pool is closed"));
    for (const slot of this.slots) this.keep(slot);
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  private compiled(compile: () => Body, options: ReadOptions | undefined): Promise<unknown> {
    let body: Body;
    try {
      body = compile();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.submit(body, options);
  }

  private submit(body: Body, options: ReadOptions | undefined): Promise<unknown> {
    if (this.closed)
      return Promise.reject(asStorageError(new TypeError("The database connection is not open")));
    const deadline = Math.min(
      options?.deadline ?? Number.POSITIVE_INFINITY,
      Date.now() + this.options.maxTimeMs,
    );
    if (options?.signal?.aborted || Date.now() >= deadline) return Promise.reject(deadlineExceeded());
    return new Promise((resolve, reject) => {
      const job: Job = { id: this.nextId++, body, deadline, signal: options?.signal, resolve, reject };
      job.timer = setTimeout(() => this.expire(job), Math.max(0, deadline - Date.now()));
      if (job.signal) {
        job.onAbort = () => this.expire(job);
        job.signal.addEventListener("abort", job.onAbort, { once: true });
      }
      this.queue.push(job);
      this.dispatch();
    });
  }

  /** Hand queued jobs to idle workers; start workers (up to `size`) only when there is work waiting. */
  private dispatch(): void {
    const idle = this.slots.filter((slot) => slot.job === null).length;
    for (let i = idle; i < this.queue.length && this.slots.length < Math.max(1, this.options.size); i++) {
      this.slots.push(this.spawn());
    }
    for (const slot of this.slots) {
      if (slot.job !== null || !slot.ready) continue;
      const job = this.queue.shift();
      if (!job) {
        this.retireWhenIdle(slot);
        continue;
      }
      this.keep(slot);
      slot.job = job;
      job.slot = slot;
      const request: ReadRequest =
        job.body.kind === "list"
          ? { id: job.id, ...job.body, batchRows: LIST_BATCH_ROWS, ahead: LIST_AHEAD }
          : { id: job.id, ...job.body };
      slot.worker.postMessage(request);
    }
  }

  /** The deadline passed (or the caller went away): drop it from the queue, or stop its worker. */
  private expire(job: Job): void {
    const queued = this.queue.indexOf(job);
    if (queued >= 0) this.queue.splice(queued, 1);
    const slot = job.slot;
    if (slot && slot.job === job) {
      // The only way to stop a running better-sqlite3 statement: end the thread that runs it.
      void slot.worker.terminate();
      this.replace(slot);
    }
    this.fail(job, deadlineExceeded());
    this.dispatch();
  }

  private fail(job: Job, error: unknown): void {
    this.settle(job);
    if (job.stream) job.stream.fail(error);
    else job.reject(error);
  }

  /** A list's header: resolve the caller; its rows come with it, or follow on the same worker. */
  private listed(job: Job, reply: Extract<ReadReply, { header: unknown }>): void {
    const { kind, total, cursor } = reply.header;
    const whole = "values" in reply ? rowsOf(reply) : reply.rows ? null : [];
    if (kind === "too_many" || whole !== null) {
      this.settle(job);
      job.resolve(
        kind === "too_many" ? { kind, total, cursor } : { kind, total, cursor, rows: batchesOf(whole ?? []) },
      );
      this.dispatch();
      return;
    }
    const slot = job.slot as Slot;
    job.stream = new BatchStream({
      taken: () => {
        if (slot.job === job) slot.worker.postMessage({ id: job.id, kind: "more" } satisfies ReadRequest);
      },
      cancel: () => {
        if (slot.job !== job) return;
        // The worker handles messages in order: it ends this read before it takes the next job.
        slot.worker.postMessage({ id: job.id, kind: "cancel" } satisfies ReadRequest);
        this.settle(job);
        this.dispatch();
      },
    });
    job.resolve({ kind, total, cursor, rows: job.stream } satisfies ListResult);
  }

  private settle(job: Job): void {
    clearTimeout(job.timer);
    if (job.signal && job.onAbort) job.signal.removeEventListener("abort", job.onAbort);
    if (job.slot && job.slot.job === job) job.slot.job = null;
  }

  /** Arm the idle timer of a ready worker that has nothing to do (once; `keep` disarms it). */
  private retireWhenIdle(slot: Slot): void {
    const idleMs = this.options.idleMs;
    if (idleMs === undefined || idleMs <= 0 || slot.idleTimer !== null || this.closed) return;
    slot.idleTimer = setTimeout(() => {
      slot.idleTimer = null;
      if (slot.job !== null || this.closed || this.slots.length <= (this.options.idleKeep ?? 0)) return;
      const index = this.slots.indexOf(slot);
      if (index >= 0) this.slots.splice(index, 1);
      void slot.worker.terminate();
    }, idleMs);
    // An idle pool must not keep the process alive.
    slot.idleTimer.unref();
  }

  private keep(slot: Slot): void {
    if (slot.idleTimer === null) return;
    clearTimeout(slot.idleTimer);
    slot.idleTimer = null;
  }

  private replace(slot: Slot): void {
    this.keep(slot);
    const index = this.slots.indexOf(slot);
    if (index >= 0 && !this.closed) this.slots[index] = this.spawn();
  }

  private spawn(): Slot {
    const data: ReadWorkerData = {
      file: this.options.file,
      busyTimeoutMs: this.options.busyTimeoutMs,
      cacheMb: this.options.cacheMb,
      reportStatements: this.options.onStatement !== undefined,
      regexCache: this.options.regexCache,
    };
    const heapMb = this.options.heapMb;
    const worker = new Worker(this.entry.source, {
      workerData: data,
      eval: this.entry.eval,
      resourceLimits: heapMb === undefined ? undefined : { maxOldGenerationSizeMb: heapMb },
    });
    // An idle worker must not keep the process alive.
    worker.unref();
    let started = (): void => undefined;
    const slot: Slot = {
      worker,
      job: null,
      ready: false,
      idleTimer: null,
      started: new Promise<void>((resolve) => {
        started = resolve;
      }),
    };
    worker.once("exit", () => started());
    worker.on("message", (reply: ReadReply) => {
      if ("ready" in reply) {
        slot.ready = true;
        started();
        this.dispatch();
        return;
      }
      if ("statements" in reply && reply.statements !== undefined) {
        for (const ran of reply.statements) this.options.onStatement?.(ran.sql, ran.parameters);
      }
      const job = slot.job;
      if (!job || job.id !== reply.id) return;
      if ("batch" in reply) {
        job.stream?.push(reply.batch);
        return;
      }
      if ("end" in reply) {
        this.settle(job);
        job.stream?.finish();
      } else if (!reply.ok) {
        this.fail(job, asStorageError(driverError(reply.error)));
      } else if ("header" in reply) {
        this.listed(job, reply);
        return;
      } else {
        this.settle(job);
        job.resolve(reply.result);
      }
      this.dispatch();
    });
    worker.on("error", (error: Error & { code?: string }) => {
      // A crashed worker (not one we terminated): its job fails, a fresh worker takes its place.
      // Out of heap is the query's size, not a fault: the caller hears so.
      const job = slot.job;
      if (job)
        this.fail(
          job,
          error.code === "ERR_WORKER_OUT_OF_MEMORY" && heapMb !== undefined ? readTooLarge(heapMb) : error,
        );
      this.replace(slot);
      this.dispatch();
    });
    return slot;
  }
}

/** A worker's error as the driver error it was, so the store's classification applies. */
function driverError(error: { message: string; sqliteCode: string | null }): Error {
  return error.sqliteCode === null
    ? new Error(error.message)
    : new Database.SqliteError(error.message, error.sqliteCode);
}
