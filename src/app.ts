/**
 * Composition of the service: storage -> job service and job lifecycle -> Connect adapter + REST
 * aliases -> one request handler. `main.ts` serves it and runs its housekeeping (reaper, retention);
 * tests serve it on an ephemeral port.
 */
import { Code } from "@connectrpc/connect";
import { JobLifecycle } from "../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import { Job } from "../gen/spaceone/api/identity/v2/job_pb.js";
import type { TokenVerifier } from "./auth/token.js";
import type { Config } from "./config.js";
import type { Logger } from "./log.js";
import { callKey } from "./observability/call.js";
import { createCallInterceptor } from "./observability/call-interceptor.js";
import { codeLabel } from "./observability/codes.js";
import { registerJobCounts } from "./observability/job-counts.js";
import { createMetrics, type Metrics } from "./observability/metrics.js";
import { metricsMiddleware } from "./observability/metrics-endpoint.js";
import { createCallObserver } from "./observability/observe-calls.js";
import { ObservedStore } from "./observability/observed-store.js";
import { storeJobCounts } from "./observability/store-job-counts.js";
import { setRegexCacheLimits } from "./query/linear-regex.js";
import { JobLifecycleService } from "./service/job-lifecycle.js";
import { JobReaper } from "./service/job-reaper.js";
import { JobRetention } from "./service/job-retention.js";
import { JobService } from "./service/job-service.js";
import { WatchHub } from "./service/watch/watch-hub.js";
import { WatchService } from "./service/watch/watch-service.js";
import type { JobStore } from "./storage/store.js";
import { apiDocsMiddleware } from "./wire/api-docs.js";
import { corsHeadersOfActualRequest, withCors } from "./wire/cors.js";
import { createErrorInterceptor } from "./wire/errors.js";
import { HealthState } from "./wire/health/health-state.js";
import { withReadyz } from "./wire/health/readyz.js";
import { Health, healthService } from "./wire/health/service.js";
import { connectInterceptor } from "./wire/interceptor.js";
import { createAuthInterceptor, jobHandlers } from "./wire/job-handlers.js";
import { jobLifecycleHandlers } from "./wire/job-lifecycle-handlers.js";
import { jobWatchHandlers, watchStreamRoute } from "./wire/job-watch-handlers.js";
import { registerReflection } from "./wire/reflection/index.js";
import { procedurePath, restRoutes } from "./wire/rest.js";
import type { NodeHandler } from "./wire/server.js";
import { createSseWatchHandler, SSE_WATCH_PATHS } from "./wire/sse.js";
import { createUiHandler, defaultUiDir } from "./wire/static-ui.js";
import { pathOf } from "./wire/unary/handler.js";
import { createWireHandler } from "./wire/wire-handler.js";

export interface AppOptions {
  readonly config: Pick<
    Config,
    | "maxBodyBytes"
    | "maxPageSize"
    | "maxUnpagedRows"
    | "maxTimeoutMs"
    | "lifecycle"
    | "limits"
    | "corsAllowedOrigins"
    | "watch"
  > &
    Partial<Pick<Config, "wireUnary" | "wireStream" | "metrics">>;
  /** The storage backend (SQLite's `SqliteStore`, or PostgreSQL's). */
  readonly store: JobStore;
  readonly verifier: TokenVerifier;
  readonly logger: Logger;
  /** Aborted at shutdown so long calls can stop early. */
  readonly shutdownSignal?: AbortSignal;
  /** Injected clock for tests. */
  readonly now?: () => Date;
  /** The built web page served at /ui/ (default: the package's `dist/ui`). */
  readonly uiDir?: string;
  /** Told of every call the unary path serves: tests. */
  readonly onLeanCall?: ((procedure: string) => void) | undefined;
  /** How often a health Watch re-checks the database (ms; default 1000). */
  readonly healthPollMs?: number;
}

