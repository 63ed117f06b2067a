/**
 * A HandlerContext without connect-node's per-call machinery. connect-node builds, for every call, a
 * deadline signal, an AbortController linked to the request's and the shutdown signal, and aborts it at
 * the end of the call (which allocates a DOMException): about a fifth of a `get`'s CPU (docs/benchmarks.md).
 * The lean path serves only calls without a deadline header, runs them to completion, and gives handlers
 * the server's shutdown signal as theirs: what a unary handler can observe is the same.
 */
import type { DescMethod } from "@bufbuild/protobuf";
import { createContextValues, type HandlerContext } from "@connectrpc/connect";

/** A signal that never aborts, for servers created without a shutdown signal. */
const never = new AbortController().signal;

const noTimeout = () => undefined;

export function leanContext(init: {
  method: DescMethod;
  protocolName: "connect" | "grpc";
  url: string;
  requestHeader: Headers;
  responseHeader: Headers;
  responseTrailer: Headers;
  shutdownSignal: AbortSignal | undefined;
}): HandlerContext {
  return {
    method: init.method,
    service: init.method.parent,
    requestMethod: "POST",
    protocolName: init.protocolName,
    url: init.url,
    signal: init.shutdownSignal ?? never,
    timeoutMs: noTimeout,
    requestHeader: init.requestHeader,
    responseHeader: init.responseHeader,
    responseTrailer: init.responseTrailer,
    values: createContextValues(),
  };
}

/** Node's incoming headers as fetch Headers (what interceptors read), without HTTP/2 pseudo-headers. */
export function webHeaders(nodeHeaders: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const key in nodeHeaders) {
    if (key.charCodeAt(0) === 58 /* ":" */) continue;
    const value = nodeHeaders[key];
    if (value === undefined) continue;
    if (typeof value === "string") headers.append(key, value);
    else for (const v of value) headers.append(key, v);
  }
  return headers;
}

/** fetch Headers as a node header object (sorted, lower-case: the order connect-node writes them in). */
export function nodeHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, key) => {
    out[key] = value;
  });
  return out;
}
