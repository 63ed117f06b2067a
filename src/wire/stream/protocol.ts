/**
 * Server streams over Connect (HTTP/1.1 and 2), gRPC (HTTP/2) and gRPC-Web (HTTP/1.1 and 2): which
 * requests the stream path takes, its one request message, and the response as connect-node's
 * streaming handlers (protocol-*\/handler-factory) write it: headers with the first frame, one envelope
 * per message, then the end of the stream in the caller's protocol:
 * - Connect: an EndStreamResponse envelope (flag 0x02, JSON with the error and the trailers as metadata);
 * - gRPC: trailers `grpc-status` / `grpc-message` (gRPC's minimal percent-encoding, as the unary path);
 * - gRPC-Web: the trailers as the body's last envelope (flag 0x80).
 * Compression (`connect-content-encoding`, `grpc-encoding` and their accept headers) and deadlines
 * (`connect-timeout-ms`, `grpc-timeout`, bounded by the server's maximum) are negotiated with connect's
 * own helpers, so refusals read the same. Writes honour the socket's backpressure.
 */
import type { Message } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type Compression,
  compressionNegotiate,
  encodeEnvelope,
  envelopeCompress,
  pipe,
  type Serialization,
  transformDecompressEnvelope,
  transformParseEnvelope,
  transformSplitEnvelope,
} from "@connectrpc/connect/protocol";
import {
  contentTypeStreamJson,
  contentTypeStreamProto,
  createEndStreamSerialization,
  endStreamFlag,
  parseContentType as parseConnect,
  parseTimeout as parseConnectTimeout,
} from "@connectrpc/connect/protocol-connect";
import {
  contentTypeJson as grpcJson,
  contentTypeProto as grpcProto,
  parseContentType as parseGrpc,
  parseTimeout as parseGrpcTimeout,
  setTrailerStatus,
} from "@connectrpc/connect/protocol-grpc";
import {
  parseContentType as parseGrpcWeb,
  trailerFlag,
  trailerSerialize,
  contentTypeJson as webJson,
  contentTypeProto as webProto,
} from "@connectrpc/connect/protocol-grpc-web";
import type { NodeRequest, NodeResponse } from "../server.js";
import { nodeHeaders } from "../unary/context.js";
import { setGrpcStatus } from "../unary/grpc-protocol.js";
import type { HandlerOptions } from "../unary/methods.js";

export type StreamProtocol = "connect" | "grpc" | "grpc-web";

export interface StreamAdmission {
  readonly protocol: StreamProtocol;
  readonly binary: boolean;
  readonly compression: ReturnType<typeof compressionNegotiate>;
  readonly timeout: { readonly timeoutMs?: number | undefined; readonly error?: ConnectError | undefined };
}

/**
 * A streaming call the stream path answers as connect-node: Connect streaming types, gRPC over HTTP/2,
 * gRPC-Web (not its base64 `-text` variant, which connect-node does not serve either). Anything else
 * (unary types, gRPC over HTTP/1.1) goes to connect-node (null).
 */
export function admitStream(req: NodeRequest, opt: HandlerOptions): StreamAdmission | null {
  const h = req.headers;
  const contentType = h["content-type"] ?? null;
  if (contentType?.startsWith("application/grpc")) {
    const webType = parseGrpcWeb(contentType);
    const web = webType !== undefined;
    if (web && webType.text) return null;
    const type = web ? webType : parseGrpc(contentType);
    if (type === undefined || (!web && req.httpVersionMajor !== 2)) return null;
    return {
      protocol: web ? "grpc-web" : "grpc",
      binary: type.binary,
      compression: compressionNegotiate(
        opt.acceptCompression,
        one(h["grpc-encoding"]),
        one(h["grpc-accept-encoding"]),
        "Grpc-Accept-Encoding",
      ),
      timeout: parseGrpcTimeout(one(h["grpc-timeout"]), opt.maxTimeoutMs),
    };
  }
  const type = parseConnect(contentType);
  if (type === undefined || !type.stream) return null;
  return {
    protocol: "connect",
    binary: type.binary,
    compression: compressionNegotiate(
      opt.acceptCompression,
      one(h["connect-content-encoding"]),
      one(h["connect-accept-encoding"]),
      "Connect-Accept-Encoding",
    ),
    timeout: parseConnectTimeout(one(h["connect-timeout-ms"]), opt.maxTimeoutMs),
  };
}

function one(value: string | string[] | undefined): string | null {
  return typeof value === "string" ? value : null;
}

/** The response's content type and (when negotiated) compression header, as connect-node sets them. */
export function streamHeaders(admission: StreamAdmission, header: Headers, trailer: Headers): void {
  const { protocol, binary } = admission;
  const compression = admission.compression.response;
  if (protocol === "connect") {
    header.set("Content-Type", binary ? contentTypeStreamProto : contentTypeStreamJson);
    if (compression) header.set("Connect-Content-Encoding", compression.name);
    return;
  }
  const web = protocol === "grpc-web";
  header.set("Content-Type", web ? (binary ? webProto : webJson) : binary ? grpcProto : grpcJson);
  if (compression) header.set("Grpc-Encoding", compression.name);
  trailer.set("grpc-status", "0");
}

