/**
 * The Job service's Connect implementation: thin handlers that decode, call the service, encode.
 * Authentication happens once per call in an interceptor that puts the Principal in the context.
 */
import { create, fromJson, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { StructSchema } from "@bufbuild/protobuf/wkt";
import {
  type ContextKey,
  createContextKey,
  type HandlerContext,
  type Interceptor,
  type ServiceImpl,
} from "@connectrpc/connect";
import {
  type Job,
  type JobInfo,
  JobInfoSchema,
  JobStatQuerySchema,
  type JobsInfo,
  JobsInfoSchema,
  JobsQuerySchema,
} from "../../gen/spaceone/api/identity/v2/job_pb.js";
import type { Principal } from "../auth/principal.js";
import { authenticate, type TokenVerifier } from "../auth/token.js";
import { JOB_CATALOGUE, type JobField, VIEW_FIELDS, type ViewField } from "../catalogue/job-fields.js";
import { errors } from "../errors.js";
import type { JobRows, JobService, JobsQueryRequest } from "../service/job-service.js";
import type { StatRequest } from "../service/job-stat.js";
import type { JobView } from "../service/job-view.js";
import { requestJson } from "./request-json.js";

export const principalKey: ContextKey<Principal | null> = createContextKey<Principal | null>(null, {
  description: "authenticated caller",
});

/** Authenticates every call (token header or Authorization: Bearer) before any handler runs. */
export function createAuthInterceptor(verifier: TokenVerifier): Interceptor {
  return (next) => async (req) => {
    req.contextValues.set(principalKey, await authenticate(verifier, req.header));
    return next(req);
  };
}

export function principalOf(ctx: HandlerContext): Principal {
  const principal = ctx.values.get(principalKey);
  // Unreachable when the auth interceptor is installed; refuse rather than serve unscoped.
  if (!principal) throw errors.authenticateFailure("empty token provided.");
  return principal;
}

/**
 * How each view field becomes its `JobInfo` field: the catalogue names the proto field, the generated
 * descriptor gives its message key and, for enums, the numbers of the value names. Built once; a
 * catalogue field the proto lacks fails here, at start-up (and in test/job-fields.test.ts).
 */
const JOB_INFO_FIELDS: readonly {
  readonly view: ViewField;
  readonly key: string;
  readonly enumNumbers: ReadonlyMap<string, number> | null;
}[] = VIEW_FIELDS.map((view) => {
  const proto = (JOB_CATALOGUE[view] as JobField).proto;
  const field = JobInfoSchema.fields.find((f) => f.name === proto);
  if (!field) throw new Error(`JobInfo has no field ${String(proto)} for the view field ${view}`);
  const enumNumbers =
    field.fieldKind === "enum" ? new Map(field.enum.values.map((v) => [v.name, v.number])) : null;
  return { view, key: field.localName, enumNumbers };
});

/** View -> JobInfo; an absent field stays unset (an enum's zero value, NONE, when absent). */
export function toJobInfo(view: JobView): JobInfo {
  const init: Record<string, unknown> = {};
  for (const { view: name, key, enumNumbers } of JOB_INFO_FIELDS) {
    const value = view[name];
    if (value === undefined) continue;
    init[key] = enumNumbers === null ? value : enumNumbers.get(value as string);
  }
  return create(JobInfoSchema, init as MessageInitShape<typeof JobInfoSchema>);
}

/** `JobsInfo.results`' field number: each row's JobInfo is written as one occurrence of it. */
const RESULTS_FIELD = JobsInfoSchema.field.results.number;

/** JSON answers (Connect JSON, REST, gRPC+json) go through protobuf-es's JSON, which needs messages. */
function wantsJson(ctx: HandlerContext): boolean {
  return (ctx.requestHeader.get("content-type") ?? "").includes("json");
}

/**
 * The list answer. For binary protocols each row is encoded to its JobInfo bytes as it is visited and
 * kept as an occurrence of field 1 in the message's unknown fields, which `toBinary` writes verbatim:
 * the same bytes as a `results` array (repeated fields may come in any order on the wire), without
 * holding a message and a view per row beside the rows. JSON needs the messages (protobuf-es's JSON
 * ignores unknown fields), built one per row straight from the row, without an array of views.
 */
export function jobsInfo(list: JobRows, json: boolean): JobsInfo {
  if (json) {
    return create(JobsInfoSchema, {
      results: list.rows.map((row) => toJobInfo(list.view(row))),
      totalCount: list.total_count,
      cursor: list.cursor,
    });
  }
  const answer = create(JobsInfoSchema, { totalCount: list.total_count, cursor: list.cursor });
  answer.$unknown = list.rows.map((row) => ({
    no: RESULTS_FIELD,
    wireType: WireType.LengthDelimited,
    data: new BinaryWriter().bytes(toBinary(JobInfoSchema, toJobInfo(list.view(row)))).finish(),
  }));
  return answer;
}

/** The call's deadline (grpc-timeout, connect-timeout-ms or the server maximum) for the store's reads. */
export function readOptions(ctx: HandlerContext): { signal: AbortSignal; deadline?: number } {
  const remaining = ctx.timeoutMs();
  return remaining === undefined
    ? { signal: ctx.signal }
    : { signal: ctx.signal, deadline: Date.now() + remaining };
}

export function jobHandlers(service: JobService): ServiceImpl<typeof Job> {
  return {
    async get(req, ctx) {
      return toJobInfo(await service.get(principalOf(ctx), { job_id: req.jobId }, readOptions(ctx)));
    },
    async list(req, ctx) {
      const request = requestJson<JobsQueryRequest, typeof JobsQuerySchema>(JobsQuerySchema, req);
      return jobsInfo(await service.listRows(principalOf(ctx), request, readOptions(ctx)), wantsJson(ctx));
    },
    async delete(req, ctx) {
      await service.delete(principalOf(ctx), { job_id: req.jobId });
      return {};
    },
    async stat(req, ctx) {
      const request = requestJson<StatRequest, typeof JobStatQuerySchema>(JobStatQuerySchema, req);
      return fromJson(StructSchema, await service.stat(principalOf(ctx), request, readOptions(ctx)));
    },
  };
}
