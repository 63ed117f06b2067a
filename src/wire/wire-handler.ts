/**
 * Every protocol on one handler: a request resolves to a method and is answered once, in its protocol.
 *
 * - unary calls (Connect, gRPC, gRPC-Web): the unary path (unary/handler.ts);
 * - the server streams given as `streamRoutes` (watch): the stream path (stream/handler.ts);
 * - REST: rest.ts resolves the path and refuses what is not a REST call, the unary path answers;
 * - everything else (streams, Connect GET, what the unary path declines, unknown paths): connect's
 *   router (connect-handler.ts), behind the refusals of protocol-refusals.ts.
 */
import type { DescMethod, JsonReadOptions, JsonWriteOptions } from "@bufbuild/protobuf";
import type { ConnectError, ConnectRouter, ContextValues } from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import { createConnectHandler } from "./connect-handler.js";
import { type CallInterceptor, connectInterceptor } from "./interceptor.js";
import { unknownMethodHandler, withProtocolRefusals } from "./protocol-refusals.js";
import { createAppHandler, createRestHandler, type NodeMiddleware, notFoundHandler } from "./rest.js";
import type { NodeHandler, NodeRequest, NodeResponse } from "./server.js";
import { createLeanStreamHandler, type StreamRoute } from "./stream/handler.js";
import { createLeanUnaryHandler } from "./unary/handler.js";
import type { ServiceRoute } from "./unary/methods.js";

export interface WireHandlerOptions {
  /** The API's services: unary methods on the unary path, streams on connect's router. */
  readonly services: readonly ServiceRoute[];
  /** More registrations on connect's router only, with their own options (health, reflection). */
  readonly moreRoutes?: (router: ConnectRouter) => void;
  /** As written (interceptor.ts): the unary path chains them as they are, connect's router wrapped. */
  readonly interceptors: readonly CallInterceptor[];
  /** Per-call values (the observability `Call`) for every call, whichever path serves it. */
  readonly contextValues?: ((req: NodeRequest) => ContextValues) | undefined;
  readonly readMaxBytes: number;
  readonly writeMaxBytes?: number | undefined;
  readonly maxTimeoutMs?: number | undefined;
  readonly jsonOptions: Partial<JsonReadOptions & JsonWriteOptions>;
  readonly shutdownSignal?: AbortSignal | undefined;
  /** REST path -> method (rest.ts `restRoutes`). */
  readonly restRoutes: ReadonlyMap<string, DescMethod>;
  /** In front of the REST routes: REST paths answered as streams (the SSE watch). */
  readonly restStreams?: NodeMiddleware | undefined;
  /**
   * `connect` serves unary Connect, gRPC and gRPC-Web calls through connect's router as well (REST
   * always takes the unary path): the reference the differential test compares the unary path with.
   */
  readonly unary?: "lean" | "connect" | undefined;
  /** Server-streaming methods of `services` served on the stream path (their connect route stays). */
  // biome-ignore lint/suspicious/noExplicitAny: routes of any item type
  readonly streamRoutes?: readonly StreamRoute<any>[] | undefined;
  /**
   * `connect` serves the `streamRoutes` through connect's router as well: the reference the stream
   * differential test and the watch bench compare the stream path with.
   */
  readonly stream?: "lean" | "connect" | undefined;
  /** Told of every call the unary path takes (by procedure path): tests. */
  readonly onLeanCall?: ((procedure: string) => void) | undefined;
  readonly onWriteError?: ((err: unknown) => void) | undefined;
  readonly onErrorAnswer?:
    | ((values: ContextValues, error: ConnectError, outcome: { error: unknown; encoding: boolean }) => void)
    | undefined;
  readonly onHandlerError?: ((err: unknown, handler: UniversalHandler) => void) | undefined;
  /** The unary path's `onRawHead` (unary/handler.ts). */
  readonly onRawHead?: ((values: ContextValues, bodyBytes: number) => void) | undefined;
}

export interface WireHandler {
  readonly handler: NodeHandler;
  /**
   * `handler` for a request that may be a unary call, with a raw header list (name, value, ...) to put
   * first in its answer's head: written with it by the unary path, set on the response otherwise.
   * Absent when unary calls go through connect's router (`unary: "connect"`).
   */
  readonly unaryFirst?: (req: NodeRequest, res: NodeResponse, leading: string[]) => void;
  /** The fully-qualified names of the services connect's router serves (health's SERVING list). */
  readonly served: readonly string[];
}

export function createWireHandler(options: WireHandlerOptions): WireHandler {
  const common = {
    interceptors: options.interceptors,
    contextValues: options.contextValues,
    readMaxBytes: options.readMaxBytes,
    writeMaxBytes: options.writeMaxBytes,
    maxTimeoutMs: options.maxTimeoutMs,
    jsonOptions: options.jsonOptions,
    shutdownSignal: options.shutdownSignal,
  };
  const connect = createConnectHandler({
    ...common,
    interceptors: options.interceptors.map(connectInterceptor),
    routes: (router) => {
      for (const s of options.services) router.service(s.service, s.impl);
      options.moreRoutes?.(router);
    },
    fallback: unknownMethodHandler(notFoundHandler),
    onHandlerError: options.onHandlerError,
  });
  const procedures = new Map<string, DescMethod>();
  for (const h of connect.handlers) procedures.set(h.requestPath, h.method);
  const lean = createLeanUnaryHandler({
    ...common,
    routes: options.services,
    onCall: options.onLeanCall,
    onWriteError: options.onWriteError,
    onErrorAnswer: options.onErrorAnswer,
    onRawHead: options.onRawHead,
  });
  const rest = createRestHandler({
    routes: options.restRoutes,
    serve: lean.rest,
    maxBodyBytes: options.readMaxBytes,
  });
  const restStreams = options.restStreams;
  const app = createAppHandler({
    connectHandler: withProtocolRefusals(procedures, connect.handler),
    rest: restStreams ? (req, res, next) => restStreams(req, res, () => rest(req, res, next)) : rest,
  });
  const streamRoutes = options.stream === "connect" ? [] : (options.streamRoutes ?? []);
  const streams =
    streamRoutes.length === 0
      ? null
      : createLeanStreamHandler({
          ...common,
          routes: streamRoutes,
          onCall: options.onLeanCall,
          onWriteError: options.onWriteError,
          onErrorAnswer: options.onErrorAnswer,
        });
  const rpc: NodeHandler = streams ? (req, res) => streams(req, res, () => app(req, res)) : app;
  const served = [...new Set(connect.handlers.map((h) => h.service.typeName))];
  if (options.unary === "connect") return { handler: rpc, served };
  return {
    handler: (req, res) => lean.rpc(req, res, rpc),
    unaryFirst: (req, res, leading) => lean.rpc(req, res, rpc, leading),
    served,
  };
}
