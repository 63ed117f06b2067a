/**
 * The real app on an ephemeral port, like `server.ts`, with what the hardening suites also need: the
 * database handle (row counts, integrity checks, SQL capture), the wire timeouts (so a slow-body test
 * does not wait a minute), jobs with every column, and unlogged errors collected instead of printed.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type App, createApp } from "../../src/app.js";
import { ensureLocalSecret } from "../../src/auth/keys.js";
import type { RoleType } from "../../src/auth/principal.js";
import { createTokenVerifier, signToken } from "../../src/auth/token.js";
import { type Config, loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/log.js";
import { type Db, openDatabase } from "../../src/storage/database.js";
import type { JobRow } from "../../src/storage/schema.js";
import { SqliteReadPool } from "../../src/storage/sqlite/read-pool.js";
import { SqliteStore } from "../../src/storage/sqlite/sqlite-store.js";
import type { StatementHook } from "../../src/storage/store.js";
import { type ServerTimeouts, startServer } from "../../src/wire/server.js";
import type { Backend } from "./backends.js";
import { JOBS, NOW } from "./fixture.js";
import { wireEnv } from "./wire-env.js";

export interface AppServer {
  readonly url: string;
  readonly port: number;
  readonly config: Config;
  readonly db: Db;
  readonly app: App;
  /** An access token (HS256, the server's own secret). */
  token(role: RoleType, domainId?: string, workspaceId?: string, permissions?: string[]): Promise<string>;
  /** A SYSTEM_TOKEN whose `did` is `domainId`. */
  systemToken(domainId?: string): Promise<string>;
  /** Number of rows in `jobs`. */
  jobCount(): number;
  /** `PRAGMA integrity_check` result ("ok" when sound). */
  integrity(): string;
  inFlight(): number;
  close(): Promise<void>;
  /** Resolves when every read-pool worker is up (at once without a pool): a stopped one is replaced. */
  readersUp(): Promise<void>;
}

export interface AppServerOptions {
  readonly jobs?: readonly Omit<JobRow, "seq">[];
  readonly env?: Record<string, string>;
  readonly timeouts?: Partial<ServerTimeouts>;
  readonly shutdownGraceMs?: number;
  readonly now?: () => Date;
  /** Log level of the app's logger (default silent). */
  readonly logLevel?: string;
  /** SQLite busy timeout of the app's connection (default: openDatabase's). */
  readonly busyTimeoutMs?: number;
  /** Told of every call the unary path (src/wire/unary/) serves. */
  readonly onLeanCall?: (procedure: string) => void;
  /** The store's statement hook (and the read pool's, so the workers' statements reach it too). */
  readonly onStatement?: StatementHook;
}

export async function startAppServer(options: AppServerOptions = {}): Promise<AppServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "job-service-hardening-"));
  const config = loadConfig({
    DATA_DIR: dataDir,
    PORT: "0",
    LOG_LEVEL: "silent",
    // Heavy reads on the main thread unless a suite asks for the read pool (DATABASE_READ_WORKERS).
    DATABASE_READ_WORKERS: "0",
    ...wireEnv(),
    ...options.env,
  });
  ensureLocalSecret(config);
  const db = openDatabase({ file: config.databaseFile, busyTimeoutMs: options.busyTimeoutMs });
  const reader =
    config.databaseReadWorkers > 0
      ? new SqliteReadPool({
          file: config.databaseFile,
          size: config.databaseReadWorkers,
          busyTimeoutMs: config.databaseBusyTimeoutMs,
          maxTimeMs: config.maxTimeoutMs,
          onStatement: options.onStatement,
          heapMb: config.databaseReadWorkerHeapMb,
          regexCache: config.limits.regexCache,
        })
      : undefined;
  // A suite that asks for the pool measures it warm.
  await reader?.start();
  const store = new SqliteStore(db, {
    now: options.now ?? (() => NOW),
    reader,
    onStatement: options.onStatement,
  });
  const app = createApp({
    config,
    store,
    verifier: await createTokenVerifier(config),
    logger: createLogger(options.logLevel ?? "silent"),
    now: options.now ?? (() => NOW),
    onLeanCall: options.onLeanCall,
  });
  store.insertRows(options.jobs ?? JOBS);
  const server = await startServer({
    handler: app.handler,
    host: "127.0.0.1",
    port: 0,
    shutdownGraceMs: options.shutdownGraceMs ?? 2000,
    limits: config.limits.wire,
    timeouts: options.timeouts,
  });
  let closed = false;
  return {
    url: server.url,
    port: server.port,
    config,
    db,
    app,
    token: (role, domainId = "domain-a", workspaceId, permissions) =>
      signToken(config, { role, domainId, workspaceId, ttlSeconds: 600, permissions }),
    systemToken: (domainId = "domain-a") =>
      signToken(config, { role: "DOMAIN_ADMIN", domainId, ttlSeconds: 600, tokenType: "SYSTEM_TOKEN" }),
    jobCount: () => (db.prepare("SELECT count(*) AS n FROM jobs").get() as { n: number }).n,
    integrity: () => db.pragma("integrity_check", { simple: true }) as string,
    inFlight: () => server.inFlight(),
    readersUp: async () => {
      await reader?.start();
    },
    async close() {
      if (closed) return;
      closed = true;
      await server.close();
      await reader?.close();
      db.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The app on a backend's store (SQLite or PostgreSQL), with SQL access that works on both. */
export interface BackendAppServer {
  readonly url: string;
  readonly config: Config;
  readonly app: App;
  token(role: RoleType, domainId?: string, workspaceId?: string, permissions?: string[]): Promise<string>;
  systemToken(domainId?: string): Promise<string>;
  /** SQL with `?` placeholders, on either database. */
  sql<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export async function startAppServerOn(
  backend: Backend,
  options: Pick<AppServerOptions, "jobs" | "env" | "now" | "onStatement"> = {},
): Promise<BackendAppServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "job-service-hardening-"));
  const config = loadConfig({ DATA_DIR: dataDir, PORT: "0", LOG_LEVEL: "silent", ...options.env });
  ensureLocalSecret(config);
  const now = options.now ?? (() => NOW);
  const opened = await backend.open({ now, onStatement: options.onStatement });
  await opened.insertJobs(options.jobs ?? JOBS);
  const app = createApp({
    config,
    store: opened.store,
    verifier: await createTokenVerifier(config),
    logger: createLogger("silent"),
    now,
  });
  const server = await startServer({
    handler: app.handler,
    host: "127.0.0.1",
    port: 0,
    shutdownGraceMs: 2000,
  });
  return {
    url: server.url,
    config,
    app,
    token: (role, domainId = "domain-a", workspaceId, permissions) =>
      signToken(config, { role, domainId, workspaceId, ttlSeconds: 600, permissions }),
    systemToken: (domainId = "domain-a") =>
      signToken(config, { role: "DOMAIN_ADMIN", domainId, ttlSeconds: 600, tokenType: "SYSTEM_TOKEN" }),
    sql: (text, params) => opened.sql(text, params),
    async close() {
      await server.close();
      await opened.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
