/**
 * Connect unary over HTTP/1.1 and HTTP/2, and REST (a Connect JSON call under another path with
 * SpaceONE's error body): which requests the lean path takes, and the one answer it writes, byte for
 * byte as connect-node's unary handler (protocol-connect/handler-factory) does. Request compression
 * (`content-encoding`), response compression (`accept-encoding`) and deadlines (`connect-timeout-ms`,
 * bounded by the server's maximum) are negotiated with connect's own helpers, so errors read the same.
 */
import http from "node:http";
import { Code, ConnectError } from "@connectrpc/connect";
import { compressionNegotiate, readAllBytes } from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  contentTypeUnaryJson,
  contentTypeUnaryProto,
  errorToJsonBytes,
  parseContentType,
  parseTimeout,
} from "@connectrpc/connect/protocol-connect";
import { restErrorOf } from "../errors.js";
import type { NodeRequest, NodeResponse } from "../server.js";
import { nodeHeaders } from "./context.js";
import { leanError } from "./errors.js";
import type { Outcome } from "./handler.js";
import { deliver, type InputSink } from "./input-sink.js";
import type { HandlerOptions, UnaryMethod } from "./methods.js";

/** Who is told the body length of an answer whose head was written raw (unary-call.ts). */
export interface RawHeadTeller {
  rawHead(bodyBytes: number): void;
}

type Negotiated = ReturnType<typeof compressionNegotiate>;
type Timeout = ReturnType<typeof parseTimeout>;

export interface ConnectAdmission {
  readonly binary: boolean;
  /** Errors as SpaceONE's REST body (`{"detail": {...}}`) with console-api-v2's HTTP status. */
  readonly rest: boolean;
  readonly compression: Negotiated;
  readonly timeout: Timeout;
}

/**
 * A Connect unary POST the lean path answers as connect-node: a unary content type and a declared length
 * (if any) within the limit. Anything else (streaming types, a declared oversize body) goes to
 * connect-node (null).
 */
export function admitConnect(req: NodeRequest, opt: HandlerOptions): ConnectAdmission | null {
  const contentType = req.headers["content-type"];
  // The two types nearly every call sends, without connect's regular expression (same answer).
  const type =
    contentType === contentTypeUnaryJson
      ? jsonType
      : contentType === contentTypeUnaryProto
        ? protoType
        : parseContentType(contentType ?? null);
  if (type === undefined || type.stream) return null;
  if (!withinLimit(req, opt.readMaxBytes)) return null;
  return negotiate(req, type.binary, false, opt);
}

/** A REST call: its body is read as the JSON request message, whatever JSON-ish type it declares. */
export function admitRest(req: NodeRequest, opt: HandlerOptions): ConnectAdmission {
  return negotiate(req, false, true, opt);
}

function withinLimit(req: NodeRequest, max: number): boolean {
  const length = req.headers["content-length"];
  return length === undefined || Number(length) <= max;
}

const jsonType = { stream: false, binary: false } as const;
const protoType = { stream: false, binary: true } as const;

/**
 * What connect's helpers give a call without `content-encoding`, `accept-encoding` and
 * `connect-timeout-ms` (nearly every call): no compression either way, no deadline. Shared: admissions
 * are only read.
 */
const identity = compressionNegotiate([], null, null, "Accept-Encoding");
const noTimeout = parseTimeout(null, 0);
/** By [binary][rest]. */
const plainAdmissions = [false, true].map((binary) =>
  [false, true].map(
    (rest): ConnectAdmission => ({ binary, rest, compression: identity, timeout: noTimeout }),
  ),
);

