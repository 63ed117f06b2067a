/**
 * The stream path: server streams served outside connect-node's streaming pipeline, as the unary path
 * (unary/) serves unary calls. connect-node gives every stream about eight async generators and a
 * hundred closures, and encodes, envelopes and writes each message for each stream on its own. Here a
 * route's items go from its implementation to the socket through one loop per stream, and the route
 * encodes an item once per format however many streams it reaches (`StreamEncoder`: the watch event
 * that 50 streams receive is one shared buffer).
 *
 * The call runs through the same interceptors (error mapping, observation, authentication) with a
 * context built as the unary path builds it (unary/context.ts), and the request and the response
 * follow connect-node byte for byte (stream/protocol.ts; test/wire-stream-differential.test.ts holds
 * the path to connect-node's answers). What it declines goes to `next()`, i.e. to connect-node.
 */
import type { DescMethod, Message } from "@bufbuild/protobuf";
import type {
  ConnectError,
  ContextValues,
  HandlerContext,
  StreamResponse as InterceptedResponse,
  StreamRequest,
} from "@connectrpc/connect";
import {
  type Compression,
  createMethodSerializationLookup,
  type Serialization,
} from "@connectrpc/connect/protocol";
import type { NodeMiddleware } from "../rest.js";
import type { NodeRequest } from "../server.js";
import { CallHeaders } from "../unary/call-headers.js";
import { leanContext } from "../unary/context.js";
import { leanError } from "../unary/errors.js";
import { handlerOptions, type RouterSettings } from "../unary/methods.js";
import { admitStream, readStreamInput, StreamResponse, streamHeaders } from "./protocol.js";

/** How a route's items become frames: one enveloped message, shared by every stream that sends it. */
export interface StreamEncoder<T> {
  /** The envelope (flags 0) of `item`'s message, built once per item and format. */
  frame(item: T, binary: boolean): Uint8Array;
  /** The same, compressed for `compression` when at or over `minBytes`. */
  compressedFrame(item: T, binary: boolean, compression: Compression, minBytes: number): Promise<Uint8Array>;
}

/** A server-streaming method the stream path serves. */
export interface StreamRoute<T> {
  readonly method: DescMethod;
  /** The stream's items for one request (through the interceptors, like a ServiceImpl's method). */
  readonly open: (input: unknown, context: HandlerContext) => AsyncIterable<T>;
  /**
   * What an error thrown by the call becomes (a ConnectError to send), before the path's own mapping:
   * a route maps its stream's errors here rather than in one more generator around every stream.
   */
  readonly error?: (thrown: unknown) => unknown;
  /** Given the method's message serializers (the server's JSON options and write limit). */
  readonly encoder: (serialization: {
    binary: Serialization<Message>;
    json: Serialization<Message>;
  }) => StreamEncoder<T>;
}

/** The router's settings; its `shutdownSignal` ends open streams cleanly, as with connect-node. */
export interface LeanStreamOptions extends RouterSettings {
  // biome-ignore lint/suspicious/noExplicitAny: routes of any item type
  readonly routes: readonly StreamRoute<any>[];
  readonly contextValues?: ((req: NodeRequest) => ContextValues) | undefined;
  /** Told of every call this path takes (by procedure path), before it runs. */
  readonly onCall?: ((procedure: string) => void) | undefined;
  /** Told of the error a stream ended with, including those no interceptor saw (see unary/handler.ts). */
  readonly onErrorAnswer?:
    | ((values: ContextValues, error: ConnectError, outcome: { error: unknown; encoding: boolean }) => void)
    | undefined;
  readonly onWriteError?: ((err: unknown) => void) | undefined;
}

interface ServedRoute {
  // biome-ignore lint/suspicious/noExplicitAny: routes of any item type
  readonly route: StreamRoute<any>;
  // biome-ignore lint/suspicious/noExplicitAny: routes of any item type
  readonly encoder: StreamEncoder<any>;
  readonly input: { binary: Serialization<Message>; json: Serialization<Message> };
}

