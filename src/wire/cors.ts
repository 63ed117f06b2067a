/**
 * CORS for browsers on other origins (the SpaceONE console, any web page): the `cors` middleware with
 * connect's own header lists, so every protocol a browser can speak here (Connect, gRPC-Web, REST)
 * passes the preflight and can read the status it gets back.
 *
 * Origins default to `*`, as upstream: credentials are bearer tokens in headers, never cookies, so a
 * page on another origin can call only with a token it already holds. Requests without an `Origin`
 * (curl, gRPC clients, other services) are untouched: the middleware only adds headers.
 */
import { cors as connectCors } from "@connectrpc/connect";
import corsMiddleware from "cors";
import { errorCodeHeader } from "./errors.js";
import type { NodeHandler, NodeRequest, NodeResponse } from "./server.js";

/** Headers our callers send besides the protocols' own. */
const appRequestHeaders = [
  "authorization",
  // SpaceONE's token header, and the scope headers of system tokens (both spellings).
  "token",
  "x_domain_id",
  "x_workspace_id",
  "x-domain-id",
  "x-workspace-id",
  "x-request-id",
  "traceparent",
];

/** Headers a page may read: the protocols' status headers plus SpaceONE's error details. */
const appExposedHeaders = [
  errorCodeHeader,
  "x-spaceone-error-reason",
  `trailer-${errorCodeHeader}`,
  "trailer-x-spaceone-error-reason",
  "x-request-id",
  "allow",
];

/** How long a browser may cache a preflight answer (s): Chromium caps it at 2 h. */
const preflightMaxAgeSeconds = 7200;

/** Wrap a handler: preflights (`OPTIONS` with `Access-Control-Request-Method`) end here, 204. */
export function withCors(allowedOrigins: readonly string[], next: NodeHandler): NodeHandler {
  const middleware = corsFor(allowedOrigins);
  const fixed = allowedOrigins.includes("*") ? headersOfActualRequest(middleware) : null;
  return (req: NodeRequest, res: NodeResponse) => {
    if (fixed !== null && req.method?.toUpperCase() !== "OPTIONS") {
      for (const [name, value] of fixed) res.setHeader(name, value);
      next(req, res);
      return;
    }
    // The middleware is typed for node:http; it only reads `method`/`headers` and calls
    // `setHeader`/`statusCode`/`end`, which the HTTP/2 compatibility objects have too.
    middleware(req as never, res as never, () => next(req, res));
  };
}

/**
 * What `withCors` sets on every request that is not an `OPTIONS` one, in order, as a raw header list
 * (name, value, ...), when that does not depend on the request (every origin allowed); else `null`.
 */
export function corsHeadersOfActualRequest(allowedOrigins: readonly string[]): string[] | null {
  if (!allowedOrigins.includes("*")) return null;
  return headersOfActualRequest(corsFor(allowedOrigins))?.flat() ?? null;
}

function corsFor(allowedOrigins: readonly string[]): ReturnType<typeof corsMiddleware> {
  return corsMiddleware({
    origin: allowedOrigins.includes("*") ? "*" : [...allowedOrigins],
    methods: [...connectCors.allowedMethods],
    allowedHeaders: [...connectCors.allowedHeaders, ...appRequestHeaders],
    exposedHeaders: [...connectCors.exposedHeaders, ...appExposedHeaders],
    maxAge: preflightMaxAgeSeconds,
    credentials: false,
    preflightContinue: false,
    optionsSuccessStatus: 204,
  });
}

/**
 * With every origin allowed, what the middleware adds to a request that is not a preflight does not
 * depend on the request (no `Vary`, no echoed origin): the headers it sets on a sample request, in its
 * order, set as they are on every such request. Its per-request option merging was 1.5% of a `get`'s
 * CPU (docs/benchmarks.md "get path, this stop"). `null` (use the middleware) if it did anything else.
 */
function headersOfActualRequest(middleware: ReturnType<typeof corsMiddleware>): [string, string][] | null {
  const headers: [string, string][] = [];
  let passed = false;
  const sample = { method: "POST", headers: {} };
  const recorder = {
    setHeader: (name: string, value: unknown) => {
      headers.push([name, String(value)]);
    },
    getHeader: () => undefined,
  };
  try {
    middleware(sample as never, recorder as never, () => {
      passed = true;
    });
  } catch {
    return null;
  }
  return passed ? headers : null;
}
