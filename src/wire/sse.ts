/**
 * `POST /identity/v2/job/watch` (and `/identity/job/watch`) as Server-Sent Events: the JSON watch
 * request in, `text/event-stream` out, one event per message. Each message's `id:` is the event's
 * cursor and its `data:` the JobWatchEvent in proto JSON (proto field names), so `curl -N` shows jobs
 * live, and a client that reconnects with `Last-Event-ID` resumes after the last event it got (the
 * header wins over the body's `cursor` and `send_initial`). A request refused before the stream starts
 * gets the usual REST error body and status; an error later is a last `event: error` message with the
 * same `{"detail": ...}` body.
 */
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { WatchJobsRequestSchema } from "../../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import type { Principal } from "../auth/principal.js";
import { authenticate, type TokenVerifier } from "../auth/token.js";
import { errors, SpaceOneError } from "../errors.js";
import type { WatchService } from "../service/watch/watch-service.js";
import type { WatchEventView } from "../service/watch/watcher.js";
import { restErrorOf, toConnectError } from "./errors.js";
import { watchRequestJson, watchViews } from "./job-watch-handlers.js";
import type { NodeMiddleware } from "./rest.js";
import { isJsonOrMissing, writeRestError } from "./rest.js";
import type { NodeRequest, NodeResponse } from "./server.js";
import { sseMessage } from "./watch-event-encoding.js";

export const SSE_WATCH_PATHS: readonly string[] = ["/identity/v2/job/watch", "/identity/job/watch"];

export interface SseOptions {
  readonly service: WatchService;
  readonly verifier: TokenVerifier;
  readonly maxBodyBytes: number;
  /** Aborted at shutdown: open streams end cleanly (clients resume elsewhere with Last-Event-ID). */
  readonly shutdownSignal?: AbortSignal;
  /** An unexpected error (answered as `internal`), with the request it happened in. */
  readonly onUnknown: (error: unknown, req: NodeRequest) => void;
  /** Told who is calling once the token is verified (the access log's caller, as Connect calls have). */
  readonly onCaller?: (req: NodeRequest, principal: Principal) => void;
  /** Told the error a call ended with, before the stream or inside it (the access log's code). */
  readonly onError?: (req: NodeRequest, error: ConnectError) => void;
}

export function createSseWatchHandler(options: SseOptions): NodeMiddleware {
  const paths = new Set(SSE_WATCH_PATHS);
  return (req, res, next) => {
    const path = (req.url ?? "").split("?")[0] ?? "";
    if (!paths.has(path)) {
      next();
      return;
    }
    serve(options, req, res).catch((error) => {
      options.onUnknown(error, req);
      if (!res.headersSent) fail(options, req, res, error);
      else res.end();
    });
  };
}

async function serve(options: SseOptions, req: NodeRequest, res: NodeResponse): Promise<void> {
  if (req.method !== "POST") {
    writeRestError(
      res,
      405,
      "ERROR_METHOD_NOT_ALLOWED",
      `Method is not allowed. (method = ${req.method ?? ""}, allowed = POST)`,
      { allow: "POST" },
    );
    return;
  }
  if (!isJsonOrMissing(req.headers["content-type"])) {
    writeRestError(
      res,
      415,
      "ERROR_UNSUPPORTED_MEDIA_TYPE",
      "Content type is not supported. (supported = application/json)",
    );
    return;
  }
  const abort = new AbortController();
  const onClose = () => abort.abort();
  res.on("close", onClose);
  const onShutdown = () => abort.abort();
  options.shutdownSignal?.addEventListener("abort", onShutdown, { once: true });
  try {
    const principal = await authenticate(options.verifier, headersOf(req));
    options.onCaller?.(req, principal);
    const request = watchRequestJson(parseRequest(await readBody(req, options.maxBodyBytes)));
    const lastEventId = header(req, "last-event-id");
    if (lastEventId) {
      request.cursor = lastEventId;
      request.send_initial = false;
    }
    const stream = watchViews(options.service, principal, request, abort.signal, (error) =>
      options.onUnknown(error, req),
    );
    // The first event comes at once (HEARTBEAT or the snapshot); an invalid request fails before it.
    let first: IteratorResult<unknown>;
    try {
      first = await stream.next();
    } catch (error) {
      fail(options, req, res, error);
      return;
    }
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      // Proxies that buffer responses (nginx) must pass each event on at once.
      "x-accel-buffering": "no",
    });
    let result = first;
    try {
      while (!result.done) {
        // One message per event, shared by every SSE stream that receives it.
        if (!(await write(res, sseMessage(result.value as WatchEventView), abort.signal))) return;
        result = await stream.next();
      }
    } catch (error) {
      const connectError = toConnectError(error);
      options.onError?.(req, connectError);
      const { body } = restErrorOf(connectError);
      await write(res, `event: error\ndata: ${JSON.stringify(body)}\n\n`, abort.signal);
    }
    res.end();
  } catch (error) {
    fail(options, req, res, error);
  } finally {
    res.off("close", onClose);
    options.shutdownSignal?.removeEventListener("abort", onShutdown);
  }
}

/** Write a chunk, waiting for the socket to drain; false when the client is gone. */
async function write(res: NodeResponse, chunk: string | Uint8Array, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted || res.destroyed) return false;
  if ((res as { write(chunk: string | Uint8Array): boolean }).write(chunk)) return true;
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      res.off("drain", onDrain);
      signal.removeEventListener("abort", onAbort);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onAbort = () => done(false);
    res.on("drain", onDrain);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function fail(options: SseOptions, req: NodeRequest, res: NodeResponse, error: unknown): void {
  const connectError = error instanceof ConnectError ? error : toConnectError(error);
  options.onError?.(req, connectError);
  const { status, body } = restErrorOf(connectError);
  writeRestError(res, status, body.detail.code, body.detail.message);
}

function parseRequest(body: Buffer) {
  let json: JsonValue;
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(body);
    json = (text.trim() === "" ? {} : JSON.parse(text)) as JsonValue;
  } catch {
    throw errors.invalidParameter("request", "the body is not JSON");
  }
  try {
    return fromJson(WatchJobsRequestSchema, json, { ignoreUnknownFields: false });
  } catch (error) {
    throw errors.invalidParameter("request", (error as Error).message);
  }
}

async function readBody(req: NodeRequest, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      throw new SpaceOneError(
        "ERROR_REQUEST_TOO_LARGE",
        "resource_exhausted",
        `The request body is larger than ${max} bytes.`,
      );
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function header(req: NodeRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function headersOf(req: NodeRequest): Headers {
  const headers = new Headers();
  for (const [key, value] of Object.entries(req.headers)) {
    if (key.startsWith(":") || value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(key, v);
  }
  return headers;
}
