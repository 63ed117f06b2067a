/**
 * Clients that send exactly the bytes a test asks for, which fetch and the Connect clients refuse to:
 * HTTP/1.1 over a raw socket (lying Content-Length, truncated bodies, invalid UTF-8, no content type)
 * and HTTP/2 streams with hand-made gRPC frames. Every call has a deadline and reports what happened
 * (a response, the server closing the connection, or the deadline) instead of throwing, so a test can
 * assert "answered or closed, never hung".
 */
import http2 from "node:http2";
import net from "node:net";

export type RawOutcome =
  | {
      readonly kind: "response";
      readonly status: number;
      readonly headers: Record<string, string>;
      readonly body: Buffer;
    }
  | { readonly kind: "closed"; readonly detail: string }
  | { readonly kind: "timeout" };

export interface RawHttp1Request {
  readonly path: string;
  readonly method?: string;
  readonly headers?: Record<string, string>;
  /** Sent as is. */
  readonly body?: Buffer | string;
  /** Overrides the Content-Length header (default: the body's length; null: no header). */
  readonly contentLength?: number | null;
  /** Half-close the connection right after the body (a truncated body then ends at EOF). */
  readonly endAfterBody?: boolean;
  readonly timeoutMs?: number;
}

/** Parse one HTTP/1.1 response (Content-Length or chunked or until close) from `data`; null if incomplete. */
function parseResponse(data: Buffer, ended: boolean): RawOutcome | null {
  const headEnd = data.indexOf("\r\n\r\n");
  if (headEnd < 0) return null;
  const lines = data.subarray(0, headEnd).toString("latin1").split("\r\n");
  const status = Number((lines[0] ?? "").split(" ")[1]);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let rest = data.subarray(headEnd + 4);
  if (headers["content-length"] !== undefined) {
    const length = Number(headers["content-length"]);
    if (rest.length < length) return null;
    return { kind: "response", status, headers, body: rest.subarray(0, length) };
  }
  if ((headers["transfer-encoding"] ?? "").includes("chunked")) {
    const chunks: Buffer[] = [];
    for (;;) {
      const lineEnd = rest.indexOf("\r\n");
      if (lineEnd < 0) return null;
      const size = Number.parseInt(rest.subarray(0, lineEnd).toString("latin1"), 16);
      if (Number.isNaN(size)) return { kind: "closed", detail: "bad chunk" };
      if (size === 0) return { kind: "response", status, headers, body: Buffer.concat(chunks) };
      if (rest.length < lineEnd + 2 + size + 2) return null;
      chunks.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
      rest = rest.subarray(lineEnd + 2 + size + 2);
    }
  }
  return ended ? { kind: "response", status, headers, body: rest } : null;
}

/** One request on a fresh HTTP/1.1 connection. */
export function rawHttp1(port: number, request: RawHttp1Request): Promise<RawOutcome> {
  const body = request.body === undefined ? Buffer.alloc(0) : Buffer.from(request.body);
  const headers: Record<string, string> = { host: `127.0.0.1:${port}`, ...request.headers };
  const length = request.contentLength === undefined ? body.length : request.contentLength;
  if (length !== null) headers["content-length"] = String(length);
  const head =
    `${request.method ?? "POST"} ${request.path} HTTP/1.1\r\n` +
    Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("") +
    "\r\n";
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let data = Buffer.alloc(0);
    let done = false;
    const finish = (outcome: RawOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ kind: "timeout" }), request.timeoutMs ?? 10_000);
    socket.on("connect", () => {
      socket.write(Buffer.concat([Buffer.from(head, "latin1"), body]));
      if (request.endAfterBody) socket.end();
    });
    socket.on("data", (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const parsed = parseResponse(data, false);
      if (parsed) finish(parsed);
    });
    socket.on("end", () => finish(parseResponse(data, true) ?? { kind: "closed", detail: "eof" }));
    socket.on("error", (err) => finish(parseResponse(data, true) ?? { kind: "closed", detail: err.message }));
    socket.on("close", () => finish(parseResponse(data, true) ?? { kind: "closed", detail: "close" }));
  });
}

export interface H2Outcome {
  readonly kind: "response" | "closed" | "timeout";
  readonly status?: number;
  readonly headers?: Record<string, string>;
  readonly trailers?: Record<string, string>;
  readonly body?: Buffer;
  readonly detail?: string;
}

/** One HTTP/2 (h2c prior knowledge) request with a raw body; gRPC status comes from headers or trailers. */
export function rawHttp2(
  url: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
  timeoutMs = 10_000,
): Promise<H2Outcome> {
  return new Promise((resolve) => {
    const session = http2.connect(url);
    let done = false;
    const finish = (outcome: H2Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      session.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ kind: "timeout" }), timeoutMs);
    session.on("error", (err) => finish({ kind: "closed", detail: err.message }));
    const stream = session.request({ ":method": "POST", ":path": path, ...headers });
    let status = 0;
    let responseHeaders: Record<string, string> = {};
    let trailers: Record<string, string> = {};
    const chunks: Buffer[] = [];
    const flatten = (h: http2.IncomingHttpHeaders) =>
      Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Array.isArray(v) ? v.join(",") : String(v)]));
    stream.on("response", (h) => {
      status = Number(h[":status"]);
      responseHeaders = flatten(h);
    });
    stream.on("trailers", (t) => {
      trailers = flatten(t);
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () =>
      finish({ kind: "response", status, headers: responseHeaders, trailers, body: Buffer.concat(chunks) }),
    );
    stream.on("error", (err) =>
      finish(
        status
          ? { kind: "response", status, headers: responseHeaders, trailers, body: Buffer.concat(chunks) }
          : { kind: "closed", detail: err.message },
      ),
    );
    stream.on("close", () =>
      finish(
        status
          ? { kind: "response", status, headers: responseHeaders, trailers, body: Buffer.concat(chunks) }
          : { kind: "closed", detail: `rst ${stream.rstCode}` },
      ),
    );
    stream.end(body);
  });
}

/** A gRPC length-prefixed message: flag byte, big-endian length (default: the payload's), payload. */
export function grpcFrame(
  payload: Buffer,
  options: { compressed?: boolean; declaredLength?: number } = {},
): Buffer {
  const head = Buffer.alloc(5);
  head[0] = options.compressed ? 1 : 0;
  head.writeUInt32BE(options.declaredLength ?? payload.length, 1);
  return Buffer.concat([head, payload]);
}
