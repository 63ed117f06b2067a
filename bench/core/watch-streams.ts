/**
 * N open watch streams of one job each (Connect binary over h2c, spread over the given HTTP/2
 * connections), as `watch_delivery` and bench/watch-memory.ts open them: the first event of a stream
 * without send_initial is a HEARTBEAT, which says the stream is live.
 */
import { setMaxListeners } from "node:events";
import { createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import {
  JobLifecycle,
  type JobWatchEvent,
  JobWatchEvent_Type,
} from "../../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import { sleep } from "./measure.js";

/** One Connect binary transport per HTTP/2 connection. */
export function h2Transports(baseUrl: string, connections: number): Transport[] {
  return Array.from({ length: connections }, () =>
    createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true }),
  );
}

export interface WatchStreams {
  /** Resolves once every stream got its first HEARTBEAT; rejects if one failed first. */
  readonly open: Promise<void>;
  /** Streams that failed while not being closed (under load: a stream cut off). */
  failures(): number;
  /** Close every stream and wait for their loops to end. */
  close(): Promise<void>;
}

export function openWatchStreams(options: {
  readonly transports: readonly Transport[];
  readonly streams: number;
  readonly jobIds: readonly string[];
  readonly token: string;
  /** Every event after the first HEARTBEAT of its stream. */
  readonly onEvent?: (event: JobWatchEvent) => void;
  readonly log?: (line: string) => void;
}): WatchStreams {
  const { transports, streams, jobIds } = options;
  const aborts = new AbortController();
  setMaxListeners(streams + 10, aborts.signal);
  let opened = 0;
  let failures = 0;
  const live: Promise<void>[] = [];
  for (let i = 0; i < streams; i++) {
    const client = createClient(JobLifecycle, transports[i % transports.length] as Transport);
    live.push(
      (async () => {
        let first = true;
        try {
          for await (const event of client.watch(
            { jobId: jobIds[i % jobIds.length] },
            { headers: { token: options.token }, signal: aborts.signal },
          )) {
            if (first && event.type === JobWatchEvent_Type.HEARTBEAT) {
              first = false;
              opened++;
              continue;
            }
            options.onEvent?.(event);
          }
        } catch (error) {
          if (!aborts.signal.aborted) {
            failures++;
            if (failures === 1) options.log?.(`a stream failed: ${String(error)}`);
          }
        }
      })(),
    );
  }
  const open = (async () => {
    while (opened < streams) {
      if (failures > 0) throw new Error(`${failures} of ${streams} streams failed to open`);
      await sleep(50);
    }
  })();
  return {
    open,
    failures: () => failures,
    async close() {
      aborts.abort();
      await Promise.allSettled(live);
    },
  };
}
