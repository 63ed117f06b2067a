/**
 * Expensive but valid requests (issue 9): run as a WORKSPACE_MEMBER against the service in a child
 * process with a 256 MB heap, while a second client keeps calling `get`. Every expensive request must
 * be refused up front (invalid_argument naming the limit) or end with its answer, at its deadline
 * (deadline_exceeded) or at the answer size limit (resource_exhausted); the server never dies; the
 * other client's `get` p99 stays under 100 ms; the server's RSS stays under 256 MB past its start.
 *
 * `npm test` runs each request once; `npm run test:soak` (EXPENSIVE_ROUNDS, default 5 there) repeats
 * the whole list.
 */
import { type ChildProcess, fork } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_QUERY_LIMITS as L } from "../../src/query/cost.js";
import { buildChild } from "../support/build-child.js";

const ROUNDS = Number(process.env.EXPENSIVE_ROUNDS ?? (process.env.SOAK === "1" ? 5 : 1));
const DEADLINE_MS = 5_000;
/** The fewest `get` calls the other client makes while the cases run (so its p99 means something). */
const MIN_GET_SAMPLES = 50;
/** The most times the list runs to reach MIN_GET_SAMPLES. */
const MAX_ROUNDS = 20;
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
const HEAP_LIMIT_MB = 256;
/** Each read worker's heap: two of them and the main heap's working set stay under HEAP_LIMIT_MB. */
const WORKER_HEAP_MB = 48;
/** Set to a folder to have the child write a V8 CPU profile there (`--cpu-prof`) when it stops. */
const CPU_PROFILE_DIR = process.env.EXPENSIVE_CPU_PROF;

interface Ready {
  url: string;
  member: string;
  jobId: string;
  jobs: number;
}

let child: ChildProcess;
let ready: Ready;
let exitCode: number | string | null = null;
let getP99 = 0;

function next<T>(predicate: (message: Record<string, unknown>) => boolean): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`server exited (${code})`));
    const onMessage = (message: unknown) => {
      if (typeof message === "object" && message !== null && predicate(message as Record<string, unknown>)) {
        child.off("message", onMessage);
        child.off("exit", onExit);
        resolve(message as T);
      }
    };
    child.on("message", onMessage);
    child.once("exit", onExit);
  });
}

async function rssMb(): Promise<number> {
  const answer = next<{ mem: { rss: number } }>((m) => "mem" in m);
  child.send("rss");
  return (await answer).mem.rss / 1024 / 1024;
}

