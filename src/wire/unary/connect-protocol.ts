/**
 * Connect unary over HTTP/1.1 and HTTP/2: which requests the lean path takes, and the one answer it
 * writes, byte for byte as connect-node's unary handler (protocol-connect/handler-factory) does.
 */
import type { Message } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Compression } from "@connectrpc/connect/protocol";
import { compressionNegotiate, readAllBytes } from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  contentTypeUnaryJson,
  errorToJsonBytes,
  parseContentType,
  trailerMux,
} from "@connectrpc/connect/protocol-connect";
import type { NodeRequest, NodeResponse } from "../server.js";
import { leanError } from "./errors.js";
import type { HandlerOptions, UnaryMethod } from "./methods.js";

export interface ConnectAdmission {
  readonly binary: boolean;
  readonly compression: Compression | null;
}

/**
 * The request is a plain Connect unary POST the lean path answers exactly as connect-node: a unary content
 * type, no request compression, no deadline, a declared length within the limit. Anything else goes to
 * connect-node (null).
 */
export function admitConnect(req: NodeRequest, opt: HandlerOptions): ConnectAdmission | null {
  const h = req.headers;
  const type = parseContentType(h["content-type"] ?? null);
  if (type === undefined || type.stream) return null;
  const encoding = h["content-encoding"];
  if (encoding !== undefined && encoding !== "identity") return null;
  if (h["connect-timeout-ms"] !== undefined) return null;
  const length = h["content-length"];
  if (length !== undefined && !(Number(length) <= opt.readMaxBytes)) return null;
  const accepted = h["accept-encoding"];
  const { response } = compressionNegotiate(
    opt.acceptCompression,
    null,
    accepted === undefined ? null : accepted,
    "Accept-Encoding",
  );
  return { binary: type.binary, compression: response };
}

export async function readConnectInput(
  req: NodeRequest,
  unary: UnaryMethod,
  binary: boolean,
  opt: HandlerOptions,
): Promise<unknown> {
  const length = req.headers["content-length"];
  const hint = length === undefined ? Number.NaN : Number.parseInt(length, 10);
  // A declared length (admitted only within the limit): read straight into one buffer, with the errors
  // connect's readAllBytes gives. Otherwise connect's own reader, which enforces the limit as it goes.
  const bytes =
    Number.isSafeInteger(hint) && hint >= 0 && hint <= opt.readMaxBytes
      ? await readDeclared(req, hint)
      : await readAllBytes(req, opt.readMaxBytes, length === undefined ? null : length);
  return unary.serialization.getI(binary).parse(bytes);
}

function readDeclared(req: NodeRequest, hint: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const buffer = new Uint8Array(hint);
    let offset = 0;
    let failed = false;
    req.on("data", (chunk: Buffer) => {
      if (failed) return;
      if (offset + chunk.byteLength > hint) {
        failed = true;
        const received = offset + chunk.byteLength;
        reject(
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
    req.once("end", () => {
      if (failed) return;
      if (offset < hint) {
        reject(
          new ConnectError(
            `protocol error: promised ${hint} bytes, received ${offset}`,
            Code.InvalidArgument,
          ),
        );
      } else {
        resolve(buffer);
      }
    });
    req.once("error", reject);
  });
}

export async function writeConnect(
  res: NodeResponse,
  outcome: { output: unknown } | { error: unknown },
  unary: UnaryMethod,
  admission: ConnectAdmission,
  responseHeader: Headers,
  responseTrailer: Headers,
  opt: HandlerOptions,
): Promise<void> {
  let status = 200;
  let body: Uint8Array;
  if ("output" in outcome) {
    try {
      body = unary.serialization.getO(admission.binary).serialize(outcome.output as Message);
    } catch (e) {
      ({ status, body } = errorBody(e, responseHeader, opt));
    }
  } else {
    ({ status, body } = errorBody(outcome.error, responseHeader, opt));
  }
  if (admission.compression && body.byteLength >= opt.compressMinBytes) {
    body = await admission.compression.compress(body);
    responseHeader.set("Content-Encoding", admission.compression.name);
  }
  const header = trailerMux(responseHeader, responseTrailer);
  header.set("Content-Length", body.byteLength.toString(10));
  const out: Record<string, string> = {};
  header.forEach((value, key) => {
    out[key] = value;
  });
  res.writeHead(status, out);
  res.end(body);
}

function errorBody(thrown: unknown, responseHeader: Headers, opt: HandlerOptions) {
  const error = leanError(thrown);
  responseHeader.set("Content-Type", contentTypeUnaryJson);
  error.metadata.forEach((value, key) => {
    responseHeader.set(key, value);
  });
  return { status: codeToHttpStatus(error.code), body: errorToJsonBytes(error, opt.jsonOptions) };
}