/**
 * The one request message of a server stream, read with connect's envelope reader (same limits, same
 * errors, in connect-node's order: a compression error, then a timeout error, then the envelopes).
 */
export async function readStreamInput(
  req: NodeRequest,
  admission: StreamAdmission,
  parser: Serialization<Message>,
  opt: HandlerOptions,
): Promise<unknown> {
  if (admission.compression.error) throw admission.compression.error;
  if (admission.timeout.error) throw admission.timeout.error;
  const flag =
    admission.protocol === "connect"
      ? endStreamFlag
      : admission.protocol === "grpc-web"
        ? trailerFlag
        : undefined;
  const messages = pipe(
    req as AsyncIterable<Uint8Array>,
    transformSplitEnvelope(opt.readMaxBytes),
    transformDecompressEnvelope(admission.compression.request, opt.readMaxBytes),
    flag === undefined ? transformParseEnvelope(parser) : transformParseEnvelope(parser, flag),
  );
  const it = messages[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done === true) {
    throw new ConnectError(
      "protocol error: missing input message for server-streaming method",
      Code.Unimplemented,
    );
  }
  const second = await it.next();
  if (second.done !== true) {
    throw new ConnectError(
      "protocol error: received extra input message for server-streaming method",
      Code.Unimplemented,
    );
  }
  return first.value;
}

/** The envelope of one message, compressed as connect-node would (at or over `compressMinBytes`). */
export async function compressedFrame(
  payload: Uint8Array,
  compression: Compression,
  minBytes: number,
): Promise<Uint8Array> {
  const env = await envelopeCompress({ flags: 0, data: payload }, compression, minBytes);
  return encodeEnvelope(env.flags, env.data);
}

/** The response of one stream: headers with the first write, frames with backpressure, the end. */
export class StreamResponse {
  constructor(
    private readonly res: NodeResponse,
    private readonly admission: StreamAdmission,
    private readonly header: Headers,
    private readonly trailer: Headers,
    private readonly opt: HandlerOptions,
  ) {}

  /** The client is gone (or the response was ended): nothing more can be written. */
  get gone(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }

  /**
   * Write a frame. True when more may be written now; otherwise a promise of whether the client took
   * it (drained) or went away. Never queues without bound: callers wait for it before the next frame.
   */
  write(frame: Uint8Array): true | Promise<boolean> {
    const res = this.res as NodeResponse & { write(chunk: Uint8Array): boolean };
    if (this.gone) return Promise.resolve(false);
    if (!res.headersSent) res.writeHead(200, nodeHeaders(this.header));
    if (res.write(frame)) return true;
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        res.off("drain", onDrain);
        res.off("close", onClose);
        resolve(ok);
      };
      const onDrain = () => done(true);
      const onClose = () => done(false);
      res.on("drain", onDrain);
      res.on("close", onClose);
    });
  }

  /** End the stream with its outcome, in the caller's protocol. */
  async end(error: ConnectError | null): Promise<void> {
    if (this.gone) return;
    const { res, header, trailer, opt } = this;
    const compression = this.admission.compression.response;
    switch (this.admission.protocol) {
      case "connect": {
        const data = endStream(opt).serialize({ metadata: trailer, ...(error ? { error } : {}) });
        const env = await envelopeCompress({ flags: endStreamFlag, data }, compression, opt.compressMinBytes);
        this.last(encodeEnvelope(env.flags, env.data));
        return;
      }
      case "grpc-web": {
        // gRPC-Web clients decode `grpc-message` with decodeURIComponent: connect's encoding as it is.
        setTrailerStatus(trailer, error ?? undefined);
        const data = trailerSerialize(trailer);
        const env = await envelopeCompress({ flags: trailerFlag, data }, compression, opt.compressMinBytes);
        this.last(encodeEnvelope(env.flags, env.data));
        return;
      }
      case "grpc": {
        setGrpcStatus(trailer, error);
        if (!res.headersSent) res.writeHead(200, nodeHeaders(header));
        res.addTrailers(nodeHeaders(trailer));
        res.end();
        return;
      }
    }
  }

  private last(frame: Uint8Array): void {
    const res = this.res as NodeResponse & { end(chunk: Uint8Array): void };
    if (!res.headersSent) res.writeHead(200, nodeHeaders(this.header));
    res.end(frame);
  }
}

const endStreams = new WeakMap<HandlerOptions, ReturnType<typeof createEndStreamSerialization>>();

function endStream(opt: HandlerOptions) {
  let serialization = endStreams.get(opt);
  if (!serialization) {
    serialization = createEndStreamSerialization(opt.jsonOptions);
    endStreams.set(opt, serialization);
  }
  return serialization;
}
