/**
 * The JobLifecycle service's Connect implementation: thin handlers that turn the request into proto
 * JSON, call the lifecycle service with the authenticated caller, and answer the job as `get` does
 * (JSON straight from the view where the unary path takes it; a progress report's from the stored row). The caller
 * comes from the same auth interceptor as the read API (`job-handlers.ts`).
 */
import { create, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  CancelJobRequestSchema,
  CreateJobRequestSchema,
  FailJobRequestSchema,
  type JobEventInfo,
  JobEventInfoSchema,
  type JobLifecycle,
  ReportJobProgressRequestSchema,
  StartJobRequestSchema,
  SucceedJobRequestSchema,
} from "../../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import { JobInfo_Status } from "../../gen/spaceone/api/identity/v2/job_pb.js";
import type { JobEventView, JobLifecycleService } from "../service/job-lifecycle.js";
import { jobInfoAnswer, jobRowInfoAnswer, principalOf, readOptions } from "./job-handlers.js";
import { requestJson } from "./request-json.js";

/** Proto JSON with proto field names: what the service layer reads. Unset optional fields are absent. */
function json<T, Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): T {
  return requestJson<T, Desc>(schema, message);
}

export function toJobEventInfo(event: JobEventView): JobEventInfo {
  const status = (name: string | undefined) =>
    name === undefined ? JobInfo_Status.NONE : JobInfo_Status[name as keyof typeof JobInfo_Status];
  return create(JobEventInfoSchema, {
    jobId: event.job_id,
    seq: event.seq,
    action: event.action,
    fromStatus: status(event.from_status),
    toStatus: status(event.to_status),
    reason: event.reason,
    actor: event.actor,
    createdAt: event.created_at,
  });
}

// watch and wait are added by the live-jobs lane; until then connect answers them UNIMPLEMENTED.
export function jobLifecycleHandlers(
  service: JobLifecycleService,
): Omit<ServiceImpl<typeof JobLifecycle>, "watch" | "wait"> {
  return {
    async create(req, ctx) {
      return jobInfoAnswer(await service.create(principalOf(ctx), json(CreateJobRequestSchema, req)), ctx);
    },
    async start(req, ctx) {
      return jobInfoAnswer(await service.start(principalOf(ctx), json(StartJobRequestSchema, req)), ctx);
    },
    async report_progress(req, ctx) {
      // The hottest write: its answer's bytes from the stored row, as `get`'s.
      return jobRowInfoAnswer(
        await service.reportProgressRow(principalOf(ctx), json(ReportJobProgressRequestSchema, req)),
        ctx,
      );
    },
    async succeed(req, ctx) {
      return jobInfoAnswer(await service.succeed(principalOf(ctx), json(SucceedJobRequestSchema, req)), ctx);
    },
    async fail(req, ctx) {
      return jobInfoAnswer(await service.fail(principalOf(ctx), json(FailJobRequestSchema, req)), ctx);
    },
    async cancel(req, ctx) {
      return jobInfoAnswer(await service.cancel(principalOf(ctx), json(CancelJobRequestSchema, req)), ctx);
    },
    async list_events(req, ctx) {
      const events = await service.listEvents(principalOf(ctx), { job_id: req.jobId }, readOptions(ctx));
      return { results: events.results.map(toJobEventInfo), totalCount: events.total_count };
    },
  };
}
