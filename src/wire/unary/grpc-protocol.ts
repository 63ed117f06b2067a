/**
 * gRPC unary over HTTP/2 and gRPC-Web unary over HTTP/1.1 and HTTP/2: which requests the lean path takes,
 * and the answer it writes as connect-node's handlers (protocol-grpc and protocol-grpc-web
 * handler-factory) do. gRPC: response headers, one envelope, then trailers with the status; an error is
 * headers and trailers without a message. `grpc-message` uses gRPC's minimal percent-encoding, so grpc-js
 * clients read SpaceONE details intact (see `minimalPercentEncode`). gRPC-Web: the same, with the
 * trailers as the body's last envelope (flag 0x80). Request compression (`grpc-encoding`), response
 * compression (`grpc-accept-encoding`) and deadlines (`grpc-timeout`, bounded by the server's maximum)
 * are negotiated with connect's own helpers.
 */

import type http2 from "node:http2";
import type { Http2ServerResponse } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  compressionNegotiate,
  createAsyncIterable,
  envelopeCompress,
  pipe,
  transformDecompressEnvelope,
  transformParseEnvelope,
  transformSplitEnvelope,
} from "@connectrpc/connect/protocol";
import {
  contentTypeJson as grpcJson,
  contentTypeProto as grpcProto,
  parseContentType as parseGrpc,
  parseTimeout,
  setTrailerStatus,
} from "@connectrpc/connect/protocol-grpc";
import {
  parseContentType as parseGrpcWeb,
  trailerFlag,
  trailerSerialize,
  contentTypeJson as webJson,
  contentTypeProto as webProto,
} from "@connectrpc/connect/protocol-grpc-web";
import { minimalPercentEncode } from "../errors.js";
import type { NodeRequest, NodeResponse } from "../server.js";
import { nodeHeaders } from "./context.js";
import { leanError } from "./errors.js";
import type { Outcome } from "./handler.js";
import { deliver, type InputSink } from "./input-sink.js";
import type { HandlerOptions, UnaryMethod } from "./methods.js";

export interface GrpcAdmission {
  readonly web: boolean;
  readonly binary: boolean;
  readonly contentType: string;
  readonly compression: ReturnType<typeof compressionNegotiate>;
  readonly timeout: ReturnType<typeof parseTimeout>;
}

/**
 * A gRPC call over HTTP/2 or a gRPC-Web call (not its base64 `-text` variant, which connect-node does
 * not serve either), with a declared length (if any) within one maximal envelope; else null.
 */
export function admitGrpc(req: NodeRequest, opt: HandlerOptions): GrpcAdmission | null {
  const h = req.headers;
  const contentType = h["content-type"] ?? null;
  const webType = parseGrpcWeb(contentType);
  const web = webType !== undefined;
  if (web && webType.text) return null;
  const type = web ? webType : parseGrpc(contentType);
  if (type === undefined || (!web && req.httpVersionMajor !== 2)) return null;
  const length = h["content-length"];
  if (length !== undefined && !(Number(length) <= opt.readMaxBytes + 5)) return null;
  const accepted = h["grpc-accept-encoding"];
  const encoding = h["grpc-encoding"];
  const timeout = h["grpc-timeout"];
  return {
    web,
    binary: type.binary,
    contentType: web ? (type.binary ? webProto : webJson) : type.binary ? grpcProto : grpcJson,
    compression: negotiate(
      opt,
      typeof encoding === "string" ? encoding : null,
      typeof accepted === "string" ? accepted : null,
    ),
    timeout: typeof timeout === "string" ? parseTimeout(timeout, opt.maxTimeoutMs) : NO_TIMEOUT,
  };
}

/** connect's `parseTimeout` of an absent header: no deadline (one object for every such call). */
const NO_TIMEOUT: GrpcAdmission["timeout"] = Object.freeze({});

interface Negotiated {
  requested: string | null;
  accepted: string | null;
  result: GrpcAdmission["compression"];
}

/** Per server options, the last negotiation that succeeded. */
const lastNegotiated = new WeakMap<HandlerOptions, Negotiated>();

/**
 * connect's `compressionNegotiate` for these headers. A client sends the same two values on every
 * call (grpc-js: `grpc-accept-encoding: identity,deflate,gzip`), which connect splits and looks up
 * each time: the last successful result is kept (it is never changed) and given again for the same
 * values. A failure is negotiated anew, so each failed call has its own error.
 */
function negotiate(
  opt: HandlerOptions,
  requested: string | null,
  accepted: string | null,
): GrpcAdmission["compression"] {
  const last = lastNegotiated.get(opt);
  if (last !== undefined && last.requested === requested && last.accepted === accepted) return last.result;
  const result = compressionNegotiate(opt.acceptCompression, requested, accepted, "Grpc-Accept-Encoding");
  if (result.error === undefined) lastNegotiated.set(opt, { requested, accepted, result });
  return result;
}

const EMPTY = new Uint8Array(0);

/**
 * Collect the body, at most `cap` bytes (a body past one maximal envelope is cut there), to `done`
 * once: the body at its end, or the stream's error.
 */
