/**
 * The Connect side of call observation: names the method, records the caller and the code the
 * client will see, and logs the cause of an `internal` answer once, at error, with the request id
 * (the client only gets "internal error"; the cause may hold internals). Install it inside the error
 * interceptor and outside authentication, so it sees the raw error and the authenticated caller.
 */
import { Code, type StreamRequest, type UnaryRequest } from "@connectrpc/connect";
import type { Gauge } from "prom-client";
import { toConnectError } from "../wire/errors.js";
import { aroundCall, type CallInterceptor } from "../wire/interceptor.js";
import { principalKey } from "../wire/job-handlers.js";
import { type Call, callKey } from "./call.js";
import { codeLabel } from "./codes.js";

export interface ErrorLogger {
  error(fields: Record<string, unknown>, message: string): void;
}

/**
 * `watches` counts open watch streams and waiting `wait` calls (the rpcs named so), whatever the
 * protocol; the SSE path is counted where it is served.
 */
export function createCallInterceptor(
  logger: ErrorLogger,
  watches?: { readonly streams: Gauge; readonly waiters: Gauge },
): CallInterceptor {
  return (next) => (req) => {
    const gauge =
      req.method.name === "watch"
        ? watches?.streams
        : req.method.name === "wait"
          ? watches?.waiters
          : undefined;
    gauge?.inc();
    const call = req.contextValues.get(callKey);
    if (call) {
      call.service = req.service.typeName;
      call.method = req.method.name;
    }
    return aroundCall(
      next,
      req,
      (res) => {
        if (call) call.principal = req.contextValues.get(principalKey);
        if (!res.stream) {
          if (call) call.code = "ok";
          gauge?.dec();
          return res;
        }
        return { ...res, message: observeStream(res.message, logger, req, call, gauge) };
      },
      (err) => {
        if (call) call.principal = req.contextValues.get(principalKey);
        failed(logger, req, call, err);
        gauge?.dec();
        throw err;
      },
    );
  };
}

/** Records the code the client will see, and logs an internal error's cause once. */
function failed(
  logger: ErrorLogger,
  req: UnaryRequest | StreamRequest,
  call: Call | undefined,
  err: unknown,
) {
  const mapped = toConnectError(err);
  if (call) call.code = codeLabel(mapped.code);
  if (mapped.code === Code.Internal) {
    logger.error(
      { err, request_id: call?.requestId, procedure: `${req.service.typeName}/${req.method.name}` },
      "internal error",
    );
  }
}

/** A server stream's outcome is known only when it ends. */
async function* observeStream<T>(
  messages: AsyncIterable<T>,
  logger: ErrorLogger,
  req: UnaryRequest | StreamRequest,
  call: Call | undefined,
  gauge: Gauge | undefined,
): AsyncIterable<T> {
  try {
    yield* messages;
    if (call) call.code = "ok";
  } catch (err) {
    failed(logger, req, call, err);
    throw err;
  } finally {
    // Also when the client goes away (the generator is returned early); once either way.
    gauge?.dec();
  }
}
