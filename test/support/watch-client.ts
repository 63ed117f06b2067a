/**
 * Watch streams as tests read them, over every client the service supports: the generated Connect
 * client on any transport, @grpc/grpc-js on the .proto files, and Server-Sent Events over node:http.
 * Each open stream collects its events (as proto JSON with proto field names, whatever the protocol)
 * and can wait for a condition, be cut (a client disconnect), or report how it ended.
 */
import http from "node:http";
import path from "node:path";
import { fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import { ConnectError, createClient, type Transport } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import {
  JobLifecycle,
  JobWatchEventSchema,
  WatchJobsRequestSchema,
} from "../../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";

const root = path.resolve(import.meta.dirname, "../..");

/** One event as proto JSON (proto field names; `matches` and zero values present only when set). */
export interface WireEvent {
  type: string;
  cursor: string;
  job?: { job_id: string; status?: string; version?: number; [key: string]: unknown };
  event?: { action: string; from_status?: string; to_status: string };
  matches?: boolean;
}

export interface OpenStream {
  readonly events: WireEvent[];
  /** The error code the stream ended with (`resource_exhausted`...), null while open or after a clean end. */
  readonly errorCode: string | null;
  readonly ended: boolean;
  /** Wait until `predicate` holds (throws with the events so far after `ms`). */
  until(predicate: (events: WireEvent[]) => boolean, ms?: number): Promise<void>;
  /** Events other than HEARTBEAT. */
  changes(): WireEvent[];
  /** Disconnect, as a client that goes away. */
  cut(): void;
}

export type WatchRequestJson = Record<string, unknown>;

function collector(): {
  stream: OpenStream;
  push(e: WireEvent): void;
  end(code: string | null): void;
  setCut(fn: () => void): void;
} {
  const events: WireEvent[] = [];
  let errorCode: string | null = null;
  let ended = false;
  let cut = () => {};
  const stream: OpenStream = {
    events,
    get errorCode() {
      return errorCode;
    },
    get ended() {
      return ended;
    },
    async until(predicate, ms = 5000) {
      const stop = Date.now() + ms;
      while (!predicate(events)) {
        if (Date.now() > stop)
          throw new Error(
            `timed out (ended=${ended}, error=${errorCode}); events: ${JSON.stringify(events.slice(-20))}`,
          );
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    changes: () => events.filter((e) => e.type !== "HEARTBEAT"),
    cut: () => cut(),
  };
  return {
    stream,
    push: (e) => events.push(e),
    end: (code) => {
      errorCode = code;
      ended = true;
    },
    setCut: (fn) => {
      cut = fn;
    },
  };
}

/** A watch over a Connect-ES transport (Connect JSON/binary, gRPC, gRPC-Web). */
export function connectWatch(transport: Transport, token: string, request: WatchRequestJson): OpenStream {
  const client = createClient(JobLifecycle, transport);
  const c = collector();
  const abort = new AbortController();
  c.setCut(() => abort.abort());
  (async () => {
    try {
      for await (const message of client.watch(fromJson(WatchJobsRequestSchema, request as JsonValue), {
        headers: { token },
        signal: abort.signal,
      })) {
        c.push(toJson(JobWatchEventSchema, message, { useProtoFieldName: true }) as unknown as WireEvent);
      }
      c.end(null);
    } catch (error) {
      const code = ConnectError.from(error).code;
      c.end(abort.signal.aborted ? null : codeName(code));
    }
  })();
  return c.stream;
}

function codeName(code: number): string {
  const names = [
    "ok",
    "canceled",
    "unknown",
    "invalid_argument",
    "deadline_exceeded",
    "not_found",
    "already_exists",
    "permission_denied",
    "resource_exhausted",
    "failed_precondition",
    "aborted",
    "out_of_range",
    "unimplemented",
    "internal",
    "unavailable",
    "data_loss",
    "unauthenticated",
  ];
  return names[code] ?? `code ${code}`;
}

/** A watch with @grpc/grpc-js on the .proto files (an independent gRPC implementation). */
export function grpcJsWatch(url: string, token: string, request: WatchRequestJson): OpenStream {
  const definition = protoLoader.loadSync("spaceone/api/identity/v2/job_lifecycle.proto", {
    keepCase: true,
    enums: String,
    defaults: false,
    includeDirs: [
      path.join(root, "proto"),
      path.join(root, "third_party"),
      path.join(root, "node_modules/google-proto-files"),
    ],
  });
  // biome-ignore lint/suspicious/noExplicitAny: grpc-js package definitions are untyped
  const pkg = grpc.loadPackageDefinition(definition) as any;
  const client = new pkg.spaceone.api.identity.v2.JobLifecycle(
    url.replace("http://", ""),
    grpc.credentials.createInsecure(),
  );
  const metadata = new grpc.Metadata();
  metadata.set("token", token);
  const c = collector();
  const call = client.watch(request, metadata);
  let cut = false;
  c.setCut(() => {
    cut = true;
    call.cancel();
    client.close();
  });
  // biome-ignore lint/suspicious/noExplicitAny: proto-loader objects
  call.on("data", (message: any) => {
    const event: WireEvent = { type: message.type, cursor: message.cursor };
    if (message.job) event.job = message.job;
    if (message.event) event.event = message.event;
    if (message.matches) event.matches = true;
    c.push(event);
  });
  // 'status' comes last, whether the call ended well or not ('end' can come before an 'error').
  call.on("error", () => {});
  call.on("status", (status: grpc.StatusObject) => {
    c.end(cut || status.code === grpc.status.OK ? null : codeName(status.code));
    client.close();
  });
  return c.stream;
}

/** `POST /identity/v2/job/watch` read as text/event-stream over HTTP/1.1. */
export function sseWatch(
  url: string,
  token: string,
  request: WatchRequestJson,
  headers: Record<string, string> = {},
): OpenStream & { readonly status: Promise<number>; readonly ids: string[] } {
  const c = collector();
  const ids: string[] = [];
  let setStatus: (s: number) => void = () => {};
  const status = new Promise<number>((resolve) => {
    setStatus = resolve;
  });
  const body = JSON.stringify(request);
  const req = http.request(`${url}/identity/v2/job/watch`, {
    method: "POST",
    headers: { "content-type": "application/json", token, ...headers },
  });
  let cut = false;
  c.setCut(() => {
    cut = true;
    req.destroy();
  });
  req.on("response", (res) => {
    setStatus(res.statusCode ?? 0);
    res.setEncoding("utf8");
    let buffer = "";
    res.on("data", (chunk: string) => {
      buffer += chunk;
      for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const fields: Record<string, string> = {};
        for (const line of message.split("\n")) {
          const colon = line.indexOf(":");
          if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1).trimStart();
        }
        if (fields.event === "error") {
          const detail = JSON.parse(fields.data ?? "{}").detail as { code: string };
          c.end(detail.code === "ERROR_WATCH_TOO_SLOW" ? "resource_exhausted" : detail.code);
          continue;
        }
        if (fields.id !== undefined) ids.push(fields.id);
        if (fields.data) c.push(JSON.parse(fields.data) as WireEvent);
      }
    });
    res.on("end", () => {
      if (!c.stream.ended) c.end(res.statusCode === 200 ? null : `http ${res.statusCode}`);
    });
    res.on("error", () => {
      if (!c.stream.ended) c.end(cut ? null : "reset");
    });
  });
  req.on("error", () => {
    if (!c.stream.ended) c.end(cut ? null : "reset");
  });
  req.end(body);
  return Object.assign(c.stream, { status, ids });
}