function collect(
  req: NodeRequest,
  cap: number,
  done: (body: Uint8Array | undefined, error?: unknown) => void,
): void {
  // A unary request is nearly always one chunk: that chunk is the body, not a copy of it.
  let first: Buffer | undefined;
  let chunks: Buffer[] | undefined;
  let size = 0;
  let settled = false;
  req.on("data", (chunk: Buffer) => {
    if (size >= cap) return;
    if (first === undefined) first = chunk;
    else if (chunks === undefined) chunks = [first, chunk];
    else chunks.push(chunk);
    size += chunk.length;
  });
  // `on`, not `once`: each is acted on at most once (`settled`), and `once` wraps each listener.
  req.on("end", () => {
    if (settled) return;
    settled = true;
    done(chunks ? Buffer.concat(chunks) : (first ?? EMPTY));
  });
  req.on("error", (error) => {
    if (settled) return;
    settled = true;
    done(undefined, error);
  });
}

/**
 * The one request message, with connect's envelope reader (same limits, same errors), to `sink`
 * (unary-call.ts); the handler has already refused a bad compression or deadline header. A body of one
 * plain envelope (every client's unary call) is decoded and delivered from the body's `end` event
 * itself, without a promise; any other goes through connect's pipeline.
 */
export function readGrpcInput(
  req: NodeRequest,
  unary: UnaryMethod,
  admission: GrpcAdmission,
  opt: HandlerOptions,
  sink: InputSink,
): void {
  collect(req, 2 * (opt.readMaxBytes + 5), (body, error) => {
    if (body === undefined) {
      sink.failed(error);
      return;
    }
    const single = singleEnvelope(body, opt.readMaxBytes);
    if (single === null) {
      deliver(readEnvelopes(body, unary, admission, opt), sink);
      return;
    }
    let message: unknown;
    try {
      const flat = admission.binary ? unary.flatBinary?.(single) : unary.flatJson?.(single);
      message = flat ?? unary.serialization.getI(admission.binary).parse(single);
    } catch (thrown) {
      sink.failed(thrown);
      return;
    }
    sink.input(message);
  });
}

/** A body that is not one plain envelope, through connect's pipeline: its one message, or its error. */
async function readEnvelopes(
  body: Uint8Array,
  unary: UnaryMethod,
  admission: GrpcAdmission,
  opt: HandlerOptions,
): Promise<unknown> {
  const messages = pipe(
    createAsyncIterable([body]),
    transformSplitEnvelope(opt.readMaxBytes),
    transformDecompressEnvelope(admission.compression.request, opt.readMaxBytes),
    admission.web
      ? transformParseEnvelope(unary.serialization.getI(admission.binary), trailerFlag)
      : transformParseEnvelope(unary.serialization.getI(admission.binary)),
  );
  const it = messages[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done === true) {
    throw new ConnectError("protocol error: missing input message for unary method", Code.Unimplemented);
  }
  const second = await it.next();
  if (second.done !== true) {
    throw new ConnectError(
      "protocol error: received extra input message for unary method",
      Code.Unimplemented,
    );
  }
  return first.value;
}

/**
 * The message of a body that is exactly one uncompressed envelope within the limit (what every client
 * sends for a unary call), or null. For such a body connect's envelope pipeline (split, decompress,
 * parse) does nothing but hand the bytes to the parser, at the cost of four async iterables per call; any
 * other body goes through that pipeline, for its errors.
 */
function singleEnvelope(body: Uint8Array, readMaxBytes: number): Uint8Array | null {
  if (body.length < 5 || body[0] !== 0) return null;
  const length =
    ((body[1] as number) << 24) |
    ((body[2] as number) << 16) |
    ((body[3] as number) << 8) |
    (body[4] as number);
  if (length < 0 || length > readMaxBytes || body.length !== 5 + length) return null;
  return body.subarray(5);
}

/**
 * One envelope of `data`, compressed when the call negotiated compression and the data is large enough
 * (connect's `envelopeCompress`). Without compression it is built at once: `envelopeCompress` is async
 * and would cost every call a promise and a turn of the microtask queue for nothing.
 */
function envelope(
  flags: number,
  data: Uint8Array,
  compression: GrpcAdmission["compression"]["response"],
  opt: HandlerOptions,
): Uint8Array | Promise<Uint8Array> {
  if (compression === null) return envelopeBytes(flags, data);
  return envelopeCompress({ flags, data }, compression, opt.compressMinBytes).then((e) =>
    envelopeBytes(e.flags, e.data),
  );
}

/**
 * connect's `encodeEnvelope` (flags, big-endian length, data) in a Buffer from Node's pool: connect's
 * allocates a zero-filled ArrayBuffer of its own and a DataView per envelope, 2-4 x the time for an
 * answer of a few hundred bytes.
 */
function envelopeBytes(flags: number, data: Uint8Array): Uint8Array {
  const bytes = Buffer.allocUnsafe(5 + data.byteLength);
  bytes[0] = flags;
  bytes.writeUInt32BE(data.byteLength, 1);
  bytes.set(data, 5);
  return bytes;
}

