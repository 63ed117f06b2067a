/**
 * What we know about one request while it runs: filled at arrival by `observeCalls` (request id,
 * trace, protocol, timing), then by the Connect interceptor (method, caller, code, an internal error's
 * cause), and read once when the response closes to write the access-log line and the metrics.
 */
import { randomUUID } from "node:crypto";
import { type ContextKey, createContextKey } from "@connectrpc/connect";
import type { Principal } from "../auth/principal.js";
import type { Protocol } from "./metrics.js";

/** The caller as logged: who, never the credential. */
export interface Caller {
  readonly domain_id: string | null;
  readonly workspace_id: string | null;
  readonly role: string | null;
  readonly token_type: string | null;
  /** The token's owner type (`own` claim: USER, APP, ...), when the token carries it. */
  readonly own?: string | null;
  /** The token's audience (`aud` claim), when the token carries it. */
  readonly aud?: string | readonly string[] | null;
}

export interface Call {
  readonly requestId: string;
  /** W3C trace context of the caller, kept as received (undefined when absent or malformed). */
  readonly traceparent: string | undefined;
  readonly traceId: string | undefined;
  readonly parentSpanId: string | undefined;
  /** `undefined` for a request that is not an RPC (health, metrics, docs). */
  protocol: Protocol | undefined;
  /** Fully-qualified service and method name, once the Connect router resolved them. */
  service: string | undefined;
  method: string | undefined;
  /** Connect code name (`ok`, `not_found`, ...) as the interceptor saw it; else derived from HTTP. */
  code: string | undefined;
  /**
   * The authenticated caller, kept as is: the access log's `caller` is built from it (`callerOf`) only
   * for a line that is written, not on every call.
   */
  principal: Principal | null | undefined;
  /** The answer's body length, told by a path that wrote its head without Node's header map. */
  bytesOut: number | undefined;
  /** `performance.now()` at arrival (ms): a double, where `hrtime.bigint()` allocated a BigInt per call. */
  readonly startedAt: number;
}

/** Carries the call from the HTTP layer into Connect handlers (via the adapter's contextValues). */
export const callKey: ContextKey<Call | undefined> = createContextKey<Call | undefined>(undefined, {
  description: "the call being observed",
});

/** Request ids we accept from a client (a proxy's or a caller's); anything else is replaced. */
const requestIdPattern = /^[A-Za-z0-9._:/+=-]{1,128}$/;

/** version-traceid-parentid-flags, lowercase hex; an all-zero trace or span id is invalid. */
const traceparentPattern = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * A generated request id: UUID-shaped (v4 layout, so log tooling that expects UUIDs keeps working), a
 * per-process random prefix (the first four groups of a random UUID, 74 random bits) and a counter in
 * the last group. Unique across processes as random UUIDs are in practice, at a fraction of the cost of
 * drawing one per call (docs/decisions.md "Request ids").
 */
let idPrefix = randomUUID().slice(0, 24);
let idCounter = 0;
const idCounterLimit = 2 ** 48;

export function newRequestId(): string {
  if (idCounter >= idCounterLimit) {
    idPrefix = randomUUID().slice(0, 24);
    idCounter = 0;
  }
  return idPrefix + (idCounter++).toString(16).padStart(12, "0");
}

export function newCall(headers: Readonly<Record<string, string | string[] | undefined>>): Call {
  const given = single(headers["x-request-id"]);
  const requestId = given !== undefined && requestIdPattern.test(given) ? given : newRequestId();
  const traceparent = single(headers.traceparent)?.trim().toLowerCase();
  const trace = traceparent !== undefined ? traceparentPattern.exec(traceparent) : null;
  const valid =
    trace !== null && trace[1] !== "ff" && !/^0+$/.test(trace[2] ?? "") && !/^0+$/.test(trace[3] ?? "");
  return {
    requestId,
    traceparent: valid ? traceparent : undefined,
    traceId: valid ? trace?.[2] : undefined,
    parentSpanId: valid ? trace?.[3] : undefined,
    protocol: undefined,
    service: undefined,
    method: undefined,
    code: undefined,
    principal: undefined,
    bytesOut: undefined,
    startedAt: performance.now(),
  };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** What the log says about the caller: identity and scope, never the credential. */
export function callerOf(principal: Principal | null | undefined): Caller | undefined {
  if (!principal) return undefined;
  // Token owner and audience arrive with newer tokens (own/aud claims): logged when present.
  const own = principal.owner;
  const aud = principal.audience;
  return {
    domain_id: principal.domainId,
    workspace_id: principal.workspaceId,
    role: principal.role,
    token_type: principal.tokenType,
    ...(own !== undefined ? { own } : {}),
    ...(aud !== undefined ? { aud } : {}),
  };
}
