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
 */
import { create, type Message } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type HandlerContext,
  type Interceptor,
  type MethodImplSpec,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";

type UnarySpec = Extract<MethodImplSpec, { kind: "unary" }>;

/** Run one call: the answer message, or what the interceptors or the implementation threw. */
export type UnaryInvoker = (context: HandlerContext, input: Message) => Promise<Message>;

const callContext = Symbol("the call's handler context");

type CallRequest = UnaryRequest & { readonly [callContext]?: HandlerContext };

export function unaryInvoker(spec: UnarySpec, interceptors: readonly Interceptor[]): UnaryInvoker {
  const method = spec.method;
  const service = method.parent;
  const implementation = async (req: CallRequest): Promise<UnaryResponse> => {
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
    const output = await spec.impl(req.message as never, handlerContext);
    return {
      stream: false,
      message: create(method.output, output as never),
      method,
      service,
      header: context.responseHeader,
      trailer: context.responseTrailer,
    };
  };
  // connect's applyInterceptors: the first interceptor is the outermost.
  type UnaryFn = (req: UnaryRequest) => Promise<UnaryResponse>;
  const next = interceptors.reduceRight<UnaryFn>(
    (inner, interceptor) => interceptor(inner as never) as unknown as UnaryFn,
    implementation as UnaryFn,
  );
  return async (context, input) => {
    const req: CallRequest = {
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
    const res = await next(req);
    copyHeaders(res.header, context.responseHeader);
    copyHeaders(res.trailer, context.responseTrailer);
    return res.message as Message;
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
