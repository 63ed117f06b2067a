/** The real app on an ephemeral port, with an HS256 secret in a temp dir and real signed tokens. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type App, createApp } from "../../src/app.js";
import { ensureLocalSecret } from "../../src/auth/keys.js";
import type { RoleType } from "../../src/auth/principal.js";
import { createTokenVerifier, signToken } from "../../src/auth/token.js";
import { type Config, loadConfig } from "../../src/config.js";
import { createLogger, type Logger } from "../../src/log.js";
import { type Db, openDatabase } from "../../src/storage/database.js";
import type { JobRow } from "../../src/storage/schema.js";
import { SqliteStore } from "../../src/storage/sqlite/sqlite-store.js";
import type { JobStore } from "../../src/storage/store.js";
import { startServer } from "../../src/wire/server.js";
import type { Backend } from "./backends.js";
import { JOBS, NOW } from "./fixture.js";
import { wireEnv } from "./wire-env.js";

export interface TestServer {
  readonly url: string;
  readonly config: Config;
  readonly dataDir: string;
  /** The composed app: its lifecycle service, reaper and retention, for tests that drive them directly. */
  readonly app: App;
  /**
   * The SQLite database under the app, for tests that must break or inspect it directly (throws on
   * the PostgreSQL backend, which has no such handle).
   */
  readonly db: Db;
  /** The store under the app's instrumentation, as the backend opened it. */
  readonly store: JobStore;
  token(
    role: RoleType,
    domainId?: string,
    workspaceId?: string,
    extra?: { permissions?: string[] },
  ): Promise<string>;
  /** A SYSTEM_TOKEN for domain-a (`x_domain_id` / `x_workspace_id` headers override, as for microservices). */
  systemToken(subject?: string): Promise<string>;
  close(): Promise<void>;
}

export async function startTestServer(
  options: {
    jobs?: Omit<JobRow, "seq">[];
    env?: Record<string, string>;
    now?: () => Date;
    /** Defaults to a silent logger. */
    logger?: Logger;
    /** Run on this backend (test/support/backends.ts); default the SQLite file in the data dir. */
    backend?: Backend;
  } = {},
): Promise<TestServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "job-service-test-"));
  const config = loadConfig({
    DATA_DIR: dataDir,
    PORT: "0",
    LOG_LEVEL: "silent",
    ...wireEnv(),
    ...options.env,
  });
  ensureLocalSecret(config);
  const now = options.now ?? (() => NOW);
  let db: Db | null = null;
  let store: JobStore;
  let closeStore: () => Promise<void>;
  if (options.backend && options.backend.name !== "sqlite") {
    const opened = await options.backend.open({ now });
    await opened.insertJobs(options.jobs ?? JOBS);
    store = opened.store;
    closeStore = () => opened.close();
  } else {
    const sqlite = openDatabase({ file: config.databaseFile });
    const insert = sqlite.prepare(
      `INSERT INTO jobs (job_id, status, options, resource_group, error_message, domain_id, workspace_id,
         trusted_account_id, plugin_id, created_at, updated_at, finished_at)
       VALUES (@job_id, @status, @options, @resource_group, @error_message, @domain_id, @workspace_id,
         @trusted_account_id, @plugin_id, @created_at, @updated_at, @finished_at)`,
    );
    sqlite.transaction(() => {
      for (const job of options.jobs ?? JOBS) insert.run(job);
    })();
    db = sqlite;
    store = new SqliteStore(sqlite, { now });
    closeStore = async () => {
      sqlite.close();
    };
  }
  const verifier = await createTokenVerifier(config);
  const app = createApp({
    config,
    store,
    verifier,
    logger: options.logger ?? createLogger("silent"),
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
    dataDir,
    app,
    store,
    get db(): Db {
      if (!db) throw new Error("server.db is the SQLite handle; this server runs on PostgreSQL");
      return db;
    },
    token: (role, domainId = "domain-a", workspaceId, extra = {}) =>
      signToken(config, { role, domainId, workspaceId, ttlSeconds: 600, permissions: extra.permissions }),
    systemToken: (subject?: string) =>
      signToken(config, {
        role: "DOMAIN_ADMIN",
        domainId: "domain-a",
        ttlSeconds: 600,
        tokenType: "SYSTEM_TOKEN",
        subject,
      }),
    async close() {
      await server.close();
      app.watch.hub.close();
      await closeStore();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
