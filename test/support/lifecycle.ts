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
import { principal } from "./fixture.js";

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
  const config = loadConfig({ DATA_DIR: "/nonexistent", LOG_LEVEL: "silent", ...env });
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
