/**
 * The outermost request handler: gives every request a `Call` (request id accepted from
 * `x-request-id` or generated, and echoed; W3C `traceparent` kept), counts it in flight, and when its
 * response closes writes one access-log line and the call metrics. Connect handlers reach the same
 * `Call` through `contextValues` (hand it to `connectNodeAdapter`), where the interceptor in
 * `call-interceptor.ts` adds the method, the caller and the code.
 *
 * Byte counts come from what Node already counts, without wrapping the response: the declared
 * `content-length` of the request and response, or on HTTP/1.1 the connection's byte counters
 * (one request at a time per connection, headers included). An HTTP/2 streamed response has no
 * declared length and Node keeps no per-stream counter: its `bytes_out` is omitted.
 */
import http from "node:http";
import type { Socket } from "node:net";
import { Code, type ContextValues, createContextValues } from "@connectrpc/connect";
import { type Call, callerOf, callKey, newCall } from "./call.js";
import { codeLabel, codeLabelFromHttpStatus } from "./codes.js";
import type { Metrics, Protocol } from "./metrics.js";

type NodeRequest = Parameters<NodeHandler>[0];
type NodeResponse = Parameters<NodeHandler>[1];
/** Structurally the server's `NodeHandler` (server.ts), restated to keep this layer free of it. */
export type NodeHandler = (
  req: http.IncomingMessage | import("node:http2").Http2ServerRequest,
  res: http.ServerResponse | import("node:http2").Http2ServerResponse,
  onClose?: (listener: () => void) => void,
) => void;

export interface AccessLogger {
  info(fields: Record<string, unknown>, message: string): void;
  debug(fields: Record<string, unknown>, message: string): void;
  /** pino's: lets a call skip building a log line the level would drop (most of the close handler's cost). */
  isLevelEnabled?(level: "info" | "debug"): boolean;
}

export interface ObserveCallsOptions {
  readonly metrics: Metrics;
  readonly logger: AccessLogger;
  /** REST paths as clients send them (`/identity/v2/job/list`) and the procedure each one calls. */
  readonly restPaths: ReadonlyMap<string, string>;
  /** REST paths answered as a stream outside Connect (the SSE watch): counted as open watch streams. */
  readonly streamPaths: ReadonlySet<string>;
  /** The procedures served (`/spaceone.api.identity.v2.Job/list`): bounds the method label. */
  readonly procedures: ReadonlySet<string>;
}

/** A handler told the headers to put first in the answer (`x-request-id`), as a raw list it may extend. */
export type LeadingHandler = (req: NodeRequest, res: NodeResponse, leading: string[]) => void;

export interface CallObserver {
  /** The handler to serve: `inner` with every request observed. */
  wrap(inner: NodeHandler): NodeHandler;
  /** As `wrap`, but `inner` writes the request id itself (raw, in `leading`): no `setHeader` here. */
  wrapLeading(inner: LeadingHandler): NodeHandler;
  /** For `connectNodeAdapter({contextValues})`: puts the request's `Call` under `callKey`. */
  readonly contextValues: (req: NodeRequest) => ContextValues;
  /** The request's `Call`, for what is served outside Connect (the SSE watch) to fill in. */
  readonly callOf: (req: NodeRequest) => Call | undefined;
}

/** `/package.Service/method`: what Connect, gRPC and gRPC-Web paths look like. */
const procedurePattern = /^\/[A-Za-z_][\w.]*\/[A-Za-z_]\w*$/;

export function createCallObserver(options: ObserveCallsOptions): CallObserver {
  const { metrics, logger, restPaths, streamPaths, procedures } = options;
  const calls = new WeakMap<object, Call>();
  const enabled = (level: "info" | "debug") => logger.isLevelEnabled?.(level) ?? true;
  // Each served procedure's service and method, split once.
  const procedureNames = new Map(
    [...procedures].map((procedure) => {
      const [, service = "unknown", method = "unknown"] = procedure.split("/");
      return [procedure, { service, method }] as const;
    }),
  );
  /** Per HTTP/1.1 connection: its byte counters when its previous response ended. */
  const marks = new WeakMap<Socket, { read: number; written: number }>();

  const wrapLeading =
    (inner: LeadingHandler): NodeHandler =>
    (req, res, onClose) => {
      const call = newCall(req.headers);
      calls.set(req, call);
      const path = pathOf(req.url);
      call.protocol = protocolOf(path, req.headers["content-type"], restPaths, procedures);
      const socket = res instanceof http.ServerResponse ? req.socket : undefined;
      const protocol = call.protocol;
      if (protocol) metrics.inFlightTally(protocol).value++;
      const sseStream = streamPaths.has(path);
      if (sseStream) metrics.watch.streams.inc();

      const closed = () => {
        // Dropped now rather than left for a collection to find: the WeakMap's table then holds only
        // the calls in progress, instead of growing (and being rebuilt) with every request since the last GC.
        calls.delete(req);
        const seconds = (performance.now() - call.startedAt) / 1e3;
        // The connection's counters move on whether or not this exchange is logged (an RPC logged at
        // info after a health check not logged at debug counts its own bytes). With info off nothing
        // is logged (pino's level is set at start): no counters are read (`bytesWritten` walks the
        // socket's write queue).
        const bytes = enabled("info")
          ? exchangeBytes(req.headers["content-length"], res, call.bytesOut, socket, marks)
          : noBytes;
        if (!protocol) {
          if (enabled("debug")) {
            logger.debug(
              {
                ...accessFields(call, req, res, seconds, bytes),
                method: req.method,
                path: path.slice(0, 200),
              },
              "http request",
            );
          }
          return;
        }
        metrics.inFlightTally(protocol).value--;
        if (sseStream) metrics.watch.streams.dec();
        // After the REST layer, req.url is the procedure path the call was forwarded to; a REST path
        // served outside Connect (the SSE watch) is looked up in the route table.
        const forwarded = pathOf(req.url);
        const name = procedureNames.get(restPaths.get(forwarded) ?? forwarded);
        const known = name !== undefined;
        const service = name?.service ?? "unknown";
        const method = name?.method ?? "unknown";
        const code =
          call.code ??
          (res.writableFinished ? codeFromResponse(protocol, res.statusCode, res) : codeLabel(Code.Canceled));
        const rpcService = call.service ?? service;
        const rpcMethod = call.method ?? method;
        metrics.callTally(rpcService, rpcMethod, protocol, code).value++;
        metrics.callDuration.series(rpcService, rpcMethod).observe(seconds);
        if (!enabled("info")) return;
        const fields = accessFields(call, req, res, seconds, bytes);
        fields.protocol = protocol;
        // Not `service`: pino's base fields already name this process's service.
        fields.rpc_service = rpcService;
        fields.rpc_method = rpcMethod;
        // A path that is not a served procedure: logged (bounded) so a typo can be found.
        if (!known && !call.method) fields.path = path.slice(0, 200);
        fields.code = code;
        fields.caller = callerOf(call.principal);
        logger.info(fields, "call");
      };
      // The server's own close listener runs it when it offers to (server.ts `OnResponseClose`). `on`,
      // not `once`: a response closes once, and `once` wraps the listener on every call.
      if (onClose !== undefined) onClose(closed);
      else res.on("close", closed);
      inner(req, res, ["x-request-id", call.requestId]);
    };
  const wrap = (inner: NodeHandler): NodeHandler =>
    wrapLeading((req, res, leading) => {
      res.setHeader(leading[0] as string, leading[1] as string);
      inner(req, res);
    });

  const contextValues = (req: NodeRequest): ContextValues => {
    const values = createContextValues();
    const call = calls.get(req);
    if (call) values.set(callKey, call);
    return values;
  };
  return { wrap, wrapLeading, contextValues, callOf: (req) => calls.get(req) };
}

