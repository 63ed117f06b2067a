/**
 * Undecodable request messages are the client's fault: `invalid_argument`, not `internal`.
 *
 * connect-node answers a protobuf body it cannot parse (`parse binary: ...`, including a gRPC frame
 * whose length prefix promises more bytes than arrive) and a compressed gRPC frame without a
 * `grpc-encoding` (`received compressed envelope, but do not know how to decompress`) with INTERNAL.
 * Its JSON decoder already says INVALID_ARGUMENT for the same fault; connect-go does too. These
 * failures happen before any interceptor runs, so the only place to correct them is the response: this
 * rewrites the status of exactly those errors on the three protocols that carry binary messages
 * (gRPC headers/trailers, gRPC-Web trailer frames, Connect unary error bodies) and leaves every other
 * response untouched.
 */
import type { NodeResponse } from "./server.js";

/** connect-node's messages for a request it could not decode (never produced for a server fault). */
const DECODE_FAILURE = /^(?:parse binary: |received compressed envelope, but do not know how to decompress)/;

const GRPC_INTERNAL = "13";
const GRPC_INVALID_ARGUMENT = "3";

function decoded(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

type Headers = Record<string, unknown>;

/** gRPC status headers/trailers: 13 + a decode failure -> 3. */
function fixGrpcHeaders(headers: unknown): unknown {
  if (typeof headers !== "object" || headers === null || Array.isArray(headers)) return headers;
  const record = headers as Headers;
  const statusKey = Object.keys(record).find((k) => k.toLowerCase() === "grpc-status");
  const messageKey = Object.keys(record).find((k) => k.toLowerCase() === "grpc-message");
  if (statusKey === undefined || messageKey === undefined) return headers;
  const message = record[messageKey];
  if (String(record[statusKey]) !== GRPC_INTERNAL || typeof message !== "string") return headers;
  if (!DECODE_FAILURE.test(decoded(message))) return headers;
  return { ...record, [statusKey]: GRPC_INVALID_ARGUMENT };
}

interface Hookable {
  writeHead: (...args: unknown[]) => unknown;
  addTrailers: (...args: unknown[]) => unknown;
  write: (...args: unknown[]) => unknown;
  end: (...args: unknown[]) => unknown;
}

function hookGrpc(res: Hookable): void {
  const { writeHead, addTrailers } = res;
  res.writeHead = function (this: unknown, ...args: unknown[]) {
    const i = typeof args[1] === "string" ? 2 : 1;
    args[i] = fixGrpcHeaders(args[i]);
    return writeHead.apply(this, args);
  };
  res.addTrailers = function (this: unknown, ...args: unknown[]) {
    args[0] = fixGrpcHeaders(args[0]);
    return addTrailers.apply(this, args);
  };
}

/** gRPC-Web: the status travels in a trailer frame (flag 0x80) at the end of the body. */
function fixGrpcWebFrame(chunk: unknown): unknown {
  if (!(chunk instanceof Uint8Array) || chunk.length < 5 || chunk[0] !== 0x80) return chunk;
  const text = Buffer.from(chunk.subarray(5)).toString("latin1");
  const status = /^grpc-status:\s*(\d+)\s*$/im.exec(text)?.[1];
  const message = /^grpc-message:\s*(.*?)\s*$/im.exec(text)?.[1];
  if (status !== GRPC_INTERNAL || message === undefined || !DECODE_FAILURE.test(decoded(message)))
    return chunk;
  const fixed = Buffer.from(
    text.replace(/^grpc-status:\s*13/im, `grpc-status: ${GRPC_INVALID_ARGUMENT}`),
    "latin1",
  );
  const head = Buffer.alloc(5);
  head[0] = 0x80;
  head.writeUInt32BE(fixed.length, 1);
  return Buffer.concat([head, fixed]);
}

function hookGrpcWeb(res: Hookable): void {
  const { writeHead, write, end } = res;
  res.writeHead = function (this: unknown, ...args: unknown[]) {
    // The trailer frame may change length; let the transfer be chunked rather than lie.
    const i = typeof args[1] === "string" ? 2 : 1;
    const headers = args[i];
    if (typeof headers === "object" && headers !== null && !Array.isArray(headers)) {
      args[i] = Object.fromEntries(
        Object.entries(headers).filter(([k]) => k.toLowerCase() !== "content-length"),
      );
    }
    return writeHead.apply(this, args);
  };
  res.write = function (this: unknown, ...args: unknown[]) {
    args[0] = fixGrpcWebFrame(args[0]);
    return write.apply(this, args);
  };
  res.end = function (this: unknown, ...args: unknown[]) {
    if (args[0] !== undefined && typeof args[0] !== "function") args[0] = fixGrpcWebFrame(args[0]);
    return end.apply(this, args);
  };
}

/** Connect unary: a 500 with a JSON `{code: "internal", message: "parse binary: ..."}` body -> 400. */
function hookConnectUnary(res: Hookable): void {
  const { writeHead, write, end } = res;
  let held: { args: unknown[]; chunks: Buffer[] } | null = null;
  res.writeHead = function (this: unknown, ...args: unknown[]) {
    // connect-node calls writeHead again when `headersSent` is still false: already held, no-op.
    if (held) return res;
    const i = typeof args[1] === "string" ? 2 : 1;
    const headers = (args[i] ?? {}) as Headers;
    const encoded = Object.keys(headers).some((k) => k.toLowerCase() === "content-encoding");
    if (args[0] !== 500 || encoded) return writeHead.apply(this, args);
    held = { args, chunks: [] };
    return res;
  };
  res.write = function (this: unknown, ...args: unknown[]) {
    if (!held || !(args[0] instanceof Uint8Array || typeof args[0] === "string"))
      return write.apply(this, args);
    held.chunks.push(Buffer.from(args[0] as Uint8Array));
    const callback = args.find((a) => typeof a === "function") as (() => void) | undefined;
    if (callback) process.nextTick(callback);
    return true;
  };
  res.end = function (this: unknown, ...args: unknown[]) {
    if (!held) return end.apply(this, args);
    if (args[0] instanceof Uint8Array || typeof args[0] === "string")
      held.chunks.push(Buffer.from(args[0] as Uint8Array));
    let body = Buffer.concat(held.chunks);
    const headArgs = held.args;
    held = null;
    try {
      const json = JSON.parse(body.toString("utf8")) as { code?: unknown; message?: unknown };
      if (json.code === "internal" && typeof json.message === "string" && DECODE_FAILURE.test(json.message)) {
        body = Buffer.from(JSON.stringify({ ...json, code: "invalid_argument" }));
        headArgs[0] = 400;
      }
    } catch {
      // not a Connect error body: send it as it was
    }
    const i = typeof headArgs[1] === "string" ? 2 : 1;
    const headers = { ...((headArgs[i] as Headers | undefined) ?? {}) };
    for (const key of Object.keys(headers)) if (key.toLowerCase() === "content-length") delete headers[key];
    headers["content-length"] = String(body.length);
    headArgs[i] = headers;
    writeHead.apply(res, headArgs);
    const callback = args.find((a) => typeof a === "function");
    return callback ? end.call(res, body, callback) : end.call(res, body);
  };
}

/** Install the rewrite that fits the request's protocol (by content type); other requests are untouched. */
export function remapDecodeErrors(contentType: string, res: NodeResponse): void {
  const type = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  const target = res as unknown as Hookable;
  if (type.startsWith("application/grpc-web")) hookGrpcWeb(target);
  else if (type.startsWith("application/grpc")) hookGrpc(target);
  else if (type === "application/proto") hookConnectUnary(target);
}
