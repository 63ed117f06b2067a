/**
 * `npx tsx bench/get-steps.ts --before DIR [--db FILE] [--rounds R] [--calls N]`: the pieces of a `get`
 * that "get path, this stop" (docs/benchmarks.md) changed, timed in one process against the same pieces
 * of another checkout (`DIR`, e.g. a `git archive` of the commit before, with node_modules linked), A/B
 * interleaved `--rounds` times; prints the median µs per call of each. In-process figures on a shared
 * machine: compare before and after of one row, not rows with each other.
 *
 * - observe: the outermost handler's per-call work (`createCallObserver().wrap`: request id, metrics
 *   at arrival and close) on a bare request/response pair; the access log off (level `warn`, as the bench).
 * - sqlite: `SqliteStore.get` of one job at the database's size (`--db`, a seeded database; read-only).
 * - json: the answer's bytes: `toJobInfo` + protobuf-es JSON (before) / `jobInfoJson` (after).
 * - binary: the same in binary protobuf (gRPC, gRPC-Web, Connect proto): `toJobInfo` + protobuf-es
 *   `toBinary` (before) / `jobInfoBinary` (after).
 * - cors: `withCors(["*"])` on a request without an Origin.
 */
import { EventEmitter } from "node:events";
import path from "node:path";
import { parseArgs } from "node:util";
import { toBinary, toJsonString } from "@bufbuild/protobuf";
import { JobInfoSchema } from "../gen/spaceone/api/identity/v2/job_pb.js";
import { type JobView, toJobView } from "../src/service/job-view.js";
import { toJobInfo } from "../src/wire/encode/job-info.js";
import { jobInfoBinary } from "../src/wire/encode/job-info-binary.js";
import { jobInfoJson } from "../src/wire/encode/job-json.js";

const { values } = parseArgs({
  options: {
    before: { type: "string" },
    db: { type: "string", default: "/tmp/getbench/jobs-20000.db" },
    job: { type: "string", default: "job-f185e6a296b7" },
    rounds: { type: "string", default: "5" },
    calls: { type: "string", default: "20000" },
  },
});
if (!values.before) throw new Error("--before DIR: a checkout to compare with");
const rounds = Number(values.rounds);
const calls = Number(values.calls);
const roots = { before: path.resolve(values.before), after: path.resolve(import.meta.dirname, "..") };

type Side = keyof typeof roots;
const load = (side: Side, file: string) => import(path.join(roots[side], file));

function timeUs(fn: () => void): number {
  for (let i = 0; i < calls / 10; i++) fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) fn();
  return Number(process.hrtime.bigint() - start) / 1e3 / calls;
}

async function timeUsAsync(fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < calls / 10; i++) await fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await fn();
  return Number(process.hrtime.bigint() - start) / 1e3 / calls;
}

/** A response as observe-calls and the CORS wrapper see it: headers, a status, a close event. */
class FakeResponse extends EventEmitter {
  statusCode = 200;
  writableFinished = true;
  private readonly headers = new Map<string, unknown>();
  setHeader(name: string, value: unknown) {
    this.headers.set(name.toLowerCase(), value);
  }
  getHeader(name: string) {
    return this.headers.get(name.toLowerCase());
  }
}

const request = () => ({
  method: "POST",
  url: "/spaceone.api.identity.v2.Job/get",
  httpVersion: "1.1",
  headers: { "content-type": "application/json", "content-length": "29", host: "localhost" },
});

async function observeStep(side: Side): Promise<() => void> {
  const { createMetrics } = await load(side, "src/observability/metrics.ts");
  const { createCallObserver } = await load(side, "src/observability/observe-calls.ts");
  const procedure = "/spaceone.api.identity.v2.Job/get";
  const observer = createCallObserver({
    metrics: createMetrics({ defaultMetrics: false }),
    logger: { info() {}, debug() {}, isLevelEnabled: () => false },
    restPaths: new Map(),
    streamPaths: new Set(),
    procedures: new Set([procedure]),
  });
  const handler = observer.wrap(() => {});
  return () => {
    const res = new FakeResponse();
    handler(request() as never, res as never);
    res.emit("close");
  };
}

async function sqliteStep(side: Side): Promise<() => Promise<unknown>> {
  const { openDatabase } = await load(side, "src/storage/database.ts");
  const { SqliteStore } = await load(side, "src/storage/sqlite/sqlite-store.ts");
  const store = new SqliteStore(openDatabase({ file: values.db, readonly: true }), { ownsConnection: true });
  const scope = [
    { op: "eq", field: { column: "domain_id", path: [], name: "domain_id" }, value: "domain-seed0001" },
  ];
  if ((await store.get(values.job, scope)) === undefined)
    throw new Error(`${values.job} not in ${values.db}`);
  return () => store.get(values.job, scope);
}

/** The job's view as `get` answers it. */
async function jobView(): Promise<JobView> {
  const { SqliteStore } = await load("after", "src/storage/sqlite/sqlite-store.ts");
  const { openDatabase } = await load("after", "src/storage/database.ts");
  const store = new SqliteStore(openDatabase({ file: values.db, readonly: true }), { ownsConnection: true });
  const view = toJobView(await store.get(values.job, []));
  store.close();
  return view;
}

async function jsonStep(side: Side): Promise<() => void> {
  const view = await jobView();
  const utf8 = new TextEncoder();
  return side === "before"
    ? () => utf8.encode(toJsonString(JobInfoSchema, toJobInfo(view), { useProtoFieldName: true }))
    : () => Buffer.from(jobInfoJson(view));
}

async function binaryStep(side: Side): Promise<() => void> {
  const view = await jobView();
  return side === "before" ? () => toBinary(JobInfoSchema, toJobInfo(view)) : () => jobInfoBinary(view);
}

async function corsStep(side: Side): Promise<() => void> {
  const { withCors } = await load(side, "src/wire/cors.ts");
  const handler = withCors(["*"], () => {});
  return () => handler(request(), new FakeResponse());
}

const steps: [string, (side: Side) => Promise<() => unknown>][] = [
  ["observe", observeStep],
  ["sqlite", sqliteStep],
  ["json", jsonStep],
  ["binary", binaryStep],
  ["cors", corsStep],
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
for (const [name, make] of steps) {
  const fns = { before: await make("before"), after: await make("after") };
  const times: Record<Side, number[]> = { before: [], after: [] };
  for (let r = 0; r < rounds; r++) {
    for (const side of ["before", "after"] as const) {
      const fn = fns[side];
      const us =
        name === "sqlite" ? await timeUsAsync(fn as () => Promise<unknown>) : timeUs(fn as () => void);
      times[side].push(us);
    }
  }
  const b = median(times.before);
  const a = median(times.after);
  process.stdout.write(
    `${name.padEnd(8)} before ${b.toFixed(2).padStart(7)} µs  after ${a.toFixed(2).padStart(7)} µs  (${(a / b).toFixed(2)} x)\n`,
  );
}