function negotiate(req: NodeRequest, binary: boolean, rest: boolean, opt: HandlerOptions): ConnectAdmission {
  const h = req.headers;
  if (
    h["content-encoding"] === undefined &&
    h["accept-encoding"] === undefined &&
    h["connect-timeout-ms"] === undefined
  ) {
    return plainAdmissions[binary ? 1 : 0]?.[rest ? 1 : 0] as ConnectAdmission;
  }
  return {
    binary,
    rest,
    compression: compressionNegotiate(
      opt.acceptCompression,
      h["content-encoding"] ?? null,
      h["accept-encoding"] ?? null,
      "Accept-Encoding",
    ),
    timeout: parseTimeout(header(h["connect-timeout-ms"]), opt.maxTimeoutMs),
  };
}

function header(value: string | string[] | undefined): string | null {
  return typeof value === "string" ? value : null;
}

/**
 * The call's request message, delivered to `sink` (unary-call.ts); the handler has already refused a
 * bad compression or deadline header. The common call (a declared length, no compression) is delivered
 * from the body's `end` event itself: no promise, no turn of the microtask queue; the others through
 * connect's own reader.
 */
export function readConnectInput(
  req: NodeRequest,
  unary: UnaryMethod,
  admission: ConnectAdmission,
  opt: HandlerOptions,
  sink: InputSink,
): void {
  const length = req.headers["content-length"];
  const hint = length === undefined ? Number.NaN : Number.parseInt(length, 10);
  // A declared length (admitted only within the limit): read straight into one buffer, with the errors
  // connect's readAllBytes gives. Otherwise connect's own reader, which enforces the limit as it goes.
  if (Number.isSafeInteger(hint) && hint >= 0 && hint <= opt.readMaxBytes && !admission.compression.request) {
    readDeclared(req, hint, unary, admission.binary, sink);
    return;
  }
  deliver(readOtherwise(req, unary, admission, opt, hint, length), sink);
}

async function readOtherwise(
  req: NodeRequest,
  unary: UnaryMethod,
  admission: ConnectAdmission,
  opt: HandlerOptions,
  hint: number,
  length: string | undefined,
): Promise<unknown> {
  let bytes =
    Number.isSafeInteger(hint) && hint >= 0 && hint <= opt.readMaxBytes
      ? await new Promise<Uint8Array>((resolve, reject) =>
          readDeclared(req, hint, undefined, admission.binary, {
            input: (bytes) => resolve(bytes as Uint8Array),
            failed: reject,
          }),
        )
      : await readAllBytes(req, opt.readMaxBytes, length === undefined ? null : length);
  const compression = admission.compression.request;
  if (compression) bytes = await compression.decompress(bytes, opt.readMaxBytes);
  return decodeInput(bytes, unary, admission.binary);
}

function decodeInput(bytes: Uint8Array, unary: UnaryMethod, binary: boolean): unknown {
  if (binary) return unary.serialization.getI(true).parse(bytes);
  return unary.flatJson?.(bytes) ?? unary.serialization.getI(false).parse(bytes);
}

/**
 * The declared body to `sink`, once: its bytes (or, given `unary`, the message decoded from them), or
 * connect's error for too many or too few bytes, or what decoding threw.
 */
function readDeclared(
  req: NodeRequest,
  hint: number,
  unary: UnaryMethod | undefined,
  binary: boolean,
  sink: InputSink,
): void {
  const buffer = new Uint8Array(hint);
  let offset = 0;
  let settled = false;
  req.on("data", (chunk: Buffer) => {
    if (settled) return;
    if (offset + chunk.byteLength > hint) {
      settled = true;
      const received = offset + chunk.byteLength;
      sink.failed(
        new ConnectError(
          `protocol error: promised ${hint} bytes, received ${received}`,
          Code.InvalidArgument,
        ),
      );
      return;
    }
    buffer.set(chunk, offset);
    offset += chunk.byteLength;
  });
  // `on`, not `once`: each is acted on at most once (`settled`), and `once` allocated a wrapper per
  // listener per call.
  req.on("end", () => {
    if (settled) return;
    settled = true;
    if (offset < hint) {
      sink.failed(
        new ConnectError(`protocol error: promised ${hint} bytes, received ${offset}`, Code.InvalidArgument),
      );
    } else if (unary === undefined) {
      sink.input(buffer);
    } else {
      let message: unknown;
      try {
        message = decodeInput(buffer, unary, binary);
      } catch (error) {
        sink.failed(error);
        return;
      }
      sink.input(message);
    }
  });
  req.on("error", (error) => {
    if (settled) return;
    settled = true;
    sink.failed(error);
  });
}

