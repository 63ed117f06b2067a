/**
 * HTTP/1.1 over a raw socket, sending exactly the bytes a test asks for, which fetch, `node:http` and
 * the Connect clients refuse to (lying Content-Length, truncated bodies, invalid UTF-8, no content
 * type). HTTP/2 and ordinary HTTP/1.1 requests are in http-client.ts. Every call has a deadline and reports what happened
 * (a response, the server closing the connection, or the deadline) instead of throwing, so a test can
 * assert "answered or closed, never hung".
 */
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
