/**
 * connect-node for what the unary path (unary/) does not take: streams (watch, health Watch,
 * reflection), Connect `GET`, gRPC over HTTP/1.1, gRPC-Web text, declared oversize bodies.
 *
 * It is connect's router and universal handlers served as `connectNodeAdapter` serves them, with one
 * step between: the handler's answer (status, headers, body, trailers: a value we are given, not Node's
 * response) is corrected before it is written, so nothing patches Node's response object:
 * - a request it cannot decode (`parse binary: ...`, a compressed frame without an encoding) is
 *   `invalid_argument`, not `internal` (its JSON decoder and connect-go say so too), on gRPC, gRPC-Web
 *   and Connect unary;
 * - gRPC's `grpc-message` uses the minimal percent-encoding of the gRPC spec. connect uses
 *   `encodeURIComponent`, which the spec allows, but @grpc/grpc-js decodes with `decodeURI`, which leaves
 *   `%3A` and `%3D` alone: a grpc-js client would read `ERROR_NOT_FOUND%3A ... (job_id %3D x)`.
 */

import type { ConnectRouterOptions } from "@connectrpc/connect";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type ContextValues,
  createConnectRouter,
} from "@connectrpc/connect";
import {
  createAsyncIterable,
  type UniversalHandler,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import { trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import { minimalPercentEncode } from "./errors.js";
import type { NodeHandler, NodeRequest } from "./server.js";
import { DECODE_FAILURE } from "./unary/errors.js";

export interface ConnectHandlerOptions extends ConnectRouterOptions {
  readonly routes: (router: ConnectRouter) => void;
  readonly contextValues?: ((req: NodeRequest) => ContextValues) | undefined;
  /** A path no handler serves. */
  readonly fallback: NodeHandler;
  /** A handler that failed outside the call (writing its answer): the client went away, or a bug. */
  readonly onHandlerError?: (err: unknown, handler: UniversalHandler) => void;
}

export interface ConnectHandler {
  readonly handler: NodeHandler;
  /** Every handler registered, for the path table and the list of served services. */
  readonly handlers: readonly UniversalHandler[];
}

export function createConnectHandler(options: ConnectHandlerOptions): ConnectHandler {
  const router = createConnectRouter({
    ...options,
    acceptCompression: options.acceptCompression ?? [compressionGzip, compressionBrotli],
  });
  options.routes(router);
  const paths = new Map<string, UniversalHandler>();
  for (const handler of router.handlers) paths.set(handler.requestPath, handler);
  const handler: NodeHandler = (req, res) => {
    const uHandler = paths.get((req.url ?? "").split("?", 2)[0] ?? "");
    if (uHandler === undefined) {
      options.fallback(req, res);
      return;
    }
    const contentType = (req.headers["content-type"] ?? "").toLowerCase();
    const uReq = universalRequestFromNodeRequest(req, res, undefined, options.contextValues?.(req));
    uHandler(uReq)
      .then(async (uRes) => universalResponseToNodeResponse(await corrected(uRes, contentType), res))
      .catch((reason: unknown) => {
        if (ConnectError.from(reason).code === Code.Aborted) return;
        options.onHandlerError?.(reason, uHandler);
      });
  };
  return { handler, handlers: router.handlers };
}

/** The answer to write: connect's, with the corrections of the file comment for the caller's protocol. */
export async function corrected(
  answer: UniversalServerResponse,
  contentType: string,
): Promise<UniversalServerResponse> {
  if (contentType.startsWith("application/grpc-web")) {
    return answer.body ? { ...answer, body: mapChunks(answer.body, correctGrpcWebTrailer) } : answer;
  }
  if (contentType.startsWith("application/grpc")) return correctGrpc(answer);
  if (answer.status === 500 && answer.body && answer.header?.get("content-encoding") === null) {
    return correctConnectError(answer.body, answer.header);
  }
  return answer;
}

/** gRPC: status and message travel in the trailers, filled by the time the body has ended. */
function correctGrpc(answer: UniversalServerResponse): UniversalServerResponse {
  const original = answer.trailer;
  if (!original || !answer.body) return answer;
  const trailer = new Headers();
  const body = answer.body;
  async function* correctedBody() {
    try {
      yield* body;
    } finally {
      original?.forEach((value, key) => {
        trailer.append(key, value);
      });
      correctGrpcStatus(trailer);
    }
  }
  return { ...answer, body: correctedBody(), trailer };
}

function correctGrpcStatus(trailer: Headers): void {
  const message = trailer.get("grpc-message");
  if (message === null) return;
  const text = decoded(message);
  if (trailer.get("grpc-status") === String(Code.Internal) && DECODE_FAILURE.test(text)) {
    trailer.set("grpc-status", String(Code.InvalidArgument));
  }
  trailer.set("grpc-message", minimalPercentEncode(text));
}

/** gRPC-Web: the trailers are the body's last envelope (flag 0x80, never compressed at this size). */
function correctGrpcWebTrailer(chunk: Uint8Array): Uint8Array {
  if (chunk.byteLength < 5 || chunk[0] !== trailerFlag) return chunk;
  const trailer = trailerParse(chunk.subarray(5));
  const message = trailer.get("grpc-message");
  if (trailer.get("grpc-status") !== String(Code.Internal) || message === null) return chunk;
  if (!DECODE_FAILURE.test(decoded(message))) return chunk;
  trailer.set("grpc-status", String(Code.InvalidArgument));
  const data = trailerSerialize(trailer);
  const out = new Uint8Array(5 + data.byteLength);
  out[0] = trailerFlag;
  new DataView(out.buffer).setUint32(1, data.byteLength);
  out.set(data, 5);
  return out;
}

/** Connect unary: a 500 whose JSON body says `internal` for a decode failure becomes a 400. */
async function correctConnectError(
  body: AsyncIterable<Uint8Array>,
  original: Headers,
): Promise<UniversalServerResponse> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  let bytes: Uint8Array = Buffer.concat(chunks);
  let status = 500;
  const header = new Headers(original);
  try {
    const json = JSON.parse(Buffer.from(bytes).toString("utf8")) as { code?: unknown; message?: unknown };
    if (json.code === "internal" && typeof json.message === "string" && DECODE_FAILURE.test(json.message)) {
      status = 400;
      bytes = Buffer.from(JSON.stringify({ ...json, code: "invalid_argument" }));
      header.set("content-length", String(bytes.byteLength));
    }
  } catch {
    // not a Connect error body: send it as it was
  }
  return { status, header, body: createAsyncIterable([bytes]) };
}

async function* mapChunks(
  body: AsyncIterable<Uint8Array>,
  map: (chunk: Uint8Array) => Uint8Array,
): AsyncIterable<Uint8Array> {
  for await (const chunk of body) yield map(chunk);
}

function decoded(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
