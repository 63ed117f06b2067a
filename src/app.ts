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
import { setRegexCacheLimits } from "./query/linear-regex.js";
import { JobLifecycleService } from "./service/job-lifecycle.js";
import { JobReaper } from "./service/job-reaper.js";
import { JobRetention } from "./service/job-retention.js";
import { JobService } from "./service/job-service.js";
import type { JobStore } from "./storage/store.js";
import { createErrorInterceptor } from "./wire/errors.js";
import { createAuthInterceptor, jobHandlers } from "./wire/job-handlers.js";
import { jobLifecycleHandlers } from "./wire/job-lifecycle-handlers.js";
import { createAppHandler, createRestHandler, notFoundHandler, restRoutes } from "./wire/rest.js";
import type { NodeHandler } from "./wire/server.js";
import { createLeanUnaryHandler } from "./wire/unary/handler.js";

export interface AppOptions {
  readonly config: Pick<Config, "maxBodyBytes" | "maxPageSize" | "maxTimeoutMs" | "lifecycle" | "limits"> &
    Partial<Pick<Config, "wireUnary">>;
  /** The storage backend (SQLite's `SqliteStore`, or PostgreSQL's). */
  readonly store: JobStore;
  readonly verifier: TokenVerifier;
  readonly logger: Logger;
  /** Aborted at shutdown so long calls can stop early. */
  readonly shutdownSignal?: AbortSignal;
  /** Injected clock for tests. */
  readonly now?: () => Date;
  /** Told of every call the lean unary path serves (WIRE_UNARY=lean): tests, metrics. */
  readonly onLeanCall?: ((procedure: string) => void) | undefined;
}

export interface App {
  readonly handler: NodeHandler;
  readonly store: JobStore;
  readonly service: JobService;
  readonly lifecycle: JobLifecycleService;
  /** Housekeeping passes; `main.ts` runs them on their intervals, tests call `run()` directly. */
  readonly reaper: JobReaper;
  readonly retention: JobRetention;
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
  const store = options.store;
  const service = new JobService(store, {
    maxPageSize: config.maxPageSize,
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
  const services = [
    { service: Job, impl: jobHandlers(service) },
    { service: JobLifecycle, impl: jobLifecycleHandlers(lifecycle) },
  ];
  // Error mapping outermost, so authentication failures are mapped too.
  const interceptors = [
    createErrorInterceptor((err, procedure) =>
      logger.error({ err, procedure }, "unexpected error in handler"),
    ),
    createAuthInterceptor(options.verifier),
  ];
  const connectHandler = connectNodeAdapter({
    routes: (router) => {
      for (const s of services) router.service(s.service, s.impl);
    },
    interceptors,
    readMaxBytes: config.maxBodyBytes,
    // An answer over this is resource_exhausted (docs/limits.md).
    writeMaxBytes: config.limits.maxResponseBytes,
    maxTimeoutMs: config.maxTimeoutMs,
    jsonOptions,
    shutdownSignal: options.shutdownSignal,
    fallback: notFoundHandler,
  });
  const rest = createRestHandler({
    routes: mergeRoutes(restRoutes(Job), restRoutes(JobLifecycle)),
    connectHandler,
    maxBodyBytes: config.maxBodyBytes,
  });
  const appHandler = createAppHandler({ connectHandler, rest });
  let handler: NodeHandler = appHandler;
  if (config.wireUnary === "lean") {
    const lean = createLeanUnaryHandler({
      routes: services,
      interceptors,
      readMaxBytes: config.maxBodyBytes,
      jsonOptions,
      shutdownSignal: options.shutdownSignal,
      onWriteError: (err) => logger.warn({ err }, "could not write a response"),
      onCall: options.onLeanCall,
    });
    handler = (req, res) => lean(req, res, () => appHandler(req, res));
  }
  return {
    handler,
    store,
    service,
    lifecycle,
    reaper,
    retention,
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
