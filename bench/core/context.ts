/**
 * What every scenario shares: options, CPU pinning, the seeded databases, tokens, the service on the
 * largest data set (started at first use, kept for every scenario, so its peak RSS covers the whole run),
 * the load runner, and the figures of the scenarios that ran before (for figures built on them).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { ensureLocalSecret } from "../../src/auth/keys.js";
import { signToken } from "../../src/auth/token.js";
import { type Config, loadConfig } from "../../src/config.js";
import { CannotMeasure } from "./errors.js";
import type { Figure } from "./figure.js";
import { type LoadSetup, runLoad } from "./load.js";
import type { Options } from "./options.js";
import { createBenchPostgres, type PostgresOrReason } from "./postgres.js";
import { type Child, memoryOf, type Pinning } from "./proc.js";
import type { RunRecord } from "./report.js";
import { type SeededDb, seedDatabase } from "./seed.js";
import { buildService, type RealServer, startRealServer } from "./service.js";
import { BENCH_DOMAIN, WRITER_ACCOUNT_PREFIX } from "./workload.js";

export interface SharedServer extends RealServer {
  /** RSS right after start, before any request (MB). */
  readonly idleRssMb: number | null;
  /** RSS and peak RSS (VmHWM) after each scenario that ran while it was up (MB), in order: the
   * scenario whose peak is higher than the one before it is where the peak was reached. */
  readonly rssAfter: Map<string, { rssMb: number | null; peakMb: number | null }>;
}

export interface BenchContext {
  readonly o: Options;
  readonly pinning: Pinning;
  readonly workDir: string;
  readonly config: Config;
  /** DOMAIN_ADMIN access token of BENCH_DOMAIN (HS256, the servers' secret). */
  readonly token: string;
  /** System token of BENCH_DOMAIN (lifecycle workers). */
  readonly systemToken: string;
  /** Seeded databases, smallest first; the last is the largest. */
  readonly dbs: readonly SeededDb[];
  readonly largest: SeededDb;
  /** A SUCCESS job in the middle of BENCH_DOMAIN in the largest database. */
  readonly jobId: string;
  /** "1,000,000" */
  readonly sizeText: string;
  readonly log: (line: string) => void;
  /** Registers a child process so an aborted run stops it. */
  track(child: Child): Child;
  /** The service on the largest data set, shared by every scenario. */
  service(): Promise<SharedServer>;
  /** The run's own PostgreSQL database, seeded like the largest set (created at first use, dropped at the end). */
  postgres(): Promise<PostgresOrReason>;
  /** Runs a load generator against `serverPid`, checks it and records the run. */
  load(script: string, spec: unknown, label: string, serverPid: number): Promise<RunRecord>;
  note(text: string): void;
  /** A figure an earlier scenario produced (e.g. a baseline measured there), or undefined. */
  figure(name: string): Figure | undefined;
}

/** The context plus what only the orchestrator uses. */
export interface RunState extends BenchContext {
  readonly runs: RunRecord[];
  readonly notes: string[];
  readonly figures: Figure[];
  /** RSS of the shared service after a scenario, if it is up. */
  markPhase(scenario: string): Promise<void>;
  stopAll(): Promise<void>;
  /** Stop children and remove the temporary directory. */
  close(): Promise<void>;
}

function pickJobId(file: string): string {
  const db = new Database(file, { readonly: true });
  try {
    // Among the seeded jobs only: the writers' jobs (SUCCESS when the `writes` scenario ends) would move
    // the middle by 8 rows per run on a reused data set, and each run would `get` a different job.
    const seeded = "domain_id = ? AND status = 'SUCCESS' AND trusted_account_id NOT LIKE ?";
    const writers = `${WRITER_ACCOUNT_PREFIX}%`;
    const { n } = db.prepare(`SELECT count(*) AS n FROM jobs WHERE ${seeded}`).get(BENCH_DOMAIN, writers) as {
      n: number;
    };
    const row = db
      .prepare(`SELECT job_id FROM jobs WHERE ${seeded} ORDER BY seq LIMIT 1 OFFSET ?`)
      .get(BENCH_DOMAIN, writers, Math.floor(n / 2)) as { job_id: string } | undefined;
    if (!row) throw new CannotMeasure(`no SUCCESS job in ${BENCH_DOMAIN} of ${file}`);
    return row.job_id;
  } finally {
    db.close();
  }
}

