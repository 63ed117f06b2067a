/**
 * `watch` and `wait` over Connect, gRPC and gRPC-Web (the SSE path is `sse.ts`): thin handlers over
 * the watch service. Errors of a stream surface while it is iterated, after the error interceptor has
 * returned, so the stream maps them itself (same mapping: `toConnectError`).
 */
import { create, toJson } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  type JobLifecycle,
  type JobWatchEvent,
  JobWatchEvent_Type,
  JobWatchEventSchema,
  WaitJobRequestSchema,
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
import { toJobEventInfo } from "./job-lifecycle-handlers.js";

/** Margin kept before a client's deadline, so `wait` answers with the job rather than a deadline error. */
const DEADLINE_MARGIN_MS = 250;

export function toWatchEvent(view: WatchEventView): JobWatchEvent {
  return create(JobWatchEventSchema, {
    type: JobWatchEvent_Type[view.type],
    cursor: view.cursor,
    job: view.job ? toJobInfo(view.job) : undefined,
    event: view.event ? toJobEventInfo(view.event) : undefined,
    matches: view.matches,
  });
}

/** A watch request message as the service reads it (proto JSON, proto field names). */
export function watchRequestJson(
  message: Parameters<typeof toJson<typeof WatchJobsRequestSchema>>[1],
): WatchRequest {
  return toJson(WatchJobsRequestSchema, message, { useProtoFieldName: true }) as WatchRequest;
}

/** The stream of events of one watch, as messages, with errors already mapped to ConnectErrors. */
export async function* watchMessages(
  service: WatchService,
  principal: Principal,
  request: WatchRequest,
  signal: AbortSignal,
  onUnknown: (error: unknown) => void,
): AsyncGenerator<JobWatchEvent> {
  try {
    for await (const view of service.watch(principal, request, signal)) yield toWatchEvent(view);
  } catch (error) {
    if (!(error instanceof SpaceOneError)) onUnknown(error);
    throw toConnectError(error);
  }
}

export function jobWatchHandlers(
  service: WatchService,
  onUnknown: (error: unknown, procedure: string) => void,
): Pick<ServiceImpl<typeof JobLifecycle>, "watch" | "wait"> {
  return {
    watch(req, ctx) {
      return watchMessages(service, principalOf(ctx), watchRequestJson(req), ctx.signal, (error) =>
        onUnknown(error, "spaceone.api.identity.v2.JobLifecycle/watch"),
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
