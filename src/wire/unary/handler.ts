/**
 * The unary path: a route resolves to a method; the method runs once, through the same interceptors
 * (error mapping, observation, authentication) and implementation connect-node would serve; the result
 * or the error is encoded once, in the caller's protocol. No response patching, no string round trips.
 *
 * It serves every unary call of the given services: Connect (JSON or binary, HTTP/1.1 or 2), gRPC
 * (HTTP/2), gRPC-Web (binary and JSON, HTTP/1.1 or 2) and REST (`serveRest`, after rest.ts resolved the
 * path), with request and response compression, deadlines, the read and write limits, and self-encoded
 * answers (self-encoded.ts). The differential test (test/wire-unary-differential.test.ts) holds it to
 * connect-node's answers. What it declines goes to `next()`, i.e. to connect-node: streaming, Connect
 * `GET`, gRPC over HTTP/1.1, gRPC-Web text, declared oversize bodies, unknown paths.
 */

import http from "node:http";
import type { DescMethod } from "@bufbuild/protobuf";
import type { ConnectError, ContextValues } from "@connectrpc/connect";
import { contentTypeUnaryJson, contentTypeUnaryProto } from "@connectrpc/connect/protocol-connect";
import type { NodeRequest, NodeResponse } from "../server.js";
import type { AnswerText } from "./answer.js";
import { CallHeaders } from "./call-headers.js";
import { admitConnect, admitRest, readConnectInput } from "./connect-protocol.js";
import { leanContext } from "./context.js";
import { admitGrpc, readGrpcInput } from "./grpc-protocol.js";
import {
  handlerOptions,
  type RouterSettings,
  type ServiceRoute,
  type UnaryMethod,
  unaryMethods,
} from "./methods.js";
import { type Admission, type CallEnds, UnaryCall } from "./unary-call.js";

export interface LeanUnaryOptions extends RouterSettings {
  readonly routes: readonly ServiceRoute[];
  /** The server's per-call values (the observability `Call`), as connect-node's `contextValues`. */
  readonly contextValues?: ((req: NodeRequest) => ContextValues) | undefined;
  /** Called when writing an answer fails (the connection went away): log it, nothing else to do. */
  readonly onWriteError?: (err: unknown) => void;
  /** Told of every call this path takes (by procedure path), before it runs. */
  readonly onCall?: ((procedure: string) => void) | undefined;
  /**
   * Told of the error each error answer carries, including those the interceptors never saw (an
   * undecodable request, an answer refused at the response limit or failing while it is encoded):
   * observation records the code the client really got, and logs an internal fault of the encoding.
   */
  readonly onErrorAnswer?:
    | ((values: ContextValues, error: ConnectError, outcome: { error: unknown; encoding: boolean }) => void)
    | undefined;
  /** Told the body length of an answer whose head was written raw (`leading`), which Node cannot tell. */
  readonly onRawHead?: ((values: ContextValues, bodyBytes: number) => void) | undefined;
}

/**
 * Connect, gRPC and gRPC-Web calls on a procedure path; the rest goes to `next(req, res)` (the same
 * function for every call: no closure per call). `leading` (a raw header list: name, value, ...) is
 * what the caller would have set on the response before this ran: written first in the answer's head,
 * or set on the response (`setHeader`, in order) before anything else writes it, including `next`.
 * The list is the call's own: the answer's head is that list, extended (not copied).
 */
export type LeanRpc = (
  req: NodeRequest,
  res: NodeResponse,
  next: (req: NodeRequest, res: NodeResponse) => void,
  leading?: string[],
) => void;

export interface LeanUnaryHandler {
  readonly rpc: LeanRpc;
  /** A REST call on a route that resolved to `method` (rest.ts did the refusals). */
  readonly rest: (req: NodeRequest, res: NodeResponse, method: DescMethod) => void;
}

/** The answer's message bytes, or what was thrown (while reading, calling, or encoding the answer). */
export type Outcome = { body: Uint8Array } | AnswerText | { error: unknown; encoding: boolean };

/** A request target's path (the query cut off). */
export function pathOf(url: string): string {
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
}

