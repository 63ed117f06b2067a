/**
 * A watch event's bytes, once per (event, format), whatever the number of streams it reaches.
 *
 * The watchers share one event object for every stream that receives the same event (watcher.ts:
 * same change, same row, no projection; a projection or a stream-specific event is the watcher's own
 * object). So the encodings hang off the event object: the protobuf binary envelope, the JSON envelope,
 * their compressed variants and the SSE message are built the first time a stream asks for them and
 * then written to each stream as the same buffer. They live as long as the event does (a WeakMap):
 * until the last stream that holds it has written it.
 */
import { create, type Message, toJson } from "@bufbuild/protobuf";
import type { Compression, Serialization } from "@connectrpc/connect/protocol";
import { encodeEnvelope } from "@connectrpc/connect/protocol";
import {
  type JobWatchEvent,
  JobWatchEvent_Type,
  JobWatchEventSchema,
} from "../../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import type { WatchEventView } from "../service/watch/watcher.js";
import { toJobInfo } from "./encode/job-info.js";
import { toJobEventInfo } from "./job-lifecycle-handlers.js";
import type { StreamEncoder } from "./stream/handler.js";
import { compressedFrame } from "./stream/protocol.js";

export function toWatchEvent(view: WatchEventView): JobWatchEvent {
  return create(JobWatchEventSchema, {
    type: JobWatchEvent_Type[view.type],
    cursor: view.cursor,
    job: view.job ? toJobInfo(view.job) : undefined,
    event: view.event ? toJobEventInfo(view.event) : undefined,
    matches: view.matches,
  });
}

interface Encodings {
  message?: JobWatchEvent;
  binary?: Uint8Array;
  json?: Uint8Array;
  /** Compressed envelopes by `<b|j><compression name>`. */
  compressed?: Map<string, Promise<Uint8Array>>;
}

export class WatchEventEncoder implements StreamEncoder<WatchEventView> {
  private readonly encodings = new WeakMap<WatchEventView, Encodings>();

  constructor(
    private readonly serialization: {
      readonly binary: Serialization<Message>;
      readonly json: Serialization<Message>;
    },
  ) {}

  frame(view: WatchEventView, binary: boolean): Uint8Array {
    const e = this.of(view);
    if (binary) {
      e.binary ??= encodeEnvelope(0, this.serialization.binary.serialize(this.message(e, view)));
      return e.binary;
    }
    e.json ??= encodeEnvelope(0, this.serialization.json.serialize(this.message(e, view)));
    return e.json;
  }

  compressedFrame(
    view: WatchEventView,
    binary: boolean,
    compression: Compression,
    minBytes: number,
  ): Promise<Uint8Array> {
    const e = this.of(view);
    e.compressed ??= new Map();
    const key = `${binary ? "b" : "j"}${compression.name}`;
    let frame = e.compressed.get(key);
    if (frame === undefined) {
      const serializer = binary ? this.serialization.binary : this.serialization.json;
      frame = compressedFrame(serializer.serialize(this.message(e, view)), compression, minBytes);
      e.compressed.set(key, frame);
    }
    return frame;
  }

  private of(view: WatchEventView): Encodings {
    let e = this.encodings.get(view);
    if (e === undefined) {
      e = {};
      this.encodings.set(view, e);
    }
    return e;
  }

  private message(e: Encodings, view: WatchEventView): JobWatchEvent {
    e.message ??= toWatchEvent(view);
    return e.message;
  }
}

/** SSE messages by event: they depend on nothing but the event (sse.ts writes them to every stream). */
const sseMessages = new WeakMap<WatchEventView, Buffer>();

/** The Server-Sent Events message (sse.ts): `id:` the cursor, `data:` proto JSON, proto field names. */
export function sseMessage(view: WatchEventView): Buffer {
  let message = sseMessages.get(view);
  if (message === undefined) {
    const data = JSON.stringify(toJson(JobWatchEventSchema, toWatchEvent(view), { useProtoFieldName: true }));
    message = Buffer.from(`id: ${view.cursor}\ndata: ${data}\n\n`);
    sseMessages.set(view, message);
  }
  return message;
}
