/**
 * `jobctl watch` after a dropped connection: it runs against a real server through a TCP proxy that
 * the test resets twice mid-stream while a worker keeps writing (the writes go straight to the
 * server, so some land while jobctl is disconnected). jobctl must resume from its last cursor and
 * print every change exactly once: its events are checked against a second watch, opened straight
 * to the server from the same starting point and never cut.
 */
import { PassThrough } from "node:stream";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobLifecycle } from "../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import { JobInfo_ResourceGroup } from "../gen/spaceone/api/identity/v2/job_pb.js";
import { EXIT } from "../src/cli/jobctl/exit-codes.js";
import { runJobctl } from "../src/cli/jobctl/main.js";
import { NOW } from "./support/fixture.js";
import { startTestServer, type TestServer } from "./support/server.js";
import { startTcpProxy, type TcpProxy } from "./support/tcp-proxy.js";
import { connectWatch, type WireEvent } from "./support/watch-client.js";

let server: TestServer;
let proxy: TcpProxy;

beforeAll(async () => {
  server = await startTestServer();
  const { port } = new URL(server.url);
  proxy = await startTcpProxy({ host: "127.0.0.1", port: Number(port) });
});
afterAll(async () => {
  await proxy?.close();
  await server?.close();
});

const later = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(predicate: () => boolean, what: string, ms = 20_000): Promise<void> {
  const stop = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > stop) throw new Error(`timed out waiting for ${what}`);
    await later(10);
  }
}

describe("jobctl watch across dropped connections", () => {
  it("resumes from its cursor: every change once, none lost, none repeated", async () => {
    const admin = await server.token("DOMAIN_ADMIN");
    const headers = { token: await server.systemToken("orchestrator"), x_workspace_id: "ws-1" };
    const lifecycle = createClient(
      JobLifecycle,
      createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
    );
    const job = await lifecycle.create(
      {
        trustedAccountId: "ta-reconnect",
        workspaceId: "ws-1",
        resourceGroup: JobInfo_ResourceGroup.WORKSPACE,
      },
      { headers },
    );
    await lifecycle.start({ jobId: job.jobId }, { headers });

    // jobctl through the proxy, as JSON lines (one event per line, cursor included).
    let stdout = "";
    let stderr = "";
    const sink = (append: (text: string) => void) => {
      const stream = new PassThrough();
      stream.on("data", (chunk) => append(String(chunk)));
      return stream as unknown as NodeJS.WriteStream;
    };
    const stop = new AbortController();
    const run = runJobctl(["watch", "--workspace", "ws-1", "-o", "json", "--reconnect-ms", "200"], {
      stdout: sink((t) => {
        stdout += t;
      }),
      stderr: sink((t) => {
        stderr += t;
      }),
      env: { JOB_SERVICE_URL: proxy.url, TOKEN: admin },
      now: () => NOW.getTime(),
      stop: stop.signal,
    });
    const printed = (): WireEvent[] =>
      stdout
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as WireEvent);
    // The snapshot (with our running job) is printed once jobctl is live.
    await until(
      () => printed().some((e) => e.type === "SNAPSHOT" && e.job?.job_id === job.jobId),
      "the snapshot",
    );
    const start = (printed().find((e) => e.type === "SNAPSHOT") as WireEvent).cursor;

    // The reference: a watch from the snapshot's cursor, straight to the server, never cut.
    const reference = connectWatch(
      createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
      admin,
      { workspace_id: "ws-1", cursor: start },
    );
    await reference.until((events) => events.length > 0);

    const WRITES = 60;
    let cuts = 0;
    for (let i = 1; i <= WRITES; i++) {
      await lifecycle.report_progress(
        { jobId: job.jobId, progressPercent: i, currentStep: `step-${i}` },
        { headers },
      );
      if (i === 20 || i === 40) {
        // Only once jobctl is connected again (the first cut must not hit a reconnecting client).
        await until(() => proxy.accepted > cuts, `jobctl to reconnect (its stderr: ${stderr})`);
        expect(proxy.cut()).toBeGreaterThan(0);
        cuts++;
      }
      await later(15);
    }
    await lifecycle.succeed({ jobId: job.jobId }, { headers });

    const finished = (events: WireEvent[]) =>
      events.some((e) => e.job?.job_id === job.jobId && e.job.status === "SUCCESS");
    await reference.until(finished, 20_000);
    await until(() => finished(printed()), "jobctl to print the job's end");
    reference.cut();
    stop.abort();
    expect(await run).toBe(EXIT.ok);

    // It did lose its connection twice, and came back each time from its cursor.
    expect(cuts).toBe(2);
    expect(proxy.accepted).toBeGreaterThanOrEqual(3);
    expect(stderr.match(/connection lost .*reconnecting from the last cursor/g)).toHaveLength(2);

    const live = (events: WireEvent[]) =>
      events.filter((e) => !["HEARTBEAT", "SNAPSHOT", "SYNCED"].includes(e.type));
    const expected = live(reference.events);
    const got = live(printed());
    // Every progress report and the success reached the reference watch...
    const ours = expected.filter((e) => e.job?.job_id === job.jobId);
    expect(ours.length).toBe(WRITES + 1);
    // ...and jobctl printed exactly the same events: same cursors, in the same order, each once.
    expect(got.map((e) => e.cursor)).toEqual(expected.map((e) => e.cursor));
    expect(new Set(got.map((e) => e.cursor)).size).toBe(got.length);
    // An event carries the job as read when it was delivered (docs/watch.md): a catch-up after a
    // reconnect may read a newer state than the live reference did, never an older one.
    const versions = got.filter((e) => e.job?.job_id === job.jobId).map((e) => Number(e.job?.version));
    expect(versions.length).toBe(WRITES + 1);
    for (let i = 1; i < versions.length; i++)
      expect(versions[i]).toBeGreaterThanOrEqual(versions[i - 1] as number);
  }, 60_000);
});