export function createLeanStreamHandler(options: LeanStreamOptions): NodeMiddleware {
  const opt = handlerOptions(options);
  const routes = new Map<string, ServedRoute>();
  for (const route of options.routes) {
    const s = createMethodSerializationLookup(route.method, opt.binaryOptions, opt.jsonOptions, opt);
    routes.set(`/${route.method.parent.typeName}/${route.method.name}`, {
      route,
      encoder: route.encoder({ binary: s.getO(true), json: s.getO(false) }),
      input: { binary: s.getI(true), json: s.getI(false) },
    });
  }
  // connect's applyInterceptors: the first interceptor is the outermost.
  const chain = (next: (req: StreamRequest) => Promise<InterceptedResponse>) =>
    opt.interceptors.reduceRight((n, interceptor) => interceptor(n as never) as typeof n, next);
  const onWriteError = options.onWriteError ?? (() => {});

  return (req, res, next) => {
    if (req.method !== "POST") return next();
    const url = req.url ?? "";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    const served = routes.get(path);
    if (served === undefined) return next();
    const admission = admitStream(req, opt);
    if (admission === null) return next();
    options.onCall?.(path);
    const { route, encoder } = served;
    const { method } = route;
    // The stream's own signal: the client went away, or the server is shutting down.
    const stop = new AbortController();
    const onClose = () => stop.abort();
    res.once("close", onClose);
    const shutdown = opt.shutdownSignal;
    const onShutdown = () => stop.abort(shutdown?.reason);
    if (shutdown?.aborted) onShutdown();
    else shutdown?.addEventListener("abort", onShutdown, { once: true });

    const requestHeader = new CallHeaders(req.headers);
    const responseHeader = new CallHeaders();
    const responseTrailer = new CallHeaders();
    streamHeaders(admission, responseHeader, responseTrailer);
    const authority = "authority" in req ? req.authority : req.headers.host;
    const { context, done } = leanContext({
      method,
      protocolName: admission.protocol,
      url: `http://${authority ?? "localhost"}${url}`,
      requestHeader,
      responseHeader,
      responseTrailer,
      shutdownSignal: stop.signal,
      timeoutMs: admission.timeout.error ? undefined : admission.timeout.timeoutMs,
      values: options.contextValues?.(req),
    });
    const parser = admission.binary ? served.input.binary : served.input.json;
    const invoke = chain(async (sreq) => {
      const input = await readStreamInput(req, admission, parser, opt);
      const ctx: HandlerContext = {
        ...context,
        requestHeader: sreq.header,
        signal: sreq.signal,
        values: sreq.contextValues,
      };
      return {
        stream: true,
        message: route.open(input, ctx),
        header: responseHeader,
        trailer: responseTrailer,
        service: method.parent,
        method,
      } as InterceptedResponse;
    });
    const response = new StreamResponse(res, admission, responseHeader, responseTrailer, opt);
    const compression = admission.compression.response;
    const { binary } = admission;

    const run = async (): Promise<{ error: unknown; encoding: boolean } | null> => {
      let items: AsyncIterator<unknown> | undefined;
      try {
        const answer = await invoke({
          stream: true,
          message: emptyInput,
          method,
          service: method.parent,
          requestMethod: "POST",
          url: context.url,
          signal: context.signal,
          header: requestHeader,
          contextValues: context.values,
        } as StreamRequest);
        items = answer.message[Symbol.asyncIterator]();
        for (;;) {
          const next = await items.next();
          if (next.done === true) return null;
          let frame: Uint8Array;
          try {
            frame = compression
              ? await encoder.compressedFrame(next.value, binary, compression, opt.compressMinBytes)
              : encoder.frame(next.value, binary);
          } catch (error) {
            return { error, encoding: true };
          }
          const written = response.write(frame);
          if (written !== true && !(await written)) return null;
        }
      } catch (error) {
        return { error, encoding: false };
      } finally {
        // Also when the client went away mid-stream: the implementation's `finally` runs now.
        void items?.return?.().catch(() => {});
      }
    };

    run()
      .then(async (outcome) => {
        done();
        let error: ConnectError | null = null;
        if (outcome !== null) {
          const mapped = outcome.encoding || !route.error ? outcome.error : route.error(outcome.error);
          error = leanError(mapped);
        }
        await response.end(error);
        if (error !== null && outcome !== null) options.onErrorAnswer?.(context.values, error, outcome);
      })
      .catch(onWriteError)
      .finally(() => {
        res.off("close", onClose);
        shutdown?.removeEventListener("abort", onShutdown);
      });
  };
}

/** The interceptors' view of the request stream: the path reads its one message itself. */
const emptyInput: AsyncIterable<never> = {
  [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve({ done: true, value: undefined }) }),
};
