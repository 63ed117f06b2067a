/**
 * One TCP port for HTTP/1.1 and cleartext HTTP/2 (h2c with prior knowledge), with a graceful drain.
 *
 * Why a hand-made listener: Node's plaintext `http2.createServer({allowHTTP1: true})` does not answer
 * HTTP/1.1 clients (allowHTTP1 needs TLS/ALPN). Connect JSON, gRPC-Web and REST callers speak HTTP/1.1,
 * gRPC needs HTTP/2, and both should reach the same handler on the same port. So a `net.Server` accepts
 * every socket, peeks at its first bytes and hands it to an `http2.Server` when they are the HTTP/2
 * connection preface (`PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`), otherwise to an `http.Server`.
 *
 * Shutdown (`close()`): stop accepting; tell clients on open connections to go away (HTTP/2 GOAWAY via
 * `session.close()`, HTTP/1.1 `Connection: close` on every response not yet started); let in-flight
 * requests finish for up to `shutdownGraceMs`; then destroy whatever is left.
 */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import {
  defaultWireLimits,
  h2ServerOptions,
  limitStreamReadTime,
  refuseWithoutHost,
  type WireLimits,
} from "./limits.js";
import { LiveList } from "./live-list.js";

export type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;
/**
 * Runs `listener` when the response closes, from the server's own close listener: one listener per
 * response instead of one per party (each one more makes Node keep and copy an array of them). Once per
 * response; a second call adds a listener of its own.
 */
export type OnResponseClose = (listener: () => void) => void;
/**
 * A node request listener that works for both HTTP/1.1 and HTTP/2 (compat API); connect-node's fits.
 * `startServer` gives it `onClose`; other servers may not.
 */
export type NodeHandler = (req: NodeRequest, res: NodeResponse, onClose?: OnResponseClose) => void;

/** pino-compatible subset, so the app can pass its logger unchanged; everything is optional. */
export interface WireLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface ServerTimeouts {
  /** Time allowed for a client to send the first bytes of a connection, and HTTP/1.1 request headers. */
  readonly headersTimeoutMs: number;
  /** Time allowed for an HTTP/1.1 client to send a whole request (headers and body). */
  readonly requestTimeoutMs: number;
  /**
   * Idle time before an HTTP/1.1 keep-alive connection or an HTTP/2 session is closed. Longer than the
   * 60 s idle timeout of common load balancers, so the proxy never reuses a connection we just closed.
   */
  readonly idleTimeoutMs: number;
}

export const defaultTimeouts: ServerTimeouts = {
  headersTimeoutMs: defaultWireLimits.headersTimeoutMs,
  requestTimeoutMs: defaultWireLimits.requestTimeoutMs,
  idleTimeoutMs: defaultWireLimits.idleTimeoutMs,
};

export interface StartServerOptions {
  readonly handler: NodeHandler;
  readonly host: string;
  /** 0 picks a free port; read the bound one from `RunningServer.port`. */
  readonly port: number;
  /** How long `close()` lets in-flight requests run before destroying their connections. */
  readonly shutdownGraceMs: number;
  readonly timeouts?: Partial<ServerTimeouts>;
  /** Connections, streams and read time (limits.ts); the timeouts above override theirs. */
  readonly limits?: Partial<WireLimits>;
  readonly logger?: WireLogger;
}

export interface RunningServer {
  /** The port actually bound. */
  readonly port: number;
  /** `http://host:port` (IPv6 hosts bracketed). */
  readonly url: string;
  /** Graceful drain, see the file comment. Idempotent: later calls return the same promise. */
  close(): Promise<void>;
  /** Requests whose response has not finished yet, over both protocols. */
  inFlight(): number;
}

/** The HTTP/2 client connection preface (RFC 9113 §3.4); h2c prior-knowledge clients send it first. */
const h2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** How often the drain loop retries `closeIdleConnections()` while HTTP/1.1 connections finish. */
const drainPollMs = 25;

/** A finished HTTP/2 response with an unread request body: poll for our END_STREAM, then reset. */
const unreadBodyPollMs = 10;
const unreadBodyWaitMs = 5_000;