beforeAll(async () => {
  // Compiled, as production runs: no TypeScript loader in the child or its read workers.
  const entry = await buildChild("test/support/expensive-server.ts");
  child = fork(entry, [], {
    execArgv: [
      `--max-old-space-size=${HEAP_LIMIT_MB}`,
      "--expose-gc",
      "--enable-source-maps",
      ...(CPU_PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${CPU_PROFILE_DIR}`] : []),
    ],
    env: {
      ...process.env,
      MAX_RESPONSE_BYTES: String(MAX_RESPONSE_BYTES),
      MAX_TIMEOUT_MS: "10000",
      // list and stat on the read pool, as deployed (the default is 2 workers).
      DATABASE_READ_WORKERS: "2",
      DATABASE_READ_WORKER_HEAP_MB: String(WORKER_HEAP_MB),
    },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  child.once("exit", (code, signal) => {
    exitCode = code ?? signal;
  });
  ready = await next<Ready>((m) => m.ready === true);
}, 120_000);

afterAll(async () => {
  if (exitCode === null) {
    child.send("stop");
    await new Promise((resolve) => child.once("exit", resolve));
  }
});

async function call(
  method: string,
  body: unknown,
): Promise<{ status: number; code: string; text: string; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${ready.url}/spaceone.api.identity.v2.Job/${method}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      token: ready.member,
      "connect-timeout-ms": String(DEADLINE_MS),
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const code =
    res.status === 200 ? "ok" : ((JSON.parse(text) as { code?: string }).code ?? String(res.status));
  return { status: res.status, code, text, ms: performance.now() - started };
}

const values = (n: number, prefix = "v") => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const group = (fields: unknown[], keys: unknown[] = [{ k: "status", n: "status" }]) => ({
  group: { keys, fields },
});
const pushes = (n: number) => Array.from({ length: n }, (_, i) => ({ o: "push", k: "options", n: `p${i}` }));

/** [name, method, body, the outcomes allowed, the limit an up-front refusal must name]. */
type Case = [string, "list" | "stat", unknown, readonly string[], string?];
const REFUSED = ["invalid_argument"] as const;
const BOUNDED = ["ok", "deadline_exceeded", "resource_exhausted"] as const;

const CASES: Case[] = [
  [
    "9.1: 24 push fields of whole options",
    "stat",
    { query: { aggregate: [group(pushes(24))] } },
    REFUSED,
    "STAT_MAX_COLLECT_FIELDS",
  ],
  [
    "9.1 at the bound: push fields of whole options",
    "stat",
    { query: { aggregate: [group(pushes(L.maxCollectFields))] } },
    BOUNDED,
  ],
  [
    "9.2: push under several names, unwind each",
    "stat",
    {
      query: {
        aggregate: [
          group([
            { o: "push", k: "options", n: "a" },
            { o: "push", k: "options", n: "b" },
            { o: "push", k: "options", n: "c" },
          ]),
          { unwind: { path: "a" } },
          { unwind: { path: "b" } },
          { unwind: { path: "c" } },
          { count: { name: "n" } },
        ],
      },
    },
    REFUSED,
    "STAT_MAX_UNWINDS",
  ],
  [
    "9.2 at the bound: push all, unwind once, group again",
    "stat",
    {
      query: {
        aggregate: [
          group([{ o: "push", k: "job_id", n: "ids" }], []),
          { unwind: { path: "ids" } },
          group([{ o: "count", n: "n" }], [{ k: "ids", n: "id" }]),
        ],
      },
    },
    BOUNDED,
  ],
  [
    "9.3: regex_in with 600 patterns",
    "list",
    {
      query: {
        filter_or: [0, 1, 2].map((i) => ({ k: "error_message", v: values(200, `p${i}.*`), o: "regex_in" })),
      },
    },
    REFUSED,
    "QUERY_MAX_REGEX_PATTERNS",
  ],
  [
    "9.3 at the bound: regex_in, the most patterns of the most total length",
    "list",
    {
      query: {
        filter: [
          {
            k: "error_message",
            v: Array.from({ length: L.maxRegexPatterns }, (_, i) =>
              `(a|b)*${String(i).padStart(3, "0")}${"[a-z]*x".repeat(8)}`.slice(
                0,
                L.maxRegexTotalLength / L.maxRegexPatterns,
              ),
            ),
            o: "regex_in",
          },
        ],
      },
    },
    BOUNDED,
  ],
  [
    "9.6: 1,000 AND conditions",
    "list",
    { query: { filter: Array.from({ length: 1000 }, (_, i) => ({ k: "job_id", v: `x${i}`, o: "not" })) } },
    REFUSED,
    "QUERY_MAX_CONDITIONS",
  ],
  [
    "maximal filter: every list value, the most of them on options paths",
    "list",
    {
      query: {
        filter: [
          ...Array.from({ length: L.maxTotalValues / L.maxListValues - 1 }, (_, i) => ({
            k: ["job_id", "plugin_id", "trusted_account_id"][i % 3],
            v: values(L.maxListValues),
            o: "not_in",
          })),
          { k: "options.provider", v: values(L.maxPathValues), o: "not_in" },
          { k: "error_message", v: values(L.maxListValues - L.maxPathValues), o: "not_contain_in" },
        ],
      },
    },
    BOUNDED,
  ],
  [
    "maximal OR of contain_in",
    "list",
    {
      query: {
        filter_or: Array.from({ length: 8 }, () => ({
          k: "error_message",
          v: values(L.maxListValues),
          o: "contain_in",
        })),
      },
    },
    BOUNDED,
  ],
  [
    "wide projection, unpaged",
    "list",
    {
      query: { only: Array.from({ length: L.maxFields }, (_, i) => (i === 0 ? "options" : `options.f${i}`)) },
    },
    BOUNDED,
  ],
  [
    "nested pipeline at the stage bound",
    "stat",
    {
      query: {
        aggregate: [
          group(
            [
              { o: "count", n: "n" },
              { o: "add_to_set", k: "plugin_id", n: "plugins" },
            ],
            [
              { k: "status", n: "s" },
              { k: "plugin_id", n: "p" },
            ],
          ),
          ...Array.from({ length: L.maxStages - 2 }, (_, i) =>
            i % 2 === 0 ? { sort: [{ key: "n", desc: true }] } : { skip: 0 },
          ),
          { limit: 100 },
        ],
      },
    },
    BOUNDED,
  ],
  [
    "too many stages",
    "stat",
    { query: { aggregate: Array.from({ length: L.maxStages + 1 }, () => ({ skip: 0 })) } },
    REFUSED,
    "STAT_MAX_STAGES",
  ],
  [
    "fan-out by options lists: unwind then group by element",
    "stat",
    {
      query: {
        aggregate: [
          { unwind: { path: "options.regions" } },
          group([{ o: "push", k: "options", n: "all" }], [{ k: "options.regions", n: "r" }]),
        ],
      },
    },
    BOUNDED,
  ],
];

async function get(): Promise<number> {
  const res = await fetch(`${ready.url}/spaceone.api.identity.v2.Job/get`, {
    method: "POST",
    headers: { "content-type": "application/json", token: ready.member },
    body: JSON.stringify({ job_id: ready.jobId }),
  });
  await res.text();
  return res.status;
}

/**
 * A served process has run its request paths before: take each once (a get, a small list and stat
 * on the pool, a refusal) so what follows measures serving, not the first compile of each path.
 * None of the cases below runs here.
 */
async function warmUp(): Promise<void> {
  for (let i = 0; i < 20; i++) expect(await get()).toBe(200);
  expect((await call("list", { query: { page: { limit: 10 } } })).code).toBe("ok");
  expect((await call("stat", { query: { aggregate: [group([{ o: "count", n: "n" }])] } })).code).toBe("ok");
  expect((await call("list", { query: { page: { limit: -1 } } })).code).toBe("invalid_argument");
}

describe("expensive requests as WORKSPACE_MEMBER on a 256 MB heap, with get alongside", () => {
  it("each is refused up front or ends with a clear code; the server lives; RSS bounded; get never fails", async () => {
    expect(ready.jobs).toBeGreaterThan(100);
    expect(CASES.length).toBeGreaterThan(10);
    await warmUp();
    // Every sample is taken while the cases run: none from before or after, when the server idles.
    const latencies: number[] = [];
    let stop = false;
    let getErrors = 0;
    const getLoop = (async () => {
      while (!stop) {
        const started = performance.now();
        if ((await get()) !== 200) getErrors++;
        latencies.push(performance.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const outcomes: string[] = [`start RSS ${(await rssMb()).toFixed(0)} MB`];
    let peakRss = 0;
    try {
      // The list again while the other client has too few samples for a p99 (the cases can all end in
      // well under a second), so every sample is still taken while a case runs.
      for (
        let round = 0;
        round < ROUNDS || (latencies.length < MIN_GET_SAMPLES && round < MAX_ROUNDS);
        round++
      ) {
        for (const [name, method, body, allowed, limit] of CASES) {
          const before = latencies.length;
          const answer = await call(method, body);
          const worstGet = Math.max(0, ...latencies.slice(before));
          outcomes.push(
            `${name}: ${answer.code} in ${answer.ms.toFixed(0)} ms (${latencies.length - before} gets, slowest ${worstGet.toFixed(0)} ms)`,
          );
          expect(allowed, `${name}: ${answer.text.slice(0, 300)}`).toContain(answer.code);
          if (limit) expect(answer.text, name).toContain(limit);
          // A refusal is up front; anything else ends by the deadline (plus transfer and scheduling).
          expect(answer.ms, name).toBeLessThan(
            answer.code === "invalid_argument" ? 1_000 : DEADLINE_MS + 3_000,
          );
          peakRss = Math.max(peakRss, await rssMb());
          expect(exitCode, `server died after ${name}`).toBeNull();
        }
      }
    } finally {
      stop = true;
      await getLoop;
    }
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.floor(latencies.length * 0.99)] as number;
    console.log(
      `${outcomes.join("\n")}\nget: ${latencies.length} calls, p50 ${latencies[latencies.length >> 1]?.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${latencies.at(-1)?.toFixed(0)} ms; server peak RSS ${peakRss.toFixed(0)} MB`,
    );
    expect(getErrors).toBe(0);
    expect(latencies.length).toBeGreaterThanOrEqual(MIN_GET_SAMPLES);
    expect(peakRss).toBeLessThan(HEAP_LIMIT_MB);
    getP99 = p99;
  }, 600_000);

  // `npm test` runs this file alone, after every other file (package.json), and `npm run test:soak`
  // runs it beside the soak: the figure is the service's, not that of other suites sharing the 2 cores.
  // On a quiet machine, three runs alone: p99 33.7 ms over 88 gets (max 34), 27.0 over 80, 27.4 over 84
  // (docs/limits.md). Inside a parallel run of every file at once it measured 67-599 ms.
  it("the other client's get p99 stays under 100 ms (list and stat run on the read pool)", () => {
    expect(getP99).toBeGreaterThan(0);
    expect(getP99).toBeLessThan(100);
  });
});
