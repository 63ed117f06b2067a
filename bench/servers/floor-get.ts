/**
 * The floor of a `get` over JSON on this runtime (its own process), as issue 15 defines it: a bare
 * `node:http` server that reads the JSON body, looks the bearer token up in a Map (token -> domain: no
 * verification, as a warm token cache), runs the service's own SQLite point lookup and writes the row as
 * JSON. No routing, no Connect, no protobuf, no observability.
 *
 * The lookup is the service's: its SQL is captured from `SqliteJobs.get` (the store's statement for a
 * domain-wide caller, scope conditions from `scopeConditions`) at start, prepared once and read as raw
 * values into the same row object (`jobRowOf`), on the same database file.
 *
 * Argument: one JSON object (`FloorGetSpec`). Answers GET /healthz.
 */
import http from "node:http";
import { JOB_RULES, scopeConditions } from "../../src/service/job-rules.js";
import { openDatabase } from "../../src/storage/database.js";
import { jobRowOf, takesJobRowValues } from "../../src/storage/sqlite/job-row.js";
import { SqliteJobs } from "../../src/storage/sqlite/sqlite-jobs.js";
import { answer, readBody, stopOnSignal } from "./serve.js";

export interface FloorGetSpec {
  port: number;
  /** The database the service serves (opened read-only here). */
  dbFile: string;
  /** The whole `authorization` header a request must carry, and the domain its token is scoped to. */
  authorization: string;
  domainId: string;
  /**
   * CPU to burn per answered call, µs (bench/profile.ts `--floor-spin`): the floor made as slow as the
   * service without any other difference, to tell costs that follow from a slower server (the client
   * idle more often, so each answer's write wakes it) from what the service makes Node do.
   */
  spinUs?: number;
  /**
   * Memory to touch per answered call, KB (bench/profile.ts `--floor-churn`): one write per 64-byte line
   * over a moving window of a 32 MB buffer, so the call leaves the caches as a bigger server's call would,
   * to tell what a larger working set costs the kernel's socket write from what the service asks of it.
   */
  churnKb?: number;
}

const spec = JSON.parse(process.argv[2] ?? "{}") as FloorGetSpec;
const db = openDatabase({ file: spec.dbFile, readonly: true });

/** The service's `get` statement for a domain-wide caller, and where the job id goes in its parameters. */
function serviceStatement(): { sql: string; parameters: readonly unknown[] } {
  let captured: { sql: string; parameters: readonly unknown[] } | undefined;
  const probe = "floor-probe-job-id";
  const scope = scopeConditions({ domainId: spec.domainId, workspaceId: null, rule: JOB_RULES.get });
  new SqliteJobs(db, (sql, parameters) => {
    captured = { sql, parameters };
  }).get(probe, scope);
  if (!captured || captured.parameters[0] !== probe || captured.parameters.length !== 2) {
    throw new Error(`the service's get statement is not (job_id, domain_id): ${JSON.stringify(captured)}`);
  }
  return captured;
}

const { sql } = serviceStatement();
const byId = db.prepare(sql);
if (!takesJobRowValues(byId)) throw new Error(`the service's get statement does not read whole rows: ${sql}`);
byId.raw(true);
const domains = new Map<string, string>([[spec.authorization, spec.domainId]]);

const server = http.createServer((req, res) => {
  if (req.method === "GET") {
    answer(res, 200, "ok", "text/plain");
    return;
  }
  readBody(req, (raw) => {
    const domainId = domains.get(req.headers.authorization ?? "");
    if (domainId === undefined) {
      answer(res, 401, '{"code":"unauthenticated"}');
      return;
    }
    let jobId: unknown;
    try {
      jobId = (JSON.parse(raw.toString("utf8")) as { job_id?: unknown }).job_id;
    } catch {
      jobId = undefined;
    }
    if (typeof jobId !== "string") {
      answer(res, 400, '{"code":"invalid_argument"}');
      return;
    }
    if (spec.spinUs) spin(spec.spinUs);
    if (spec.churnKb) churn(spec.churnKb);
    const values = byId.get(jobId, domainId) as unknown[] | undefined;
    if (values === undefined) answer(res, 404, '{"code":"not_found"}');
    else answer(res, 200, JSON.stringify(jobRowOf(values)));
  });
});
function spin(us: number): void {
  const until = process.hrtime.bigint() + BigInt(Math.round(us * 1000));
  while (process.hrtime.bigint() < until);
}

const churnSpace = new Uint8Array(32 << 20);
let churnAt = 0;
function churn(kb: number): void {
  const end = kb * 1024;
  for (let i = 0; i < end; i += 64) {
    churnSpace[churnAt] = (churnSpace[churnAt] ?? 0) + 1;
    churnAt = (churnAt + 64) % churnSpace.length;
  }
}

server.keepAliveTimeout = 65_000;
server.listen(spec.port, "127.0.0.1");

stopOnSignal(() => {
  server.close();
  db.close();
});
