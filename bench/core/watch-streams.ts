/**
 * N open watch streams of one job each (Connect streaming, binary, over h2c, spread over the given
 * HTTP/2 sessions), as `watch_delivery` and bench/watch-memory.ts open them: the first event of a
 * stream without send_initial is a HEARTBEAT, which says the stream is live.
 *
 * The streams are read with plain `node:http2` and protobuf-es, not with the generated connect-es
 * client: 1,000 streams in one process at 5,000 events/s cost connect-es's client ~160 µs of CPU per
 * event (its per-stream pipeline of async iterables), so the benchmark's client, not the service, set the
 * delivery latency. Here an event costs one envelope split and one `fromBinary`.
 */
import http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  type JobWatchEvent,
  JobWatchEvent_Type,
  JobWatchEventSchema,
  WatchJobsRequestSchema,
} from "../../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import { h2Connect, h2Exchange } from "../../test/support/http-client.js";
import { sleep } from "./measure.js";

const WATCH_PATH = "/spaceone.api.identity.v2.JobLifecycle/watch";
/** Connect's envelope flag of the stream's last message (the end-of-stream JSON). */
const END_STREAM = 0x02;

/**
 * `connections` h2c sessions, each with one unary call done (a `get` of `jobId`), so that what is
 * measured after this holds the streams, not the sessions.
 */
export async function h2Sessions(
  baseUrl: string,
  connections: number,
  warm: { jobId: string; token: string },
): Promise<http2.ClientHttp2Session[]> {
  const sessions: http2.ClientHttp2Session[] = [];
  for (let i = 0; i < connections; i++) {
    const session = await h2Connect(baseUrl);
    await h2Exchange(session, {
      path: "/spaceone.api.identity.v2.Job/get",
      headers: { "content-type": "application/json", token: warm.token },
      body: JSON.stringify({ job_id: warm.jobId }),
    });
    sessions.push(session);
  }
  return sessions;
}

export interface WatchStreams {
  /** Resolves once every stream got its first HEARTBEAT; rejects if one failed first. */
  readonly open: Promise<void>;
  /** Streams that ended while not being closed (under load: a stream cut off). */
  failures(): number;
  /** Close every stream and wait until they have ended. */
  close(): Promise<void>;
}

export function openWatchStreams(options: {
  readonly sessions: readonly http2.ClientHttp2Session[];
  readonly streams: number;
  readonly jobIds: readonly string[];
  readonly token: string;
  /** Every event after the first HEARTBEAT of its stream. */
  readonly onEvent?: (event: JobWatchEvent) => void;
  readonly log?: (line: string) => void;
}): WatchStreams {
  const { sessions, streams, jobIds } = options;
  let opened = 0;
  let failures = 0;
  let closing = false;
  const live: Promise<void>[] = [];
  const open: http2.ClientHttp2Stream[] = [];
  const fail = (why: string) => {
    if (closing) return;
    failures++;
    if (failures === 1) options.log?.(`a stream failed: ${why}`);
  };
  for (let i = 0; i < streams; i++) {
    const session = sessions[i % sessions.length] as http2.ClientHttp2Session;
    const request = toBinary(
      WatchJobsRequestSchema,
      create(WatchJobsRequestSchema, { jobId: jobIds[i % jobIds.length] }),
    );
    const stream = session.request({
      ":method": "POST",
      ":path": WATCH_PATH,
      "content-type": "application/connect+proto",
      "connect-protocol-version": "1",
      token: options.token,
    });
    stream.end(envelope(request));
    open.push(stream);
    let first = true;
    let pending: Buffer = Buffer.alloc(0);
    stream.on("response", (headers) => {
      if (headers[":status"] !== 200) fail(`HTTP ${headers[":status"]}`);
    });
    stream.on("data", (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let at = 0;
      while (pending.length - at >= 5) {
        const length = pending.readUInt32BE(at + 1);
        if (pending.length - at - 5 < length) break;
        const flags = pending[at] as number;
        const body = pending.subarray(at + 5, at + 5 + length);
        at += 5 + length;
        if (flags & END_STREAM) {
          const end = JSON.parse(body.toString("utf8") || "{}") as { error?: { code?: string } };
          if (end.error) fail(`ended with ${end.error.code}`);
          continue;
        }
        const event = fromBinary(JobWatchEventSchema, body);
        if (first && event.type === JobWatchEvent_Type.HEARTBEAT) {
          first = false;
          opened++;
          continue;
        }
        options.onEvent?.(event);
      }
      pending = at === pending.length ? Buffer.alloc(0) : pending.subarray(at);
    });
    live.push(
      new Promise<void>((resolve) => {
        stream.on("error", (error) => fail(String(error)));
        stream.on("close", () => {
          if (!closing) fail(`stream closed (${stream.rstCode ?? "no RST"})`);
          resolve();
        });
      }),
    );
  }
  const ready = (async () => {
    while (opened < streams) {
      if (failures > 0) throw new Error(`${failures} of ${streams} streams failed to open`);
      await sleep(50);
    }
  })();
  return {
    open: ready,
    failures: () => failures,
    async close() {
      closing = true;
      for (const stream of open) stream.close(http2.constants.NGHTTP2_CANCEL);
      await Promise.allSettled(live);
    },
  };
}

/** One Connect envelope (flags 0) around a message. */
function envelope(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}
