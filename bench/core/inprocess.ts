/**
 * Measurements inside the orchestrator process, on a database the servers are not using at that
 * moment: the raw SQL baselines (the statements the service runs, captured from the project's own
 * code and replayed with better-sqlite3), the service called directly, and a per-call cost breakdown.
 */
import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
import type Database from "better-sqlite3";
import { JobInfoSchema, JobsInfoSchema } from "../../gen/spaceone/api/identity/v2/job_pb.js";
import type { Principal } from "../../src/auth/principal.js";
import { authenticate, type TokenVerifier } from "../../src/auth/token.js";
import { JobService, type JobsQueryRequest } from "../../src/service/job-service.js";
import type { JsonObject } from "../../src/service/job-view.js";
import { SqliteStore } from "../../src/storage/sqlite/sqlite-store.js";
import { toJobInfo } from "../../src/wire/encode/job-info.js";
import {
  type LatencyBudget,
  microsPerAsyncCall,
  microsPerCall,
  percentile,
  sampleLatency,
} from "./measure.js";
import { BENCH_DOMAIN } from "./workload.js";

export const BENCH_PRINCIPAL: Principal = {
  tokenType: "ACCESS_TOKEN",
  role: "DOMAIN_ADMIN",
  domainId: BENCH_DOMAIN,
  workspaceId: null,
  permissions: [],
  subject: "bench",
};

export interface CapturedStatement {
  readonly sql: string;
  readonly method: "get" | "all" | "run" | "iterate";
  readonly params: readonly unknown[];
}

const EXECUTE = new Set(["get", "all", "run", "iterate"]);

/**
 * Run `fn` against a proxy of `db` and return every statement it executed with its parameters.
 * Whatever SQL the store builds (Kysely today, anything tomorrow) is what gets replayed.
 */
export function captureStatements(
  db: Database.Database,
  fn: (db: Database.Database) => void,
): CapturedStatement[] {
  const captured: CapturedStatement[] = [];
  const wrapStatement = (stmt: Database.Statement, text: string): Database.Statement => {
    const proxy: Database.Statement = new Proxy(stmt, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          if (typeof prop === "string" && EXECUTE.has(prop)) {
            captured.push({ sql: text, method: prop as CapturedStatement["method"], params: args });
          }
          const out = (value as (...a: unknown[]) => unknown).apply(target, args);
          return out === target ? proxy : out;
        };
      },
    });
    return proxy;
  };
  const proxyDb = new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (prop === "prepare") {
        return (text: string) => wrapStatement(target.prepare(text), text);
      }
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  fn(proxyDb);
  return captured;
}

/** A function running captured statements (prepared once) in one deferred transaction, as the store does. */
export function makeReplay(db: Database.Database, statements: readonly CapturedStatement[]): () => void {
  const prepared = statements.map((s) => ({ stmt: db.prepare(s.sql), s }));
  const run = db.transaction(() => {
    for (const { stmt, s } of prepared) {
      if (s.method === "iterate") for (const _ of stmt.iterate(...(s.params as unknown[]))) void _;
      else if (s.method === "all") stmt.all(...(s.params as unknown[]));
      else if (s.method === "get") stmt.get(...(s.params as unknown[]));
      // "run" (writes) are never replayed: baselines are reads.
    }
  });
  return () => run.deferred();
}

/** p50 (ms) of replaying captured statements. */
export async function replayP50(
  db: Database.Database,
  statements: readonly CapturedStatement[],
  budget: LatencyBudget,
): Promise<{ p50: number; samples: number }> {
  const samples = await sampleLatency(makeReplay(db, statements), budget);
  return { p50: percentile(samples, 50), samples: samples.length };
}

export async function sqlP50(
  db: Database.Database,
  sql: string,
  params: readonly unknown[],
  budget: LatencyBudget,
): Promise<{ p50: number; rows: unknown[] }> {
  const stmt = db.prepare(sql);
  const rows = stmt.all(...(params as unknown[]));
  const samples = await sampleLatency(() => stmt.all(...(params as unknown[])), budget);
  return { p50: percentile(samples, 50), rows };
}

export function jobService(db: Database.Database): JobService {
  return new JobService(new SqliteStore(db), { maxPageSize: 1000 });
}

/** The statements `list` runs for `request` (page and count, as the store builds them). */
export function listStatements(db: Database.Database, request: JobsQueryRequest): CapturedStatement[] {
  return captureStatements(db, (proxy) => {
    // The SQLite store runs a read at once when no write is open, so the capture sees its statements.
    void jobService(proxy).list(BENCH_PRINCIPAL, request);
  });
}

