/**
 * The service's own APIs, through the generated clients and Connect's web transport (same origin, so
 * no CORS). The token travels as `Authorization: Bearer`, read from the session on every call.
 */
import { fromJson, type JsonObject, toJson } from "@bufbuild/protobuf";
import { StructSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { JobLifecycle } from "../../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import { Job, JobStatQuerySchema, JobsQuerySchema } from "../../gen/spaceone/api/identity/v2/job_pb.js";
import { session } from "./session.js";

const auth: Interceptor = (next) => (req) => {
  const token = session.token();
  if (token && !req.header.has("authorization")) req.header.set("authorization", `Bearer ${token}`);
  return next(req);
};

const transport = createConnectTransport({
  baseUrl: location.origin,
  useBinaryFormat: true,
  interceptors: [auth],
});

export const jobs = createClient(Job, transport);
export const lifecycle = createClient(JobLifecycle, transport);

/** `Job.list` from a proto-JSON request (history-query.ts builds them). */
export function listJobs(request: JsonObject, signal?: AbortSignal) {
  return jobs.list(fromJson(JobsQuerySchema, request), { signal });
}

/** `Job.stat` from a proto-JSON request; the answer as plain JSON (`{results, total_count?}`). */
export async function statJobs(request: JsonObject, signal?: AbortSignal): Promise<unknown> {
  const answer = await jobs.stat(fromJson(JobStatQuerySchema, request), { signal });
  return toJson(StructSchema, answer);
}

/** Ask the service whether it accepts a token (one list of one id, answered from an index). */
export async function verifyToken(token: string): Promise<void> {
  await jobs.list(fromJson(JobsQuerySchema, { query: { page: { limit: 1 }, only: ["job_id"] } }), {
    headers: { authorization: `Bearer ${token}` },
  });
}

/** A message for the user: the service's own words, and what to do for the common cases. */
export function describeError(error: unknown): string {
  const err = ConnectError.from(error);
  switch (err.code) {
    case Code.Unauthenticated:
      return `The service did not accept the token: ${err.rawMessage}`;
    case Code.PermissionDenied:
      return `Your token may not do this: ${err.rawMessage}`;
    case Code.NotFound:
      return `Not found: ${err.rawMessage}`;
    case Code.Unavailable:
      return `The service cannot be reached (${err.rawMessage}). Is it running?`;
    default:
      return err.rawMessage || String(err);
  }
}

export function isUnauthenticated(error: unknown): boolean {
  return ConnectError.from(error).code === Code.Unauthenticated;
}

export function isAbort(error: unknown): boolean {
  return ConnectError.from(error).code === Code.Canceled;
}

export { Code, ConnectError };
