/**
 * The one HTTP client of the tests and the benchmark (bench/ imports it too): one HTTP/2 exchange on a
 * session, fresh-session and keep-alive HTTP/1.1 requests through `node:http`, and the gRPC frame.
 *
 * Why not fetch or a Connect client: tests must send bytes those refuse to (hand-made gRPC frames, wrong
 * content types) and see the answer exactly as sent (no transparent decompression, trailers kept), and the
 * load generators need a cheap per-request primitive. Every exchange resolves with what happened (a
 * response, the stream or session closing, the deadline) instead of throwing, so a test can assert
 * "answered or closed, never hung". Raw socket HTTP/1.1 (lying Content-Length, truncated bodies) stays in
 * raw-http.ts.
 */
import http from "node:http";
import http2 from "node:http2";

export type Headers = Record<string, string>;

export interface H2Outcome {
  readonly kind: "response" | "closed" | "timeout";
  /** `:status`, 0 when no response headers arrived. */
  readonly status: number;
  readonly headers: Headers;
  readonly trailers: Headers;
  readonly body: Buffer;
  /** Why the stream ended without a complete response (error message or RST code). */
  readonly detail?: string;
}

export interface H2Request {
  readonly path: string;
  /** Default POST. */
  readonly method?: string;
  readonly headers?: Headers;
  readonly body?: Uint8Array | string;
  /** Default 10 s; 0 for none. */
  readonly timeoutMs?: number;
}

function flatten(h: http2.IncomingHttpHeaders): Headers {
  const out: Headers = {};
  for (const [k, v] of Object.entries(h)) {
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(",") : String(v);
  }
  return out;
}

/**
 * One request on an open session. A stream that ends after its response headers counts as a response
 * (an RST after a complete gRPC trailers block is normal); one that never got headers is "closed".
 */
export function h2Exchange(session: http2.ClientHttp2Session, request: H2Request): Promise<H2Outcome> {
  return new Promise((resolve) => {
    let status = 0;
    let headers: Headers = {};
    let trailers: Headers = {};
    const chunks: Buffer[] = [];
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (kind: H2Outcome["kind"], detail?: string) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      const body = Buffer.concat(chunks);
      if (kind !== "timeout" && status !== 0) resolve({ kind: "response", status, headers, trailers, body });
      else resolve({ kind, status, headers, trailers, body, ...(detail === undefined ? {} : { detail }) });
    };
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request({
        ":method": request.method ?? "POST",
        ":path": request.path,
        ...request.headers,
      });
    } catch (error) {
      finish("closed", (error as Error).message);
      return;
    }
    const timeoutMs = request.timeoutMs ?? 10_000;
    if (timeoutMs > 0) {
      timer = setTimeout(() => {
        finish("timeout");
        stream.close(http2.constants.NGHTTP2_CANCEL);
      }, timeoutMs);
    }
    stream.on("response", (h) => {
      status = Number(h[":status"]);
      headers = flatten(h);
    });
    stream.on("trailers", (t) => {
      trailers = flatten(t);
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => finish("response"));
    stream.on("error", (err) => finish("closed", err.message));
    stream.on("close", () => finish("closed", `rst ${stream.rstCode}`));
    if (request.body === undefined) stream.end();
    else stream.end(typeof request.body === "string" ? request.body : Buffer.from(request.body));
  });
}

/** Open an h2c (prior knowledge) session and wait until it is connected. */
export function h2Connect(origin: string): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(origin, { settings: { enablePush: false } });
    session.once("connect", () => {
      session.off("error", reject);
      session.on("error", () => {});
      resolve(session);
    });
    session.once("error", reject);
  });
}

/** One request on a fresh h2c session (closed afterwards); a session error is a "closed" outcome. */
export function http2Request(origin: string, request: H2Request): Promise<H2Outcome> {
  return new Promise((resolve) => {
    const session = http2.connect(origin);
    let settled = false;
    const settle = (outcome: H2Outcome) => {
      if (settled) return;
      settled = true;
      session.destroy();
      resolve(outcome);
    };
    session.on("error", (err) =>
      settle({
        kind: "closed",
        status: 0,
        headers: {},
        trailers: {},
        body: Buffer.alloc(0),
        detail: err.message,
      }),
    );
    h2Exchange(session, request).then(settle);
  });
}

/** grpc-status and the decoded grpc-message: from the trailers, or the headers of a trailers-only answer. */
export function grpcStatusOf(r: { headers: Headers; trailers: Headers }): {
  status: string | undefined;
  message: string;
} {
  const status = r.trailers["grpc-status"] ?? r.headers["grpc-status"];
  const message = r.trailers["grpc-message"] ?? r.headers["grpc-message"];
  if (message === undefined) return { status, message: "" };
  try {
    return { status, message: decodeURIComponent(message) };
  } catch {
    return { status, message };
  }
}

/** A gRPC length-prefixed message: flag byte, big-endian length (default: the payload's), payload. */
export function grpcFrame(
  payload: Uint8Array,
  options: { compressed?: boolean; declaredLength?: number } = {},
): Buffer {
  const head = Buffer.alloc(5);
  head[0] = options.compressed ? 1 : 0;
  head.writeUInt32BE(options.declaredLength ?? payload.length, 1);
  return Buffer.concat([head, payload]);
}

export interface H1Response {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A keep-alive agent with one socket: sequential requests reuse one connection. */
export function keepAliveAgent(): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: 1 });
}

/** A POST through `node:http` (the answer's bytes as sent); with `agent`, over its kept-alive socket. */
export function h1Post(
  url: string,
  headers: Headers,
  body: string | Uint8Array,
  agent?: http.Agent,
  timeoutMs = 120_000,
): Promise<H1Response> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: "POST",
        headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
        agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout: POST ${url}`)));
    req.end(body);
  });
}
