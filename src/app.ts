/**
 * Composition of the service: storage -> job service and job lifecycle -> Connect adapter + REST
 * aliases -> one request handler. `main.ts` serves it and runs its housekeeping (reaper, retention);
 * tests serve it on an ephemeral port.
 */
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { JobLifecycle } from "../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import { Job } from "../gen/spaceone/api/identity/v2/job_pb.js";
import type { TokenVerifier } from "./auth/token.js";
import type { Config } from "./config.js";
import type { Logger } from "./log.js";
import { createCallInterceptor } from "./observability/call-interceptor.js";
import { registerJobCounts } from "./observability/job-counts.js";
import { createMetrics, type Metrics } from "./observability/metrics.js";
import { metricsMiddleware } from "./observability/metrics-endpoint.js";
import { createCallObserver } from "./observability/observe-calls.js";
import { ObservedStore } from "./observability/observed-store.js";
import { storeJobCounts } from "./observability/store-job-counts.js";
import { JobLifecycleService } from "./service/job-lifecycle.js";
import { JobReaper } from "./service/job-reaper.js";
import { JobRetention } from "./service/job-retention.js";
import { JobService } from "./service/job-service.js";
import { WatchHub } from "./service/watch/watch-hub.js";
import { WatchService } from "./service/watch/watch-service.js";
import type { JobStore } from "./storage/store.js";
import { apiDocsMiddleware } from "./wire/api-docs.js";
import { createErrorInterceptor } from "./wire/errors.js";
import { createAuthInterceptor, jobHandlers } from "./wire/job-handlers.js";
import { jobLifecycleHandlers } from "./wire/job-lifecycle-handlers.js";
import { jobWatchHandlers } from "./wire/job-watch-handlers.js";
import {
  createAppHandler,
  createRestHandler,
  notFoundHandler,
  procedurePath,
  restRoutes,
} from "./wire/rest.js";
import type { NodeHandler } from "./wire/server.js";
import { createSseWatchHandler, SSE_WATCH_PATHS } from "./wire/sse.js";

export interface AppOptions {
  readonly config: Pick<Config, "maxBodyBytes" | "maxPageSize" | "maxTimeoutMs" | "lifecycle" | "watch"> &
    Partial<Pick<Config, "metrics">>;
  /** The storage backend (SQLite's `SqliteStore`, or PostgreSQL's). */
  readonly store: JobStore;
  readonly verifier: TokenVerifier;
  readonly logger: Logger;
  /** Aborted at shutdown so long calls can stop early. */
  readonly shutdownSignal?: AbortSignal;
  /** Injected clock for tests. */
  readonly now?: () => Date;
}

export interface App {
  readonly handler: NodeHandler;
  readonly store: JobStore;
  readonly service: JobService;
  readonly lifecycle: JobLifecycleService;
  /** Housekeeping passes; `main.ts` runs them on their intervals, tests call `run()` directly. */
  readonly reaper: JobReaper;
  readonly retention: JobRetention;
  /** watch and wait; `main.ts` closes its hub at shutdown so streams end at once. */
  readonly watch: WatchService;
  /** Prometheus metrics; `/metrics` serves them unless they have a port of their own. */
  readonly metrics: Metrics;
}

/**
 * JSON (de)serialization of every Connect call. connect-node reads `textDecoder` from these options
 * (protocol/serialization.ts) though its adapter type does not list it, hence the variable.
 */
const jsonOptions = {
  useProtoFieldName: true,
  // Unknown request fields are an error (a misspelt filter must not silently match everything).
  ignoreUnknownFields: false,
  // Invalid UTF-8 in a JSON body is invalid_argument, not silently replaced by U+FFFD.
  textDecoder: new TextDecoder("utf-8", { fatal: true }),
};

