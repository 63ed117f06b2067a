/**
 * Bounds on connections and streams, on both HTTP versions (docs/limits.md):
 * - connections: the listener refuses (closes at once) sockets over `maxConnections`;
 * - HTTP/2: concurrent streams per session and session memory (nghttp2 refuses streams over them
 *   with REFUSED_STREAM / ENHANCE_YOUR_CALM), header list size;
 * - read time: a request must arrive whole (headers and body) within `requestTimeoutMs`. HTTP/1.1
 *   has this from Node (`requestTimeout`); for an HTTP/2 stream nothing in Node ends it, so a stream
 *   whose body has not ended in time is reset here (RST_STREAM CANCEL). The session's idle timeout
 *   alone only sends GOAWAY, and a session with stalled streams would otherwise live for ever;
 * - HTTP/1.0 without `Host`: a 400 before any handler runs (Node requires Host only from HTTP/1.1).
 */
import type http from "node:http";
import http2 from "node:http2";

export interface WireLimits {
  readonly maxConnections: number;
  readonly h2MaxConcurrentStreams: number;
  readonly h2MaxSessionMemoryMb: number;
  readonly maxHeaderBytes: number;
  readonly headersTimeoutMs: number;
  /** Whole request (headers and body) per HTTP/1.1 request and per HTTP/2 stream. */
  readonly requestTimeoutMs: number;
  readonly idleTimeoutMs: number;
}

export const defaultWireLimits: WireLimits = {
  maxConnections: 1024,
  h2MaxConcurrentStreams: 100,
  h2MaxSessionMemoryMb: 10,
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 65_000,
};

/** Options of the HTTP/2 server that carry the limits. */
export function h2ServerOptions(limits: WireLimits): http2.ServerOptions {
  return {
    maxSessionMemory: limits.h2MaxSessionMemoryMb,
    settings: {
      maxConcurrentStreams: limits.h2MaxConcurrentStreams,
      maxHeaderListSize: limits.maxHeaderBytes,
    },
  };
}

/**
 * Reset an HTTP/2 stream whose request has not been received whole within `timeoutMs`. The check
 * reads nghttp2's own state (`remoteClose`: the client sent END_STREAM), so it does not depend on
 * whether the handler reads the body.
 */
export function limitStreamReadTime(stream: http2.ServerHttp2Stream, timeoutMs: number): void {
  if (stream.destroyed || stream.state.remoteClose) return;
  const timer = setTimeout(() => {
    if (stream.destroyed || stream.closed || stream.state.remoteClose) return;
    stream.close(http2.constants.NGHTTP2_CANCEL);
  }, timeoutMs);
  timer.unref();
  stream.once("close", () => clearTimeout(timer));
}

/**
 * HTTP/1.0 allows a request without `Host`, but URL building in the handlers needs one: answer 400
 * here (a client error, so nothing is logged). Returns true when the request was answered.
 */
export function refuseWithoutHost(req: http.IncomingMessage, res: http.ServerResponse): boolean {
  if (req.headers.host !== undefined && req.headers.host !== "") return false;
  const body = JSON.stringify({
    detail: { code: "ERROR_INVALID_PARAMETER", message: "a Host header is required" },
  });
  res.writeHead(400, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    connection: "close",
  });
  res.end(body);
  return true;
}
