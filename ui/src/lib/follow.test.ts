import { describe, expect, it } from "vitest";
import {
  type Connection,
  type FailureKind,
  FIRST_RETRY_MS,
  follow,
  MAX_RETRY_MS,
  type StreamEvent,
} from "./follow.js";
import type { JsonObject } from "./history-query.js";
import { type LiveJob, LiveModel } from "./live-model.js";

const job = (jobId: string, status = "IN_PROGRESS", version = 1): LiveJob => ({
  jobId,
  status,
  pluginId: "p",
  trustedAccountId: "ta",
  workspaceId: "ws",
  createdAt: "2026-06-15T12:00:00.000Z",
  currentStep: "",
  cancelRequestedAt: "",
  version,
});

class Failure extends Error {
  constructor(readonly kind: FailureKind) {
    super(kind);
  }
}

/**
 * A scripted server: each connection gets the next script, a list of events and then either the end
 * of the stream or a failure. After the last script the test aborts.
 */
function harness(scripts: { events: StreamEvent<LiveJob>[]; ending: "end" | FailureKind }[]) {
  const controller = new AbortController();
  const requests: JsonObject[] = [];
  const connections: Connection[] = [];
  const pauses: number[] = [];
  const signedOut: string[] = [];
  const model = new LiveModel();
  const options = {
    model,
    async *watch(request: JsonObject) {
      requests.push(request);
      const script = scripts[requests.length - 1];
      if (!script) {
        controller.abort();
        return;
      }
      for (const event of script.events) yield event;
      if (script.ending !== "end") throw new Failure(script.ending);
    },
    classify: (error: unknown) => ({
      kind: (error as Failure).kind,
      message: `failed: ${(error as Failure).kind}`,
    }),
    setConnection: (c: Connection) => connections.push(c),
    redraw: () => {},
    onUnauthenticated: (message: string) => signedOut.push(message),
    sleep: async (ms: number) => {
      pauses.push(ms);
    },
    now: () => 0,
  };
  return { run: () => follow(options, controller.signal), requests, connections, pauses, signedOut, model };
}

const snapshot = (id: string, cursor: string): StreamEvent<LiveJob> => ({
  type: "SNAPSHOT",
  cursor,
  job: job(id),
  matches: true,
});
const synced = (cursor: string): StreamEvent<LiveJob> => ({ type: "SYNCED", cursor, matches: true });

describe("following watch", () => {
  it("asks for a snapshot first, then resumes from the last cursor without one", async () => {
    const h = harness([
      { events: [snapshot("a", "c1"), synced("c2")], ending: "transient" },
      {
        events: [{ type: "UPDATED", cursor: "c3", job: job("a", "IN_PROGRESS", 2), matches: true }],
        ending: "end",
      },
    ]);
    await h.run();
    expect(h.requests.map((r) => [r.cursor, r.send_initial])).toEqual([
      ["", true],
      ["c2", false],
      ["c3", false],
    ]);
    expect(h.requests[0]?.query).toEqual({
      filter: [{ k: "status", v: ["PENDING", "IN_PROGRESS"], o: "in" }],
    });
    expect(h.model.runningRows().map((r) => r.job.version)).toEqual([2]);
  });

  it("shows Reconnecting after a failure or the end of the stream, and Live when events flow again", async () => {
    const h = harness([
      { events: [], ending: "transient" },
      { events: [synced("c1")], ending: "end" },
    ]);
    await h.run();
    expect(h.connections.map((c) => c.state)).toEqual(["reconnecting", "live", "reconnecting"]);
    expect(h.connections[0]).toMatchObject({ reason: "failed: transient" });
  });

  it("waits 1, 2, 4 ... up to 15 s between failed attempts, and starts over at 1 s after a success", async () => {
    const failing = Array.from({ length: 6 }, () => ({ events: [], ending: "transient" as const }));
    const h = harness([
      ...failing,
      { events: [synced("c")], ending: "transient" },
      { events: [], ending: "transient" },
    ]);
    await h.run();
    expect(h.pauses).toEqual([1000, 2000, 4000, 8000, MAX_RETRY_MS, MAX_RETRY_MS, FIRST_RETRY_MS, 2000]);
  });

  it("a cursor too old to resume starts again from a fresh snapshot, dropping the old jobs", async () => {
    const h = harness([
      { events: [snapshot("old", "c1"), synced("c2")], ending: "transient" },
      { events: [], ending: "cursor_too_old" },
      { events: [snapshot("new", "d1"), synced("d2")], ending: "end" },
    ]);
    await h.run();
    expect(h.requests.map((r) => r.cursor)).toEqual(["", "c2", "", "d2"]);
    expect(h.requests[2]).toMatchObject({ cursor: "", send_initial: true });
    expect(h.model.runningRows().map((r) => r.job.jobId)).toEqual(["new"]);
  });

  const final: [FailureKind, string][] = [
    ["unimplemented", "unavailable"],
    ["refused", "unavailable"],
  ];
  for (const [kind, state] of final) {
    it(`stops on ${kind} and says live updates are ${state}`, async () => {
      const h = harness([
        { events: [], ending: kind },
        { events: [], ending: "end" },
      ]);
      await h.run();
      expect(h.requests).toHaveLength(1);
      expect(h.connections).toEqual([{ state, reason: `failed: ${kind}` }]);
    });
  }

  it("a refused token ends the session instead of retrying", async () => {
    const h = harness([{ events: [], ending: "unauthenticated" }]);
    await h.run();
    expect(h.signedOut).toEqual(["failed: unauthenticated"]);
    expect(h.requests).toHaveLength(1);
    expect(h.pauses).toEqual([]);
  });
});