export async function createRunState(
  o: Options,
  pinning: Pinning,
  log: (line: string) => void,
): Promise<RunState> {
  const workDir = o.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "job-bench-"));
  fs.mkdirSync(workDir, { recursive: true });
  const children = new Set<Child>();
  const track = (child: Child): Child => {
    children.add(child);
    child.proc.once("exit", () => children.delete(child));
    return child;
  };
  const stopAll = async () => {
    await Promise.all([...children].map((c) => c.stop()));
  };
  let postgres: Promise<PostgresOrReason> | null = null;
  const close = async () => {
    await stopAll();
    const db = postgres === null ? null : await postgres.catch(() => null);
    if (db !== null && "drop" in db) await db.drop().catch((e) => log(`dropping ${db.name}: ${e}`));
    if (o.dataDir === null) fs.rmSync(workDir, { recursive: true, force: true });
  };
  try {
    // Tokens: the same HS256 secret file the servers read.
    const config = loadConfig({ DATA_DIR: workDir, JWT_ALGORITHM: "HS256" });
    ensureLocalSecret(config);
    const sign = (tokenType: "ACCESS_TOKEN" | "SYSTEM_TOKEN", subject: string) =>
      signToken(config, {
        domainId: BENCH_DOMAIN,
        role: "DOMAIN_ADMIN",
        ttlSeconds: 6 * 3600,
        tokenType,
        subject,
      });
    const token = await sign("ACCESS_TOKEN", "bench");
    const systemToken = await sign("SYSTEM_TOKEN", "bench-worker");
    log("building the service (npm run build):");
    buildService();
    log("seeding:");
    const dbs = o.sizes.map((n) => seedDatabase(workDir, n, log));
    const largest = dbs[dbs.length - 1] as SeededDb;
    const jobId = pickJobId(largest.file);
    const sizeText = largest.jobs.toLocaleString("en-US");
    log(
      `largest: ${sizeText} jobs, ${largest.domainJobs.toLocaleString("en-US")} in ${BENCH_DOMAIN}; get on ${jobId}`,
    );

    const runs: RunRecord[] = [];
    const notes: string[] = [];
    const figures: Figure[] = [];
    let shared: Promise<SharedServer> | null = null;
    const service = () => {
      shared ??= startRealServer({ dataDir: workDir, dbFile: largest.file, pinning }).then((s) => {
        track(s.child);
        return {
          ...s,
          idleRssMb: memoryOf(s.child.pid).rssMb,
          rssAfter: new Map<string, { rssMb: number | null; peakMb: number | null }>(),
        };
      });
      return shared;
    };
    const state: RunState = {
      o,
      pinning,
      workDir,
      config,
      token,
      systemToken,
      dbs,
      largest,
      jobId,
      sizeText,
      log,
      track,
      service,
      postgres() {
        postgres ??= createBenchPostgres(largest.jobs, log);
        return postgres;
      },
      async load(script, spec, label, serverPid) {
        const setup: LoadSetup = { label, serverPid, pinning, log, track };
        const run = await runLoad(script, spec, setup);
        runs.push(run);
        return run;
      },
      note: (text) => notes.push(text),
      figure: (name) => figures.find((f) => f.name === name),
      runs,
      notes,
      figures,
      async markPhase(scenario) {
        const s = shared === null ? null : await shared.catch(() => null);
        if (s && s.child.exited() === null) s.rssAfter.set(scenario, memoryOf(s.child.pid));
      },
      stopAll,
      close,
    };
    return state;
  } catch (error) {
    await close();
    throw error;
  }
}