/**
 * Write the answer; returns the error it sent, if any: at once, unless the answer is compressed (then
 * once it is).
 */
export function writeConnect(
  res: NodeResponse,
  outcome: Outcome,
  admission: ConnectAdmission,
  responseHeader: Headers,
  responseTrailer: Headers,
  opt: HandlerOptions,
  leading?: string[],
  onRawHead?: RawHeadTeller,
): ConnectError | null | Promise<ConnectError | null> {
  const error = "error" in outcome ? leanError(outcome.error) : null;
  let body: Uint8Array | string | undefined =
    "body" in outcome ? outcome.body : "text" in outcome ? outcome.text : undefined;
  let size = "body" in outcome ? outcome.body.byteLength : "text" in outcome ? outcome.size : 0;
  let status = 200;
  if (error !== null) {
    responseHeader.set("Content-Type", contentTypeUnaryJson);
    error.metadata.forEach((value, key) => {
      responseHeader.set(key, value);
    });
    if (admission.rest) {
      // SpaceONE's error body, from the error itself; never compressed (console-api-v2 does not).
      const rest = restErrorOf(error);
      const restBody = Buffer.from(JSON.stringify(rest.body));
      writeWhole(
        res,
        rest.status,
        responseHeader,
        responseTrailer,
        restBody,
        restBody.byteLength,
        leading,
        onRawHead,
      );
      return error;
    }
    status = codeToHttpStatus(error.code);
    body = errorToJsonBytes(error, opt.jsonOptions);
    size = body.byteLength;
  }
  const answer = body as Uint8Array | string;
  const compression = admission.compression.response;
  if (compression && size >= opt.compressMinBytes) {
    const bytes = typeof answer === "string" ? Buffer.from(answer) : answer;
    return compression.compress(bytes).then((compressed) => {
      responseHeader.set("Content-Encoding", compression.name);
      writeWhole(
        res,
        status,
        responseHeader,
        responseTrailer,
        compressed,
        compressed.byteLength,
        leading,
        onRawHead,
      );
      return error;
    });
  }
  writeWhole(res, status, responseHeader, responseTrailer, answer, size, leading, onRawHead);
  return error;
}

function writeWhole(
  res: NodeResponse,
  status: number,
  responseHeader: Headers,
  responseTrailer: Headers,
  body: Uint8Array | string,
  /** The body's length in bytes (a string's UTF-8 length, measured once by whoever made it). */
  size: number,
  leading: string[] | undefined,
  onRawHead: RawHeadTeller | undefined,
): void {
  // connect's trailerMux, without a copy: the call is over, its header object is ours to finish.
  responseTrailer.forEach((value, key) => {
    responseHeader.set(`trailer-${key}`, value);
  });
  responseHeader.set("Content-Length", size.toString(10));
  if (leading !== undefined && res instanceof http.ServerResponse) {
    // The whole head in one raw list, `leading` first (where `setHeader` would have put them): Node
    // writes it as given, validating each field once, without building its header map field by field.
    // `leading` is the call's own (LeanRpc): extended, not copied.
    responseHeader.forEach((value, key) => {
      leading.push(key, value);
    });
    res.writeHead(status, leading);
    // Node keeps no header map of a raw head: who counts the answer's bytes is told its length.
    onRawHead?.rawHead(size);
  } else {
    res.writeHead(status, nodeHeaders(responseHeader));
  }
  res.end(body);
}
