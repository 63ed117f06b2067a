/**
 * Composition of the service: storage -> job service -> Connect adapter + REST aliases -> one
 * request handler. `main.ts` serves it; tests serve it on an ephemeral port.
 */
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Job } from "../gen/spaceone/api/identity/v2/job_pb.js";
import type { TokenVerifier } from "./auth/token.js";
import type { Config } from "./config.js";
import type { Logger } from "./log.js";
import { JobService } from "./service/job-service.js";
import type { Db } from "./storage/database.js";
import { JobStore } from "./storage/job-store.js";
import { createErrorInterceptor } from "./wire/errors.js";
import { createAuthInterceptor, jobHandlers } from "./wire/job-handlers.js";
import { createAppHandler, createRestHandler, notFoundHandler, restRoutes } from "./wire/rest.js";
import type { NodeHandler } from "./wire/server.js";

export interface AppOptions {
  readonly config: Pick<Config, "maxBodyBytes" | "maxPageSize" | "maxTimeoutMs">;
  readonly db: Db;
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
}

export function createApp(options: AppOptions): App {
  const { config, logger } = options;
  const store = new JobStore(options.db);
  const service = new JobService(store, { maxPageSize: config.maxPageSize, now: options.now });
  const connectHandler = connectNodeAdapter({
    routes: (router) => router.service(Job, jobHandlers(service)),
    // Error mapping outermost, so authentication failures are mapped too.
    interceptors: [
      createErrorInterceptor((err, procedure) => logger.error({ err, procedure }, "unexpected error in handler")),
      createAuthInterceptor(options.verifier),
    ],
    readMaxBytes: config.maxBodyBytes,
    maxTimeoutMs: config.maxTimeoutMs,
    // Unknown request fields are an error (a misspelt filter must not silently match everything).
    jsonOptions: { useProtoFieldName: true, ignoreUnknownFields: false },
    shutdownSignal: options.shutdownSignal,
    fallback: notFoundHandler,
  });
  const rest = createRestHandler({ routes: restRoutes(Job), connectHandler, maxBodyBytes: config.maxBodyBytes });
  return { handler: createAppHandler({ connectHandler, rest }), store, service };
}
