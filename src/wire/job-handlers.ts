/**
 * The Job service's Connect implementation: thin handlers that decode, call the service, encode.
 * Authentication happens once per call in an interceptor that puts the Principal in the context.
 *
 * `get` (JSON), `list` and `stat` answer a unary path that takes self-encoded answers (unary/self-encoded.ts) with a
 * shell message and an encoder that writes the answer from the rows as they are read (encode/); any
 * other caller gets the whole message, as before.
 */
import { create, fromJson } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { StructSchema } from "@bufbuild/protobuf/wkt";
import {
  type ContextKey,
  createContextKey,
  type HandlerContext,
  type ServiceImpl,
} from "@connectrpc/connect";
import {
  type Job,
  type JobInfo,
  JobStatQuerySchema,
  type JobsInfo,
  JobsQuerySchema,
} from "../../gen/spaceone/api/identity/v2/job_pb.js";
import type { Principal } from "../auth/principal.js";
import { authenticate, type TokenVerifier } from "../auth/token.js";
import { errors } from "../errors.js";
import { whenReady } from "../maybe-promise.js";
import type { JobRows, JobService, JobsQueryRequest } from "../service/job-service.js";
import type { StatRequest } from "../service/job-stat.js";
import { type JobView, toJobView } from "../service/job-view.js";
import type { JobRow } from "../storage/schema.js";
import { jobAnswer, jobRowAnswer } from "./encode/job-answer.js";
import { toJobInfo } from "./encode/job-info.js";
import { listEncoder, listShell, RESULTS_FIELD, resultData } from "./encode/list-answer.js";
import { statEncoder } from "./encode/stat-answer.js";
import type { CallInterceptor } from "./interceptor.js";
import { requestJson } from "./request-json.js";
import { acceptsSelfEncodedKey, withSelfEncoder } from "./unary/self-encoded.js";

export const principalKey: ContextKey<Principal | null> = createContextKey<Principal | null>(null, {
  description: "authenticated caller",
});

/**
 * Authenticates every call (token header or Authorization: Bearer) before any handler runs. Not an
 * async function: a token already verified is known at once, and the call goes on without a promise
 * and a turn of the microtask queue of its own here.
 */
export function createAuthInterceptor(verifier: TokenVerifier): CallInterceptor {
  return (next) => (req) => {
    const principal = authenticate(verifier, req.header);
    if (principal instanceof Promise) {
      return principal.then((verified) => {
        req.contextValues.set(principalKey, verified);
        return next(req);
      });
    }
    req.contextValues.set(principalKey, principal);
    return next(req);
  };
}

export function principalOf(ctx: HandlerContext): Principal {
  const principal = ctx.values.get(principalKey);
  // Unreachable when the auth interceptor is installed; refuse rather than serve unscoped.
  if (!principal) throw errors.authenticateFailure("empty token provided.");
  return principal;
}

/** JSON answers (Connect JSON, REST, gRPC+json) go through protobuf-es's JSON, which needs messages. */
function wantsJson(ctx: HandlerContext): boolean {
  return (ctx.requestHeader.get("content-type") ?? "").includes("json");
}

/**
 * The list answer as a whole message (callers whose unary path does not take self-encoded answers).
 * Binary: each row is encoded to its JobInfo bytes as it is read and kept as an occurrence of field 1
 * in the message's unknown fields, which `toBinary` writes verbatim after total_count and cursor (the
 * bytes `listEncoder` writes). JSON needs the messages (protobuf-es's JSON ignores unknown fields).
 */
export async function jobsInfo(list: JobRows, json: boolean): Promise<JobsInfo> {
  const answer = listShell(list);
  if (json) {
    for await (const batch of list.rows)
      for (const row of batch) answer.results.push(toJobInfo(list.view(row)));
    return answer;
  }
  const unknown: NonNullable<JobsInfo["$unknown"]> = [];
  for await (const batch of list.rows) {
    for (const row of batch) {
      unknown.push({
        no: RESULTS_FIELD,
        wireType: WireType.LengthDelimited,
        data: resultData(list.view(row)),
      });
    }
  }
  answer.$unknown = unknown;
  return answer;
}

/** The call's deadline (grpc-timeout, connect-timeout-ms or the server maximum) for the store's reads. */
export function readOptions(ctx: HandlerContext): { signal: AbortSignal; deadline?: number } {
  const remaining = ctx.timeoutMs();
  return remaining === undefined
    ? { signal: ctx.signal }
    : { signal: ctx.signal, deadline: Date.now() + remaining };
}

/**
 * One job as the answer: its bytes, JSON or binary, written straight from the view where the unary path
 * takes self-encoded answers (encode/job-answer.ts); the message otherwise.
 */
export function jobInfoAnswer(view: JobView, ctx: HandlerContext): JobInfo {
  if (ctx.values.get(acceptsSelfEncodedKey)) return jobAnswer(view);
  return toJobInfo(view);
}

/** One stored job as the answer: where the unary path takes self-encoded answers, its bytes from the row. */
export function jobRowInfoAnswer(row: JobRow, ctx: HandlerContext): JobInfo {
  if (ctx.values.get(acceptsSelfEncodedKey)) return jobRowAnswer(row);
  return toJobInfo(toJobView(row));
}

export function jobHandlers(service: JobService): ServiceImpl<typeof Job> {
  return {
    // Not async: the answer of a row read at once is given at once (maybe-promise.ts).
    get(req, ctx) {
      const request = { job_id: req.jobId };
      // Self-encoded: the answer's bytes come from the row (no view built to be written again).
      if (ctx.values.get(acceptsSelfEncodedKey))
        return whenReady(service.getRow(principalOf(ctx), request, readOptions(ctx)), jobRowAnswer);
      return service.get(principalOf(ctx), request, readOptions(ctx)).then(toJobInfo);
    },
    async list(req, ctx) {
      const request = requestJson<JobsQueryRequest, typeof JobsQuerySchema>(JobsQuerySchema, req);
      const list = await service.listRows(principalOf(ctx), request, readOptions(ctx));
      if (ctx.values.get(acceptsSelfEncodedKey)) return withSelfEncoder(listShell(list), listEncoder(list));
      return jobsInfo(list, wantsJson(ctx));
    },
    async delete(req, ctx) {
      await service.delete(principalOf(ctx), { job_id: req.jobId });
      return {};
    },
    async stat(req, ctx) {
      const request = requestJson<StatRequest, typeof JobStatQuerySchema>(JobStatQuerySchema, req);
      const result = await service.stat(principalOf(ctx), request, readOptions(ctx));
      if (ctx.values.get(acceptsSelfEncodedKey))
        return withSelfEncoder(create(StructSchema), statEncoder(result));
      return fromJson(StructSchema, result);
    },
  };
}
