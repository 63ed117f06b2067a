/**
 * The composed app (createApp, so the same wiring as production) on an in-memory database, with a
 * clock the test moves by hand: reaper, retention and the duplicate window are tested without sleeps.
 */
import { type App, createApp } from "../../src/app.js";
import type { TokenVerifier } from "../../src/auth/token.js";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/log.js";
import { type Db, openDatabase } from "../../src/storage/database.js";
import type { JobRow } from "../../src/storage/schema.js";
import { SqliteStore } from "../../src/storage/sqlite/sqlite-store.js";
import type { Backend, TestStore } from "./backends.js";
import { principal } from "./fixture.js";
import { wireEnv } from "./wire-env.js";

export const T0 = new Date("2026-03-15T12:00:00.000Z");

export interface Harness {
  readonly app: App;
  readonly db: Db;
  /** The current instant of the injected clock. */
  now(): Date;
  /** Move the clock forward. */
  advance(ms: number): void;
  /** A job row as stored. */
  row(jobId: string): JobRow;
  close(): void;
}

const noTokens: TokenVerifier = {
  algorithm: "HS256",
  verify: () => Promise.reject(new Error("service-level tests pass principals directly")),
};

export function harness(env: Record<string, string> = {}): Harness {
  let clock = T0;
  const db = openDatabase({ file: ":memory:" });
  const config = loadConfig({ DATA_DIR: "/nonexistent", LOG_LEVEL: "silent", ...wireEnv(), ...env });
  const store = new SqliteStore(db, { now: () => clock });
  const app = createApp({
    config,
    store,
    verifier: noTokens,
    logger: createLogger("silent"),
    now: () => clock,
  });
  return {
    app,
    db,
    now: () => clock,
    advance(ms) {
      clock = new Date(clock.getTime() + ms);
    },
    row(jobId) {
      return db.prepare("SELECT * FROM jobs WHERE job_id = ?").get(jobId) as JobRow;
    },
    close: () => db.close(),
  };
}

/** The harness on a backend: the same app, with the row reads and SQL the tests use made async. */
export interface BackendHarness {
  readonly app: App;
  now(): Date;
  advance(ms: number): void;
  /** A job row as stored, or undefined. */
  row(jobId: string): Promise<JobRow>;
  /** SQL with `?` placeholders, on either database. */
  sql<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/**
 * PostgreSQL databases are slow to create, so each backend keeps one per test file and empties it
 * for every harness; SQLite gets a new in-memory database each time. The change feed's clock is
 * the current harness's clock.
 */
const shared = new Map<string, Promise<TestStore>>();
let currentClock = () => T0;

export async function harnessOn(backend: Backend, env: Record<string, string> = {}): Promise<BackendHarness> {
  let clock = T0;
  currentClock = () => clock;
  let opened: TestStore;
  if (backend.name === "sqlite") {
    opened = await backend.open({ now: () => currentClock() });
  } else {
    let pending = shared.get(backend.name);
    if (!pending) {
      pending = backend.open({ now: () => currentClock() });
      shared.set(backend.name, pending);
    }
    opened = await pending;
    await opened.reset();
  }
  const config = loadConfig({ DATA_DIR: "/nonexistent", LOG_LEVEL: "silent", ...env });
  const app = createApp({
    config,
    store: opened.store,
    verifier: noTokens,
    logger: createLogger("silent"),
    now: () => clock,
  });
  return {
    app,
    now: () => clock,
    advance(ms) {
      clock = new Date(clock.getTime() + ms);
    },
    row: async (jobId) =>
      (await opened.sql<JobRow>("SELECT * FROM jobs WHERE job_id = ?", [jobId]))[0] as JobRow,
    sql: (text, params) => opened.sql(text, params),
    close: async () => {
      if (backend.name === "sqlite") await opened.close();
    },
  };
}

/** Drop the shared PostgreSQL databases (call in the file's afterAll). */
export async function closeSharedStores(): Promise<void> {
  for (const pending of shared.values()) await (await pending).close();
  shared.clear();
}

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const DAY = 86_400 * SECOND;

/** The orchestrator and the workers: a system token for domain-a. */
export const worker = principal({ tokenType: "SYSTEM_TOKEN", role: null, subject: "collector-1" });
/** A worker's app token: a writer role plus the execute permission. */
export const appWorker = principal({
  role: "DOMAIN_ADMIN",
  permissions: ["identity:Job.execute"],
  subject: "app-1",
});
export const ws1Worker = principal({
  tokenType: "SYSTEM_TOKEN",
  role: null,
  workspaceId: "ws-1",
  subject: "collector-ws1",
});
export const admin = principal({ subject: "admin-1" });
export const ws1Owner = principal({ role: "WORKSPACE_OWNER", workspaceId: "ws-1", subject: "owner-1" });
export const ws1Member = principal({ role: "WORKSPACE_MEMBER", workspaceId: "ws-1", subject: "member-1" });
export const ws2Owner = principal({ role: "WORKSPACE_OWNER", workspaceId: "ws-2", subject: "owner-2" });
export const otherDomainWorker = principal({
  tokenType: "SYSTEM_TOKEN",
  role: null,
  domainId: "domain-b",
  subject: "collector-b",
});

/** A create request for a WORKSPACE job of trusted account `ta` in ws-1. */
export function wsJob(ta = "ta-1", extra: Record<string, unknown> = {}) {
  return {
    trusted_account_id: ta,
    plugin_id: "plugin-aws",
    resource_group: "WORKSPACE",
    workspace_id: "ws-1",
    ...extra,
  };
}