export function createApp(options: AppOptions): App {
  const { config, logger } = options;
  const metrics = createMetrics();
  // Every store call timed, and every committed transition counted, whatever the backend.
  const store = new ObservedStore(options.store, metrics);
  registerJobCounts({
    registry: metrics.registry,
    count: storeJobCounts(store, options.now),
    maxAgeMs: config.metrics?.jobCountsMaxAgeMs ?? 30_000,
  });
  const service = new JobService(store, { maxPageSize: config.maxPageSize, now: options.now });
  const timings = config.lifecycle;
  const lifecycle = new JobLifecycleService(store, {
    duplicateWindowMs: timings.duplicateWindowMs,
    now: options.now,
  });
  const reaper = new JobReaper(store, {
    heartbeatTimeoutMs: timings.heartbeatTimeoutMs,
    pendingTimeoutMs: timings.pendingTimeoutMs,
    cancelGraceMs: timings.cancelGraceMs,
    batchSize: timings.housekeepingBatchSize,
    now: options.now,
  });
  const retention = new JobRetention(store, {
    retentionMs: timings.retentionMs,
    tombstoneMs: timings.tombstoneMs,
    changeFeedMs: timings.changeFeedMs,
    batchSize: timings.housekeepingBatchSize,
    now: options.now,
  });
  // For the SSE path and watch streams, which end outside the Connect interceptors; the Connect calls'
  // internal errors are logged once, with their request id, by the call interceptor.
  const onUnknown = (err: unknown, procedure: string) =>
    logger.error({ err, procedure }, "unexpected error in handler");
  const hub = new WatchHub(store, {
    pollIntervalMs: config.watch.pollIntervalMs,
    batchSize: config.watch.batchSize,
    heartbeatMs: config.watch.heartbeatMs,
    onError: (err) => logger.warn({ err }, "reading the change feed failed; retrying"),
  });
  const watch = new WatchService(store, hub, {
    ...config.watch,
    maxPageSize: config.maxPageSize,
    now: options.now,
  });
  options.shutdownSignal?.addEventListener("abort", () => hub.close(), { once: true });
  const routes = mergeRoutes(restRoutes(Job), restRoutes(JobLifecycle));
  const watchProcedure = procedurePath(JobLifecycle.method.watch);
  const calls = createCallObserver({
    metrics,
    logger,
    restPaths: new Map([
      ...[...routes].map(([path, method]) => [path, procedurePath(method)] as const),
      ...SSE_WATCH_PATHS.map((path) => [path, watchProcedure] as const),
    ]),
    streamPaths: new Set(SSE_WATCH_PATHS),
    procedures: new Set([Job, JobLifecycle].flatMap((s) => s.methods.map(procedurePath))),
  });
  const connectHandler = connectNodeAdapter({
    routes: (router) => {
      router.service(Job, jobHandlers(service));
      router.service(JobLifecycle, {
        ...jobLifecycleHandlers(lifecycle),
        ...jobWatchHandlers(watch, onUnknown),
      });
    },
    // Outermost the error mapping, so authentication failures are mapped too; inside it the call
    // observer, which sees the raw error (and logs an internal one's cause once) and the caller.
    interceptors: [
      createErrorInterceptor(),
      createCallInterceptor(logger, metrics.watch),
      createAuthInterceptor(options.verifier),
    ],
    contextValues: calls.contextValues,
    readMaxBytes: config.maxBodyBytes,
    maxTimeoutMs: config.maxTimeoutMs,
    jsonOptions,
    shutdownSignal: options.shutdownSignal,
    fallback: notFoundHandler,
  });
  const rest = createRestHandler({
    routes,
    connectHandler,
    maxBodyBytes: config.maxBodyBytes,
  });
  // POST /identity/v2/job/watch answers Server-Sent Events; every other REST path is unary.
  const sse = createSseWatchHandler({
    service: watch,
    verifier: options.verifier,
    maxBodyBytes: config.maxBodyBytes,
    shutdownSignal: options.shutdownSignal,
    onUnknown: (err) => onUnknown(err, "REST watch"),
  });
  const appHandler = createAppHandler({
    connectHandler,
    rest: (req, res, next) => sse(req, res, () => rest(req, res, next)),
  });
  const ops = [
    ...(config.metrics?.ownPort !== undefined ? [] : [metricsMiddleware(metrics)]),
    apiDocsMiddleware(),
  ];
  return {
    // Every request observed (request id, access log, metrics); then the operator's endpoints.
    handler: calls.wrap((req, res) => {
      const step = (i: number): void => {
        const middleware = ops[i];
        if (middleware) middleware(req, res, () => step(i + 1));
        else appHandler(req, res);
      };
      step(0);
    }),
    store,
    service,
    lifecycle,
    reaper,
    retention,
    watch,
    metrics,
  };
}

/** One REST route table from several services'; two services claiming one path is a start-up error. */
function mergeRoutes<V>(...tables: ReadonlyMap<string, V>[]): Map<string, V> {
  const merged = new Map<string, V>();
  for (const table of tables) {
    for (const [path, method] of table) {
      if (merged.has(path)) throw new Error(`REST path ${path} is claimed by two services`);
      merged.set(path, method);
    }
  }
  return merged;
}