function pathOf(url: string | undefined): string {
  const value = url ?? "";
  const q = value.indexOf("?");
  return q < 0 ? value : value.slice(0, q);
}

function protocolOf(
  path: string,
  contentType: string | undefined,
  restPaths: ReadonlyMap<string, string>,
  procedures: ReadonlySet<string>,
): Protocol | undefined {
  if (restPaths.has(path)) return "rest";
  const type = (contentType ?? "").toLowerCase();
  if (type.startsWith("application/grpc-web")) return "grpc-web";
  if (type.startsWith("application/grpc")) return "grpc";
  // A served procedure has the pattern's shape: looked up first, the pattern only for the others.
  if (procedures.has(path) || procedurePattern.test(path)) return "connect";
  return undefined;
}

/** The access-log line's common fields, in the order they are logged. */
function accessFields(
  call: Call,
  req: NodeRequest,
  res: NodeResponse,
  seconds: number,
  bytes: ExchangeBytes,
): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    request_id: call.requestId,
    trace_id: call.traceId,
    parent_span_id: call.parentSpanId,
    http_version: req.httpVersion,
    status: res.statusCode,
    duration_ms: Math.round(seconds * 1e6) / 1e3,
  };
  if (bytes.in !== undefined) fields.bytes_in = bytes.in;
  if (bytes.out !== undefined) fields.bytes_out = bytes.out;
  return fields;
}

interface ExchangeBytes {
  readonly in: number | undefined;
  readonly out: number | undefined;
}

const noBytes: ExchangeBytes = { in: undefined, out: undefined };

/**
 * Bytes in and out of one exchange: the declared lengths of the bodies when there are; otherwise,
 * on HTTP/1.1, what the connection carried since its previous response ended (headers included;
 * one exchange at a time per connection). The connection's mark moves on every exchange.
 */
function exchangeBytes(
  requestLength: string | string[] | undefined,
  res: NodeResponse,
  bodyBytes: number | undefined,
  socket: Socket | undefined,
  marks: WeakMap<Socket, { read: number; written: number }>,
): ExchangeBytes {
  let wireIn: number | undefined;
  let wireOut: number | undefined;
  if (socket) {
    const read = socket.bytesRead;
    const written = socket.bytesWritten;
    const mark = marks.get(socket);
    if (mark === undefined) {
      wireIn = read;
      wireOut = written;
      marks.set(socket, { read, written });
    } else {
      wireIn = read - mark.read;
      wireOut = written - mark.written;
      mark.read = read;
      mark.written = written;
    }
  }
  return {
    in: declaredLength(requestLength) ?? wireIn,
    out: declaredLength(res.getHeader("content-length")) ?? bodyBytes ?? wireOut,
  };
}

function declaredLength(value: string | number | string[] | undefined): number | undefined {
  if (value === undefined || Array.isArray(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * The code of a call the interceptor never saw (refused before a handler ran: unknown method,
 * undecodable or oversized body, REST 405/415): gRPC puts it in `grpc-status` (a trailers-only
 * response), the others in the HTTP status.
 */
function codeFromResponse(protocol: Protocol, status: number, res: NodeResponse): string {
  if (protocol === "grpc" || protocol === "grpc-web") {
    const grpcStatus = Number(res.getHeader("grpc-status"));
    if (status === 200 && Number.isInteger(grpcStatus)) return codeLabel(grpcStatus as Code);
    if (status === 200) return "unknown";
  }
  return codeLabelFromHttpStatus(status);
}
