/**
 * gRPC unary over HTTP/2: which requests the lean path takes, and the answer it writes as connect-node's
 * gRPC handler (protocol-grpc/handler-factory) does: response headers, one envelope, then trailers with
 * the status; an error is headers and trailers without a message. `grpc-message` uses gRPC's minimal
 * percent-encoding, so grpc-js clients read SpaceONE details intact (see errors.ts).
 */

import type { Message } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Compression } from "@connectrpc/connect/protocol";
import {
  compressionNegotiate,
  createAsyncIterable,
  encodeEnvelope,
  envelopeCompress,
  pipe,
  transformDecompressEnvelope,
  transformParseEnvelope,
  transformSplitEnvelope,
} from "@connectrpc/connect/protocol";
import { parseContentType } from "@connectrpc/connect/protocol-grpc";
import { minimalPercentEncode } from "../errors.js";
import type { NodeRequest, NodeResponse } from "../server.js";
import { leanError } from "./errors.js";
import type { HandlerOptions, UnaryMethod } from "./methods.js";

export interface GrpcAdmission {
  readonly compression: Compression | null;
}

/** A gRPC (protobuf) unary call over HTTP/2 without request compression or deadline; else null. */
export function admitGrpc(req: NodeRequest, opt: HandlerOptions): GrpcAdmission | null {
  if (req.httpVersionMajor !== 2) return null;
  const h = req.headers;
  const type = parseContentType(h["content-type"] ?? null);
  if (type === undefined || !type.binary) return null;
  const encoding = h["grpc-encoding"];
  if (encoding !== undefined && encoding !== "identity") return null;
  if (h["grpc-timeout"] !== undefined) return null;
  const length = h["content-length"];
  if (length !== undefined && !(Number(length) <= opt.readMaxBytes + 5)) return null;
  const accepted = h["grpc-accept-encoding"];
  const { response } = compressionNegotiate(
    opt.acceptCompression,
    null,
    typeof accepted === "string" ? accepted : null,
    "Grpc-Accept-Encoding",
  );
  return { compression: response };
}

/** Collect the body, at most `cap` bytes (a body past one maximal envelope is cut there). */
function collect(req: NodeRequest, cap: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      if (size >= cap) return;
      chunks.push(chunk);
      size += chunk.length;
    });
    req.once("end", () => resolve(Buffer.concat(chunks)));
    req.once("error", reject);
  });
}

/** The one request message, with connect's envelope reader (same limits, same errors). */
export async function readGrpcInput(
  req: NodeRequest,
  unary: UnaryMethod,
  opt: HandlerOptions,
): Promise<unknown> {
  const body = await collect(req, 2 * (opt.readMaxBytes + 5));
  const messages = pipe(
    createAsyncIterable([body]),
    transformSplitEnvelope(opt.readMaxBytes),
    transformDecompressEnvelope(null, opt.readMaxBytes),
    transformParseEnvelope(unary.serialization.getI(true)),
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

export async function writeGrpc(
  res: NodeResponse,
  outcome: { output: unknown } | { error: unknown },
  unary: UnaryMethod,
  admission: GrpcAdmission,
  responseHeader: Headers,
  responseTrailer: Headers,
  opt: HandlerOptions,
): Promise<void> {
  if (admission.compression) responseHeader.set("Grpc-Encoding", admission.compression.name);
  let envelope: Uint8Array | null = null;
  let error: ConnectError | null = null;
  if ("output" in outcome) {
    try {
      const data = unary.serialization.getO(true).serialize(outcome.output as Message);
      const compressed = await envelopeCompress(
        { flags: 0, data },
        admission.compression,
        opt.compressMinBytes,
      );
      envelope = encodeEnvelope(compressed.flags, compressed.data);
    } catch (e) {
      error = leanError(e);
    }
  } else {
    error = leanError(outcome.error);
  }
  if (error === null) {
    responseTrailer.set("grpc-status", "0");
  } else {
    error.metadata.forEach((value, key) => {
      responseTrailer.append(key, value);
    });
    responseTrailer.set("grpc-status", error.code.toString(10));
    responseTrailer.set("grpc-message", minimalPercentEncode(error.rawMessage));
  }
  const head: Record<string, string> = {};
  responseHeader.forEach((value, key) => {
    head[key] = value;
  });
  const trailers: Record<string, string> = {};
  responseTrailer.forEach((value, key) => {
    trailers[key] = value;
  });
  res.writeHead(200, head);
  if (envelope !== null) (res as { write(chunk: Uint8Array): boolean }).write(envelope);
  res.addTrailers(trailers);
  res.end();
}
