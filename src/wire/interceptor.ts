/**
 * The server's interceptors as they are written: a call below them that answered at once is answered
 * at once above them too (a value, or a throw), and one that answers later is a promise, as connect's
 * own `Interceptor` always is. The unary path (unary/invoke.ts) chains them as they are, so a `get` read
 * at once from SQLite takes no promise and no turn of the microtask queue per interceptor
 * (maybe-promise.ts); connect's router and the stream path get each one wrapped as connect's
 * `Interceptor` (`connectInterceptor`), which turns an answer given at once into a promise.
 */
import type {
  Interceptor,
  StreamRequest,
  StreamResponse,
  UnaryRequest,
  UnaryResponse,
} from "@connectrpc/connect";
import type { MaybePromise } from "../maybe-promise.js";

export type CallRequest = UnaryRequest | StreamRequest;
export type CallResponse = UnaryResponse | StreamResponse;
export type CallNext = (req: CallRequest) => MaybePromise<CallResponse>;
export type CallInterceptor = (next: CallNext) => CallNext;

/** `interceptor` with connect's contract: always a promise. */
export function connectInterceptor(interceptor: CallInterceptor): Interceptor {
  return (next) => {
    const call = interceptor(next);
    return async (req) => call(req);
  };
}

/**
 * `next(req)`, then `onAnswer` of its answer and `onError` of what it threw or rejected with; at once
 * when `next` answered at once. `onError` throws (the error to pass on, mapped or as it was).
 */
export function aroundCall(
  next: CallNext,
  req: CallRequest,
  onAnswer: (res: CallResponse) => CallResponse,
  onError: (err: unknown) => never,
): MaybePromise<CallResponse> {
  let answer: MaybePromise<CallResponse>;
  try {
    answer = next(req);
  } catch (err) {
    onError(err);
  }
  return answer instanceof Promise ? answer.then(onAnswer, onError) : onAnswer(answer);
}
