/**
 * A HandlerContext without connect-node's per-call machinery. connect-node builds, for every call, a
 * deadline signal, an AbortController linked to the request's and the shutdown signal, and aborts it at
 * the end of the call (which allocates a DOMException): about a fifth of a `get`'s CPU (docs/benchmarks.md).
 * Here a call without a deadline gets the server's shutdown signal as its own (nothing is allocated); a
 * call with one (`connect-timeout-ms`, `grpc-timeout`) gets a signal that aborts with connect's
 * `deadline_exceeded` error when it passes, which the store's reads watch (readOptions in
 * job-handlers.ts), so a read still running then is stopped. Calls run to completion either way.
 */
import type { DescMethod } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextValues,
  createContextValues,
  type HandlerContext,
} from "@connectrpc/connect";
import { acceptsSelfEncodedKey } from "./self-encoded.js";

/** A signal that never aborts, for servers created without a shutdown signal. */
const never = new AbortController().signal;

const noTimeout = () => undefined;

export interface LeanContext {
  readonly context: HandlerContext;
  /** Stop the deadline timer; call once the answer is encoded. */
  readonly done: () => void;
}

const nothingToDo = () => {};

export function leanContext(init: {
  method: DescMethod;
  protocolName: "connect" | "grpc" | "grpc-web";
  url: string;
  requestHeader: Headers;
  responseHeader: Headers;
  responseTrailer: Headers;
  shutdownSignal: AbortSignal | undefined;
  /** The call's deadline from its header (already bounded by the server's maximum), if any. */
  timeoutMs: number | undefined;
  /** The server's per-call values (the observability `Call`), as connect-node's `contextValues` gives. */
  values: ContextValues | undefined;
}): LeanContext {
  const values = init.values ?? createContextValues();
  values.set(acceptsSelfEncodedKey, true);
  const deadline =
    init.timeoutMs === undefined ? undefined : deadlineSignal(init.timeoutMs, init.shutdownSignal);
  return {
    context: {
      method: init.method,
      service: init.method.parent,
      requestMethod: "POST",
      protocolName: init.protocolName,
      url: init.url,
      signal: deadline?.signal ?? init.shutdownSignal ?? never,
      timeoutMs: deadline?.timeoutMs ?? noTimeout,
      requestHeader: init.requestHeader,
      responseHeader: init.responseHeader,
      responseTrailer: init.responseTrailer,
      values,
    },
    done: deadline?.done ?? nothingToDo,
  };
}

/** Aborts at the deadline (with connect's own error) or at shutdown, whichever comes first. */
function deadlineSignal(timeoutMs: number, shutdown: AbortSignal | undefined) {
  const controller = new AbortController();
  const at = Date.now() + timeoutMs;
  const expire = () => controller.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
  const timer = timeoutMs <= 0 ? undefined : setTimeout(expire, timeoutMs);
  if (timer === undefined) expire();
  const onShutdown = () => controller.abort(shutdown?.reason);
  if (shutdown?.aborted) onShutdown();
  else shutdown?.addEventListener("abort", onShutdown, { once: true });
  return {
    signal: controller.signal,
    timeoutMs: () => at - Date.now(),
    done: () => {
      clearTimeout(timer);
      shutdown?.removeEventListener("abort", onShutdown);
    },
  };
}

/** fetch Headers as a node header object (sorted, lower-case: the order connect-node writes them in). */
export function nodeHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, key) => {
    out[key] = value;
  });
  return out;
}