/**
 * Write the answer; returns the error it sent, if any (at once when nothing is compressed, else once
 * the envelopes are).
 */
export function writeGrpc(
  res: NodeResponse,
  outcome: Outcome,
  admission: GrpcAdmission,
  responseHeader: Headers,
  responseTrailer: Headers,
  opt: HandlerOptions,
): ConnectError | null | Promise<ConnectError | null> {
  const compression = admission.compression.response;
  if (compression) responseHeader.set("Grpc-Encoding", compression.name);
  const error = "error" in outcome ? leanError(outcome.error) : null;
  const body = "body" in outcome ? outcome.body : "text" in outcome ? Buffer.from(outcome.text) : null;
  const message = body !== null ? envelope(0, body, compression, opt) : null;
  if (admission.web) {
    // gRPC-Web clients decode `grpc-message` with decodeURIComponent: connect's encoding as it is.
    setTrailerStatus(responseTrailer, error ?? undefined);
    const trailer = envelope(trailerFlag, trailerSerialize(responseTrailer), compression, opt);
    if (message instanceof Promise || trailer instanceof Promise) {
      return Promise.all([message, trailer]).then(([m, t]) => finishWeb(res, responseHeader, m, t, error));
    }
    return finishWeb(res, responseHeader, message, trailer, error);
  }
  setGrpcStatus(responseTrailer, error);
  if (message instanceof Promise) {
    return message.then((m) => finishGrpc(res, responseHeader, responseTrailer, m, error));
  }
  return finishGrpc(res, responseHeader, responseTrailer, message, error);
}

function finishWeb(
  res: NodeResponse,
  responseHeader: Headers,
  message: Uint8Array | null,
  trailer: Uint8Array,
  error: ConnectError | null,
): ConnectError | null {
  res.writeHead(200, nodeHeaders(responseHeader));
  if (message !== null) write(res, message);
  write(res, trailer);
  res.end();
  return error;
}

function finishGrpc(
  res: NodeResponse,
  responseHeader: Headers,
  responseTrailer: Headers,
  message: Uint8Array | null,
  error: ConnectError | null,
): ConnectError | null {
  const head = plainHeaders(res, responseHeader);
  if (head === null) {
    res.writeHead(200, nodeHeaders(responseHeader));
  } else {
    // The stream's own `respond` with what compat's `writeHead` would give it (waitForTrailers: its
    // 'wantTrailers' listener sends the trailers set below).
    (res as Http2ServerResponse).stream.respond(head, RESPOND);
  }
  if (message !== null) write(res, message);
  res.addTrailers(nodeHeaders(responseTrailer));
  res.end();
  return error;
}

/** compat's `writeHead` options (`sendDate` is its default); `respond` copies them. */
const RESPOND: http2.ServerStreamResponseOptions = Object.freeze({ waitForTrailers: true });

/**
 * The answer's headers as one plain object for the HTTP/2 stream's `respond`, when compat's
 * `writeHead` would send exactly them: an HTTP/2 response whose head is unsent, with no header set on
 * it before (else null), every name a lower-case token and no connection-specific one, every value
 * free of the characters Node refuses (else null: `writeHead` validates, refuses or drops as before).
 * compat's path copies the headers one by one into a dictionary of its own (trimmed, lower-cased,
 * validated) before `respond` copies them once more; this skips the first copy (docs/benchmarks.md,
 * "gRPC get: third pass").
 */
function plainHeaders(res: NodeResponse, responseHeader: Headers): Record<string, string> | null {
  if (!("stream" in res) || res.headersSent || res.stream.destroyed || res.stream.closed) return null;
  if (res.getHeaderNames().length !== 0) return null;
  const head: Record<string, string> = {};
  responseHeader.forEach(putHeader, head);
  for (const name in head) {
    if (!TOKEN.test(name) || CONNECTION_SPECIFIC.has(name) || INVALID_VALUE.test(head[name] as string)) {
      return null;
    }
  }
  return head;
}

function putHeader(this: Record<string, string>, value: string, name: string): void {
  this[name] = value;
}

/** An HTTP token in lower case (RFC 9110 tchar), what compat's `writeHead` keeps as it is. */
const TOKEN = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
/** Node's `checkInvalidHeaderChar`. */
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
/** Names compat drops (or refuses) and the stream's `respond` refuses (RFC 9113 §8.2.2). */
const CONNECTION_SPECIFIC = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "http2-settings",
  "host",
]);

/**
 * gRPC's trailers for a call's outcome (also the stream path's, stream/protocol.ts): the status, the
 * message in gRPC's minimal percent-encoding, and the error's metadata.
 */
export function setGrpcStatus(trailer: Headers, error: ConnectError | null): void {
  if (error === null) {
    trailer.set("grpc-status", "0");
    return;
  }
  error.metadata.forEach((value, key) => {
    trailer.append(key, value);
  });
  trailer.set("grpc-status", error.code.toString(10));
  trailer.set("grpc-message", minimalPercentEncode(error.rawMessage));
}

function write(res: NodeResponse, chunk: Uint8Array): void {
  (res as { write(chunk: Uint8Array): boolean }).write(chunk);
}