export function startServer(options: StartServerOptions): Promise<RunningServer> {
  const limits: WireLimits = { ...defaultWireLimits, ...options.limits, ...options.timeouts };
  // Headers are part of the request: their time cannot exceed the whole request's (Node refuses it).
  const timeouts: ServerTimeouts = {
    ...limits,
    headersTimeoutMs: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
  };
  const log = options.logger;
  // Lists, not Sets, for what comes and goes with connections and requests (live-list.ts).
  const sockets = new LiveList<net.Socket>();
  const sessions = new LiveList<http2.ServerHttp2Session>();
  /** HTTP/1.1 responses in progress: on close they get `Connection: close` if their head is unsent. */
  const h1Responses = new LiveList<http.ServerResponse>();
  let inFlight = 0;
  let closing = false;
  let closePromise: Promise<void> | undefined;

  const handle = (req: NodeRequest, res: NodeResponse): void => {
    inFlight++;
    const isH1 = res instanceof http.ServerResponse;
    const inProgress = isH1 ? h1Responses.add(res) : undefined;
    if (isH1) {
      // A request that starts during the drain is served, but its connection ends with it.
      if (closing) res.setHeader("connection", "close");
    }
    let after: (() => void) | undefined;
    // `on`: a response closes once (`once` would wrap the listener on every request).
    res.on("close", () => {
      inFlight--;
      if (inProgress) h1Responses.remove(inProgress);
      after?.();
    });
    const onClose: OnResponseClose = (listener) => {
      if (after === undefined) after = listener;
      else res.on("close", listener);
    };
    if (!isH1) {
      resetUnreadBody(res.stream);
      limitStreamReadTime(res.stream, timeouts.requestTimeoutMs);
    } else if (refuseWithoutHost(req as http.IncomingMessage, res)) {
      return;
    }
    try {
      options.handler(req, res, onClose);
    } catch (err) {
      log?.error({ err }, "request handler threw");
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end("internal error");
      } else {
        res.destroy();
      }
    }
  };

  const h1 = http.createServer(
    {
      headersTimeout: timeouts.headersTimeoutMs,
      requestTimeout: timeouts.requestTimeoutMs,
      keepAliveTimeout: timeouts.idleTimeoutMs,
      maxHeaderSize: limits.maxHeaderBytes,
      // Node enforces the two timeouts above only when it checks its connections, every 30 s by
      // default: a client trickling a body could hold a request up to 30 s past requestTimeout.
      // Check a few times per timeout instead (a cheap walk over open connections).
      connectionsCheckingInterval: Math.max(
        100,
        Math.min(30_000, Math.floor(Math.min(timeouts.headersTimeoutMs, timeouts.requestTimeoutMs) / 4)),
      ),
    },
    handle,
  );
  const h2 = http2.createServer(h2ServerOptions(limits), handle);

  h2.on("session", (session) => {
    const node = sessions.add(session);
    session.once("close", () => sessions.remove(node));
    session.on("error", (err) => log?.warn({ err }, "http2 session error"));
    // Graceful on idle: GOAWAY, and the session ends once its open streams (if any) finish.
    session.setTimeout(timeouts.idleTimeoutMs, () => session.close());
    if (closing) session.close();
  });
  h2.on("sessionError", (err) => log?.warn({ err }, "http2 session error"));

  // Nagle off, as node:http's own server sets it on each socket it accepts: the inner servers never
  // accept (their `noDelay` default never runs), so without this every answer waited on Nagle.
  const outer = net.createServer({ noDelay: true }, (socket) => {
    // Over maxConnections Node closes the socket before this runs (net.Server.maxConnections).
    const node = sockets.add(socket);
    socket.once("close", () => sockets.remove(node));
    sniff(socket, timeouts.headersTimeoutMs, (isH2) => {
      if (isH2) h2.emit("connection", socket);
      else h1.emit("connection", socket);
    });
  });

  const drain = async (): Promise<void> => {
    closing = true;
    // Stops accepting; the callback runs once every accepted socket has closed.
    const allClosed = new Promise<void>((resolve) => outer.close(() => resolve()));
    for (const session of sessions.values()) session.close();
    for (const res of h1Responses.values()) {
      if (!res.headersSent) res.setHeader("connection", "close");
    }
    const poll = setInterval(() => h1.closeIdleConnections(), drainPollMs);
    h1.closeIdleConnections();
    const grace = setTimeout(() => {
      log?.warn({ inFlight, connections: sockets.size }, "shutdown grace period over; closing connections");
      for (const session of sessions.values()) session.destroy();
      for (const socket of sockets.values()) socket.destroy();
    }, options.shutdownGraceMs);
    try {
      await allClosed;
    } finally {
      clearInterval(poll);
      clearTimeout(grace);
      // Neither inner server ever listened; close() just stops the h1 connection-checking timer.
      h1.close();
      h2.close();
    }
  };

  outer.maxConnections = limits.maxConnections;

  return new Promise<RunningServer>((resolve, reject) => {
    outer.once("error", reject);
    outer.listen(options.port, options.host, () => {
      outer.off("error", reject);
      outer.on("error", (err) => log?.error({ err }, "listener error"));
      // The inner http.Server only starts its timeout checks (headers/request timeouts, idle tracking
      // for closeIdleConnections) on 'listening'; it never listens itself, so tell it.
      h1.emit("listening");
      const address = outer.address() as net.AddressInfo;
      const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
      resolve({
        port: address.port,
        url: `http://${host}:${address.port}`,
        close: () => {
          closePromise ??= drain();
          return closePromise;
        },
        inFlight: () => inFlight,
      });
    });
  });
}

