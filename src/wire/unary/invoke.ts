/**
 * A unary call through the interceptors to its implementation, as connect's `invokeUnaryImplementation`
 * runs it (the same request and response objects, the same `create` of the answer, the same header copy
 * back), with the interceptor chain built once per method instead of once per call. connect's builds,
 * per call, a closure per interceptor, the request and response by `Object.assign` and a merged copy of
 * the handler context; together with `fromJson` of the request, about a tenth of a `get`'s own code
 * (docs/benchmarks.md, "get JSON ... third pass").
 *
 * The chain's innermost function finds the call's context on the request it is given (a symbol-keyed
 * property, which an interceptor that spreads the request keeps). The handler gets that context itself
 * when the interceptors passed the request's header, signal, values and service through unchanged (ours
 * do), else a copy with theirs, as connect's `mergeRequest` makes it.
 *
 * Nothing here is an async function: an implementation that answers at once (a `get` read at once from
 * SQLite) is answered at once through the interceptors (interceptor.ts), without a promise per layer.
 */
import { create, type Message } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type HandlerContext,
  type MethodImplSpec,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { type MaybePromise, whenReady } from "../../maybe-promise.js";
import type { CallInterceptor, CallNext, CallResponse } from "../interceptor.js";

type UnarySpec = Extract<MethodImplSpec, { kind: "unary" }>;

/**
 * Run one call: the answer message (at once, or a promise), or what the interceptors or the
 * implementation threw (thrown, or the promise rejected).
 */
export type UnaryInvoker = (context: HandlerContext, input: Message) => MaybePromise<Message>;

const callContext = Symbol("the call's handler context");

/** The request as the invoker builds it: the call's context under a symbol, for the implementation wrapper. */
type RequestWithContext = UnaryRequest & { readonly [callContext]?: HandlerContext };

export function unaryInvoker(spec: UnarySpec, interceptors: readonly CallInterceptor[]): UnaryInvoker {
  const method = spec.method;
  const service = method.parent;
  const answer = (output: unknown, context: HandlerContext): UnaryResponse => ({
    stream: false,
    message: create(method.output, output as never),
    method,
    service,
    header: context.responseHeader,
    trailer: context.responseTrailer,
  });
  const implementation = (req: RequestWithContext): MaybePromise<UnaryResponse> => {
    const context = req[callContext];
    if (context === undefined) {
      throw new ConnectError("an interceptor dropped the call's context from the request", Code.Internal);
    }
    const handlerContext =
      req.header === context.requestHeader &&
      req.signal === context.signal &&
      req.contextValues === context.values &&
      req.service === context.service
        ? context
        : {
            ...context,
            service: req.service,
            requestHeader: req.header,
            signal: req.signal,
            values: req.contextValues,
          };
    const output = spec.impl(req.message as never, handlerContext);
    return output instanceof Promise
      ? output.then((resolved) => answer(resolved, context))
      : answer(output, context);
  };
  // connect's applyInterceptors: the first interceptor is the outermost.
  const next = interceptors.reduceRight<CallNext>(
    (inner, interceptor) => interceptor(inner),
    implementation as CallNext,
  );
  const finish = (res: CallResponse, context: HandlerContext): Message => {
    copyHeaders(res.header, context.responseHeader);
    copyHeaders(res.trailer, context.responseTrailer);
    return res.message as Message;
  };
  return (context, input) => {
    const req: RequestWithContext = {
      stream: false,
      message: input,
      method,
      requestMethod: context.requestMethod,
      url: context.url,
      signal: context.signal,
      header: context.requestHeader,
      service,
      contextValues: context.values,
      [callContext]: context,
    };
    return whenReady(next(req), (res) => finish(res, context));
  };
}

/** connect's own copy of an interceptor's answer headers into the call's (none when they are the call's). */
function copyHeaders(from: Headers, to: Headers): void {
  if (from === to) return;
  to.forEach((_, key) => {
    to.delete(key);
  });
  from.forEach((value, key) => {
    to.set(key, value);
  });
}
