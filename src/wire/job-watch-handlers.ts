/**
 * `watch` and `wait` over Connect, gRPC and gRPC-Web (the SSE path is `sse.ts`): thin handlers over
 * the watch service. Errors of a stream surface while it is iterated, after the error interceptor has
 * returned, so the stream maps them itself (same mapping: `toConnectError`).
 */
import { toJson } from "@bufbuild/protobuf";
import { ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  JobLifecycle,
  type JobWatchEvent,
  WaitJobRequestSchema,
  type WatchJobsRequest,
  WatchJobsRequestSchema,
} from "../../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import type { Principal } from "../auth/principal.js";
import { SpaceOneError } from "../errors.js";
import type { WatchRequest } from "../service/watch/watch-request.js";
import type { WatchService } from "../service/watch/watch-service.js";
import type { WatchEventView } from "../service/watch/watcher.js";
import { toJobInfo } from "./encode/job-info.js";
import { toConnectError } from "./errors.js";
import { principalOf } from "./job-handlers.js";
import type { StreamRoute } from "./stream/handler.js";
import { toWatchEvent, WatchEventEncoder } from "./watch-event-encoding.js";

/** Margin kept before a client's deadline, so `wait` answers with the job rather than a deadline error. */
const DEADLINE_MARGIN_MS = 250;

/** A watch request message as the service reads it (proto JSON, proto field names). */
export function watchRequestJson(
  message: Parameters<typeof toJson<typeof WatchJobsRequestSchema>>[1],
): WatchRequest {
  return toJson(WatchJobsRequestSchema, message, { useProtoFieldName: true }) as WatchRequest;
}

/** The events of one watch, as the service's views, with errors already mapped to ConnectErrors. */
export async function* watchViews(
  service: WatchService,
  principal: Principal,
  request: WatchRequest,
  signal: AbortSignal,
  onUnknown: (error: unknown) => void,
): AsyncGenerator<WatchEventView> {
  try {
    yield* service.watch(principal, request, signal);
  } catch (error) {
    if (!(error instanceof SpaceOneError)) onUnknown(error);
    throw toConnectError(error);
  }
}

/** The stream of events of one watch, as messages (connect-node's path). */
export async function* watchMessages(
  service: WatchService,
  principal: Principal,
  request: WatchRequest,
  signal: AbortSignal,
  onUnknown: (error: unknown) => void,
): AsyncGenerator<JobWatchEvent> {
  for await (const view of watchViews(service, principal, request, signal, onUnknown)) {
    yield toWatchEvent(view);
  }
}

/**
 * `watch` on the stream path (stream/handler.ts): the same events as `jobWatchHandlers().watch`, each
 * encoded once per format for all the streams it reaches (watch-event-encoding.ts).
 */
export function watchStreamRoute(
  service: WatchService,
  onUnknown: (error: unknown, procedure: string) => void,
): StreamRoute<WatchEventView> {
  return {
    method: JobLifecycle.method.watch,
    // The service's generator as it is: the errors are mapped by `error`, as `watchViews` maps them.
    open: (input, ctx) =>
      service.watch(principalOf(ctx), watchRequestJson(input as WatchJobsRequest), ctx.signal),
    error: (thrown) => {
      if (!(thrown instanceof SpaceOneError) && !(thrown instanceof ConnectError)) {
        onUnknown(thrown, WATCH_PROCEDURE);
      }
      return toConnectError(thrown);
    },
    encoder: (serialization) => new WatchEventEncoder(serialization),
  };
}

const WATCH_PROCEDURE = "spaceone.api.identity.v2.JobLifecycle/watch";

export function jobWatchHandlers(
  service: WatchService,
  onUnknown: (error: unknown, procedure: string) => void,
): Pick<ServiceImpl<typeof JobLifecycle>, "watch" | "wait"> {
  return {
    watch(req, ctx) {
      return watchMessages(service, principalOf(ctx), watchRequestJson(req), ctx.signal, (error) =>
        onUnknown(error, WATCH_PROCEDURE),
      );
    },
    async wait(req, ctx) {
      const request = toJson(WaitJobRequestSchema, req, { useProtoFieldName: true }) as {
        job_id?: string;
        timeout_seconds?: number;
      };
      return toJobInfo(await service.wait(principalOf(ctx), request, ctx.signal, clientBudgetMs(ctx)));
    },
  };
}

/** How long the client is still willing to wait, or undefined without a deadline. */
function clientBudgetMs(ctx: HandlerContext): number | undefined {
  const remaining = ctx.timeoutMs();
  return remaining === undefined ? undefined : Math.max(0, remaining - DEADLINE_MARGIN_MS);
}