/**
 * A response sent before the request body was read (connect-node answers resource_exhausted as soon as
 * a declared length is too big) leaves the HTTP/2 stream half-closed: the client waits for flow-control
 * credit, the server for the end of the body, and the stream (and so a graceful close) hangs forever.
 * (HTTP/1.1 has `req._dump()` for this.) Once our side has been sent completely (`localClose`: a reset
 * racing the trailers makes clients report "premature close"), reset the stream with NO_ERROR, which
 * RFC 9113 §8.1 allows after a complete response.
 */
function resetUnreadBody(stream: http2.ServerHttp2Stream): void {
  stream.once("finish", () => {
    if (stream.destroyed || stream.readableEnded) return;
    const started = Date.now();
    const poll = setInterval(() => {
      if (stream.destroyed) {
        clearInterval(poll);
      } else if (stream.state.localClose || Date.now() - started > unreadBodyWaitMs) {
        clearInterval(poll);
        // No error given: Node sends RST_STREAM(NO_ERROR).
        stream.destroy();
      }
    }, unreadBodyPollMs);
    poll.unref();
  });
}

/**
 * Read just enough of a new socket to tell HTTP/2 prior knowledge from HTTP/1.x, put the bytes back
 * (`unshift`) and hand the socket over. A socket that stays silent past `timeoutMs` is destroyed, so a
 * client cannot hold a connection open without ever starting a request.
 */
function sniff(socket: net.Socket, timeoutMs: number, done: (isH2: boolean) => void): void {
  let seen: Buffer = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  // Until a server owns the socket, a reset must not become an uncaught 'error'; after, theirs handle it.
  const onError = () => socket.destroy();
  const finish = (isH2: boolean) => {
    clearTimeout(timer);
    socket.off("data", onData);
    socket.off("close", onClose);
    socket.off("error", onError);
    socket.pause();
    socket.unshift(seen);
    done(isH2);
    // The HTTP/1.1 parser reads through 'data' events: let the socket (and the put-back bytes) flow.
    // HTTP/2 takes the bytes itself (it reads what is buffered and then consumes the handle).
    if (!isH2) socket.resume();
  };
  const onData = (chunk: Buffer) => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, h2Preface.length);
    if (!seen.subarray(0, n).equals(h2Preface.subarray(0, n))) finish(false);
    else if (seen.length >= h2Preface.length) finish(true);
  };
  const onClose = () => clearTimeout(timer);
  socket.on("data", onData);
  socket.once("close", onClose);
  socket.on("error", onError);
}