export interface App {
  readonly handler: NodeHandler;
  readonly store: JobStore;
  readonly service: JobService;
  readonly lifecycle: JobLifecycleService;
  /** Housekeeping passes; `main.ts` runs them on their intervals, tests call `run()` directly. */
  readonly reaper: JobReaper;
  readonly retention: JobRetention;
  /** Readiness for gRPC health and /readyz; `main.ts` calls `startDrain()` on SIGTERM. */
  readonly health: HealthState;
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
  setRegexCacheLimits(config.limits.regexCache);
  const metrics = createMetrics();
  // Every store call timed, and every committed transition counted, whatever the backend.
  const store = new ObservedStore(options.store, metrics);
  registerJobCounts({
    registry: metrics.registry,
    count: storeJobCounts(store, options.now),
    maxAgeMs: config.metrics?.jobCountsMaxAgeMs ?? 30_000,
  });
  const service = new JobService(store, {
    maxPageSize: config.maxPageSize,
    maxUnpagedRows: config.maxUnpagedRows,
    queryLimits: config.limits.query,
    now: options.now,
  });
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
  const services = [
    { service: Job, impl: jobHandlers(service) },
    {
      service: JobLifecycle,
      impl: { ...jobLifecycleHandlers(lifecycle), ...jobWatchHandlers(watch, onUnknown) },
    },
  ];
  let served: readonly string[] = [];
  const backend = options.store;
  const health = new HealthState(
    // A store that can say more (schema not migrated) says it; any store can show it is reachable.
    () => (backend.ping ? backend.ping() : backend.changeHead().then(() => null)),
    () => served,
    (err) => logger.warn({ err }, "readiness probe failed"),
  );
  // The Connect calls' internal errors are logged once, with their request id, by the call interceptor.
  const errorInterceptor = createErrorInterceptor();
  // Outermost the error mapping, so authentication failures are mapped too; inside it the call
  // observer, which sees the raw error (and logs an internal one's cause once) and the caller.
  const interceptors = [
    errorInterceptor,
    createCallInterceptor(logger, metrics.watch),
    createAuthInterceptor(options.verifier),
  ];
  const restPathRoutes = mergeRoutes(restRoutes(Job), restRoutes(JobLifecycle));
  const watchProcedure = procedurePath(JobLifecycle.method.watch);
  const calls = createCallObserver({
    metrics,
    logger,
    restPaths: new Map([
      ...[...restPathRoutes].map(([path, method]) => [path, procedurePath(method)] as const),
      ...SSE_WATCH_PATHS.map((path) => [path, watchProcedure] as const),
    ]),
    streamPaths: new Set(SSE_WATCH_PATHS),
    procedures: new Set([Job, JobLifecycle].flatMap((s) => s.methods.map(procedurePath))),
  });
  // POST /identity/v2/job/watch answers Server-Sent Events; every other REST path is unary.
  const sse = createSseWatchHandler({
    service: watch,
    verifier: options.verifier,
    maxBodyBytes: config.maxBodyBytes,
    shutdownSignal: options.shutdownSignal,
    onUnknown: (err, req) =>
      logger.error(
        { err, request_id: calls.callOf(req)?.requestId, procedure: "REST watch" },
        "unexpected error in handler",
      ),
    // The access-log line of an SSE watch names its caller and code as a Connect call's does.
    onCaller: (req, principal) => {
      const call = calls.callOf(req);
      if (call) call.principal = principal;
    },
    onError: (req, error) => {
      const call = calls.callOf(req);
      if (call) call.code = codeLabel(error.code);
    },
  });
  const wire = createWireHandler({
    services,
    moreRoutes: (router) => {
      // Probes and schema discovery carry no token (Kubernetes, python-core's stub building).
      const unauthenticated = { interceptors: [connectInterceptor(errorInterceptor)] };
      router.service(Health, healthService(health, options.healthPollMs ?? 1000), unauthenticated);
      registerReflection(router, unauthenticated);
    },
    interceptors,
    contextValues: calls.contextValues,
    readMaxBytes: config.maxBodyBytes,
    // An answer over this is resource_exhausted (docs/limits.md).
    writeMaxBytes: config.limits.maxResponseBytes,
    maxTimeoutMs: config.maxTimeoutMs,
    jsonOptions,
    shutdownSignal: options.shutdownSignal,
    restRoutes: restPathRoutes,
    restStreams: sse,
    unary: config.wireUnary,
    streamRoutes: [watchStreamRoute(watch, onUnknown)],
    stream: config.wireStream,
    onLeanCall: options.onLeanCall,
    onWriteError: (err) => logger.warn({ err }, "could not write a response"),
    // The code the client got, also when no interceptor saw it (undecodable request, answer refused
    // or failing while encoded); a fault of the encoding is logged here, once, like the interceptor's.
    onErrorAnswer: (values, error, outcome) => {
      const call = values.get(callKey);
      if (call) call.code = codeLabel(error.code);
      if (outcome.encoding && error.code === Code.Internal) {
        logger.error({ err: outcome.error, request_id: call?.requestId }, "internal error");
      }
    },
    onHandlerError: (err, handler) => onUnknown(err, `${handler.service.typeName}/${handler.method.name}`),
    onRawHead: (values, bodyBytes) => {
      const call = values.get(callKey);
      if (call) call.bytesOut = bodyBytes;
    },
  });
  served = wire.served;
  const handler = wire.handler;
  const ops = [
    ...(config.metrics?.ownPort !== undefined ? [] : [metricsMiddleware(metrics)]),
    apiDocsMiddleware(),
  ];
  const guarded = withCors(config.corsAllowedOrigins, withReadyz(health, handler));
  const operated: NodeHandler = (req, res) => {
    const step = (i: number): void => {
      const middleware = ops[i];
      if (middleware) middleware(req, res, () => step(i + 1));
      else guarded(req, res);
    };
    step(0);
  };
  const ui = createUiHandler({ dir: options.uiDir ?? defaultUiDir() }, calls.wrap(operated));
  // A POST on a served unary procedure path is none of the UI's, the metrics', the docs' or readyz's
  // (their paths are fixed and none is a procedure path), and CORS adds the same headers to every such
  // call: it goes straight to the wire handler, which writes those headers, after the request id, first
  // in the answer's head.
  const cors = corsHeadersOfActualRequest(config.corsAllowedOrigins);
  const unaryFirst = wire.unaryFirst;
  const unaryPaths = new Set(
    [Job, JobLifecycle].flatMap((s) => s.methods.filter((m) => m.methodKind === "unary").map(procedurePath)),
  );
  const call =
    cors === null || unaryFirst === undefined
      ? undefined
      : calls.wrapLeading((req, res, leading) => {
          for (const field of cors) leading.push(field);
          unaryFirst(req, res, leading);
        });
  return {
    // The web page, then every request observed (request id, access log, metrics), then the operator's
    // endpoints; a unary call observed and straight to the wire handler.
    handler:
      call === undefined
        ? ui
        : (req, res, onClose) => {
            if (req.method === "POST" && unaryPaths.has(pathOf(req.url ?? "")))
              return call(req, res, onClose);
            ui(req, res);
          },
    store,
    service,
    lifecycle,
    reaper,
    retention,
    health,
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