function setLeading(res: NodeResponse, leading: readonly string[]): void {
  for (let i = 0; i + 1 < leading.length; i += 2)
    res.setHeader(leading[i] as string, leading[i + 1] as string);
}

function requestUrl(req: NodeRequest, path: string): string {
  const authority = "authority" in req ? req.authority : req.headers.host;
  return `http://${authority ?? "localhost"}${path}`;
}

export function createLeanUnaryHandler(options: LeanUnaryOptions): LeanUnaryHandler {
  const opt = handlerOptions(options);
  const methods = unaryMethods(options.routes, opt, options.interceptors);
  const ends: CallEnds = {
    opt,
    onWriteError: options.onWriteError ?? (() => {}),
    onErrorAnswer: options.onErrorAnswer,
    onRawHead: options.onRawHead,
  };

  const serve = (
    req: NodeRequest,
    res: NodeResponse,
    unary: UnaryMethod,
    url: string,
    admission: Admission,
    leading?: string[],
  ): void => {
    const responseHeader = new CallHeaders();
    const responseTrailer = new CallHeaders();
    const requestHeader = new CallHeaders(req.headers);
    let protocolName: "connect" | "grpc" | "grpc-web" = "connect";
    if ("connect" in admission) {
      const { binary, rest } = admission.connect;
      responseHeader.set("Content-Type", binary ? contentTypeUnaryProto : contentTypeUnaryJson);
      // A REST body is JSON whatever type it was sent with; handlers see the call as Connect JSON.
      if (rest) requestHeader.set("Content-Type", contentTypeUnaryJson);
    } else {
      protocolName = admission.grpc.web ? "grpc-web" : "grpc";
      responseHeader.set("Content-Type", admission.grpc.contentType);
    }
    const negotiated = "connect" in admission ? admission.connect : admission.grpc;
    const timeout = negotiated.timeout;
    const { context, done } = leanContext({
      method: unary.method,
      protocolName,
      url: requestUrl(req, url),
      requestHeader,
      responseHeader,
      responseTrailer,
      shutdownSignal: opt.shutdownSignal,
      timeoutMs: timeout.error ? undefined : timeout.timeoutMs,
      values: options.contextValues?.(req),
    });
    const call = new UnaryCall(ends, res, unary, admission, context, done, leading);
    // connect-node's order: a compression error, then a timeout error, then the body.
    const refused = negotiated.compression.error ?? timeout.error;
    if (refused) call.failed(refused);
    else if ("connect" in admission) readConnectInput(req, unary, admission.connect, opt, call);
    else readGrpcInput(req, unary, admission.grpc, opt, call);
  };

  const rpc: LeanRpc = (req, res, next, leading) => {
    const url = req.url ?? "";
    const path = pathOf(url);
    const unary = req.method === "POST" ? methods.get(path) : undefined;
    const contentType = req.headers["content-type"] ?? "";
    const grpcType = contentType.startsWith("application/grpc");
    if (unary !== undefined && !grpcType) {
      const connect = admitConnect(req, opt);
      if (connect !== null) {
        options.onCall?.(path);
        // Only an HTTP/1.1 head is written raw (connect-protocol.ts); HTTP/2 gets them set.
        const raw = leading !== undefined && res instanceof http.ServerResponse;
        if (leading !== undefined && !raw) setLeading(res, leading);
        serve(req, res, unary, url, { connect }, raw ? leading : undefined);
        return;
      }
    }
    if (leading !== undefined) setLeading(res, leading);
    if (unary === undefined) return next(req, res);
    const grpc = grpcType ? admitGrpc(req, opt) : null;
    if (grpc === null) return next(req, res);
    options.onCall?.(path);
    serve(req, res, unary, url, { grpc });
  };

  const rest = (req: NodeRequest, res: NodeResponse, method: DescMethod): void => {
    const path = `/${method.parent.typeName}/${method.name}`;
    const unary = methods.get(path);
    if (unary === undefined) throw new Error(`REST route to ${path}, which is not a served unary method`);
    options.onCall?.(path);
    const url = req.url ?? "";
    serve(req, res, unary, path + url.slice(pathOf(url).length), { connect: admitRest(req, opt) });
  };

  return { rpc, rest };
}