/** The statements `list` runs, minus the count: the page alone (what "cost follows the page" means). */
export function pageOnly(statements: readonly CapturedStatement[]): CapturedStatement[] {
  return statements.filter(
    (s) => !/\bcount\s*\(/i.test(s.sql.slice(0, s.sql.toLowerCase().indexOf(" from "))),
  );
}

export interface Breakdown {
  sqliteLookupUs: number;
  serviceGetUs: number;
  authenticateUs: number;
  encodeBinaryUs: number;
  encodeJsonUs: number;
}

/** Per-call costs of the pieces of a `get`, each alone, in microseconds. */
export async function getBreakdown(
  db: Database.Database,
  jobId: string,
  verifier: TokenVerifier,
  token: string,
  ms: number,
): Promise<Breakdown> {
  const lookup = db.prepare("SELECT * FROM jobs WHERE job_id = ? AND domain_id = ?");
  const sqliteLookupUs = microsPerCall(() => lookup.get(jobId, BENCH_DOMAIN), ms);
  const service = jobService(db);
  const serviceGetUs = await microsPerAsyncCall(() => service.get(BENCH_PRINCIPAL, { job_id: jobId }), ms);
  const headers = new Headers({ authorization: `Bearer ${token}` });
  const authenticateUs = await microsPerAsyncCall(async () => authenticate(verifier, headers), ms);
  const view = await service.get(BENCH_PRINCIPAL, { job_id: jobId });
  const encodeBinaryUs = microsPerCall(() => toBinary(JobInfoSchema, toJobInfo(view)), ms);
  const encodeJsonUs = microsPerCall(
    () => toJsonString(JobInfoSchema, toJobInfo(view), { useProtoFieldName: true }),
    ms,
  );
  return { sqliteLookupUs, serviceGetUs, authenticateUs, encodeBinaryUs, encodeJsonUs };
}

/** p50 (ms) of calling the service's `list` directly (parse, compile, SQL, views; no wire). */
export async function serviceListP50(
  db: Database.Database,
  request: JobsQueryRequest,
  budget: LatencyBudget,
): Promise<number> {
  const service = jobService(db);
  const samples = await sampleLatency(() => service.list(BENCH_PRINCIPAL, request), budget);
  return percentile(samples, 50);
}

/** p50 (ms) of the service's `stat` directly, or the error it gives (e.g. not implemented yet). */
export async function serviceStatP50(
  db: Database.Database,
  request: unknown,
  budget: LatencyBudget,
): Promise<{ p50: number } | { error: string }> {
  const service = jobService(db);
  try {
    await service.stat(BENCH_PRINCIPAL, request as { query?: JsonObject });
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
  const samples = await sampleLatency(
    () => service.stat(BENCH_PRINCIPAL, request as { query?: JsonObject }),
    budget,
  );
  return { p50: percentile(samples, 50) };
}

export interface ListEncoding {
  /** Rows in the page. */
  rows: number;
  /** views -> JobInfo messages -> protobuf-es JSON (what the handler and connect-node do), µs. */
  protobufJsonUs: number;
  /** views -> JobInfo messages -> protobuf binary, µs. */
  protobufBinaryUs: number;
  /** JSON.stringify of the same views (the JSON is already in API shape), µs. */
  plainJsonUs: number;
  /** The service call itself (parse, compile, SQL, views), µs. */
  serviceUs: number;
}

/** What encoding one `list` page costs, against the service call that produced it. */
export async function listEncoding(
  db: Database.Database,
  request: JobsQueryRequest,
  ms: number,
): Promise<ListEncoding> {
  const service = jobService(db);
  const page = await service.list(BENCH_PRINCIPAL, request);
  const message = () =>
    create(JobsInfoSchema, { results: page.results.map(toJobInfo), totalCount: page.total_count });
  return {
    rows: page.results.length,
    protobufJsonUs: microsPerCall(
      () => toJsonString(JobsInfoSchema, message(), { useProtoFieldName: true }),
      ms,
    ),
    protobufBinaryUs: microsPerCall(() => toBinary(JobsInfoSchema, message()), ms),
    plainJsonUs: microsPerCall(() => JSON.stringify(page), ms),
    serviceUs: await microsPerAsyncCall(() => service.list(BENCH_PRINCIPAL, request), ms),
  };
}
