/**
 * The lean unary path: a route resolves to a method; the method runs once, through the same interceptors
 * (authentication, error mapping) and implementation connect-node serves; the result or the error is
 * encoded once, in the caller's protocol. No response patching, no string round trips.
 *
 * It takes only what it answers exactly as connect-node does (the differential test,
 * test/wire-unary-differential.test.ts, holds it to that): unary Connect (JSON or binary, HTTP/1.1 or 2)
 * and gRPC (binary, HTTP/2), without request compression or a deadline header. Everything else — REST,
 * gRPC-Web, streaming, compressed requests, deadlines, GET, unknown paths — goes to `next()`, i.e. to
 * connect-node and the REST layer as before.
 */

import type { JsonReadOptions, JsonWriteOptions } from "@bufbuild/protobuf";
import type { Interceptor } from "@connectrpc/connect";
import { invokeUnaryImplementation } from "@connectrpc/connect/protocol";
import { contentTypeUnaryJson, contentTypeUnaryProto } from "@connectrpc/connect/protocol-connect";
import { contentTypeProto } from "@connectrpc/connect/protocol-grpc";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import type { NodeMiddleware } from "../rest.js";
import type { NodeRequest } from "../server.js";
import { admitConnect, readConnectInput, writeConnect } from "./connect-protocol.js";
import { leanContext, webHeaders } from "./context.js";
import { admitGrpc, type GrpcAdmission, readGrpcInput, writeGrpc } from "./grpc-protocol.js";
import { handlerOptions, type ServiceRoute, unaryMethods } from "./methods.js";

export interface LeanUnaryOptions {
  readonly routes: readonly ServiceRoute[];
  /** The same interceptors, limits and JSON options as the connect-node adapter. */
  readonly interceptors: readonly Interceptor[];
  readonly readMaxBytes: number;
  readonly jsonOptions: Partial<JsonReadOptions & JsonWriteOptions>;
  readonly shutdownSignal?: AbortSignal | undefined;
  /** Called when writing an answer fails (the connection went away): log it, nothing else to do. */
  readonly onWriteError?: (err: unknown) => void;
  /** Told of every call this path takes (by procedure path), before it runs. */
  readonly onCall?: ((procedure: string) => void) | undefined;
}

function requestUrl(req: NodeRequest, path: string): string {
  const authority = "authority" in req ? req.authority : req.headers.host;
  return `http://${authority ?? "localhost"}${path}`;
}

export function createLeanUnaryHandler(options: LeanUnaryOptions): NodeMiddleware {
  const opt = handlerOptions({
    interceptors: [...options.interceptors],
    readMaxBytes: options.readMaxBytes,
    jsonOptions: options.jsonOptions,
    shutdownSignal: options.shutdownSignal,
    // connect-node's adapter default, so answers are compressed alike.
    acceptCompression: [compressionGzip, compressionBrotli],
  });
  const methods = unaryMethods(options.routes, opt);
  const onWriteError = options.onWriteError ?? (() => {});

  return (req, res, next) => {
    if (req.method !== "POST") return next();
    const url = req.url ?? "";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    const unary = methods.get(path);
    if (unary === undefined) return next();
    const contentType = req.headers["content-type"] ?? "";
    const grpc = contentType.startsWith("application/grpc");
    const connect = grpc ? null : admitConnect(req, opt);
    const grpcAdmission = grpc ? admitGrpc(req, opt) : null;
    if (connect === null && grpcAdmission === null) return next();
    options.onCall?.(path);

    const responseHeader = new Headers();
    const responseTrailer = new Headers();
    if (connect) {
      responseHeader.set("Content-Type", connect.binary ? contentTypeUnaryProto : contentTypeUnaryJson);
    } else {
      responseHeader.set("Content-Type", contentTypeProto);
    }
    const context = leanContext({
      method: unary.method,
      protocolName: connect ? "connect" : "grpc",
      url: requestUrl(req, url),
      requestHeader: webHeaders(req.headers),
      responseHeader,
      responseTrailer,
      shutdownSignal: opt.shutdownSignal,
    });
    const run = async (): Promise<{ output: unknown } | { error: unknown }> => {
      try {
        const input = connect
          ? await readConnectInput(req, unary, connect.binary, opt)
          : await readGrpcInput(req, unary, opt);
        return {
          output: await invokeUnaryImplementation(unary.spec, context, input as never, opt.interceptors),
        };
      } catch (error) {
        return { error };
      }
    };
    run()
      .then((outcome) =>
        connect
          ? writeConnect(res, outcome, unary, connect, responseHeader, responseTrailer, opt)
          : writeGrpc(
              res,
              outcome,
              unary,
              grpcAdmission as GrpcAdmission,
              responseHeader,
              responseTrailer,
              opt,
            ),
      )
      .catch(onWriteError);
  };
}
