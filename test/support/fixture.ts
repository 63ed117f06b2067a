/** A small hand-written set of jobs whose every value is known, for exact query assertions. */
import type { Principal } from "../../src/auth/principal.js";
import { openDatabase } from "../../src/storage/database.js";
import type { JobRow } from "../../src/storage/schema.js";
import { SqliteStore } from "../../src/storage/sqlite/sqlite-store.js";
import type { NewJob } from "../../src/storage/store.js";

export const NOW = new Date("2026-03-15T12:00:00.000Z");

type Seed = Partial<JobRow> & { job_id: string };

function job(seed: Seed): Omit<JobRow, "seq"> {
  return {
    status: "SUCCESS",
    options: "{}",
    resource_group: "WORKSPACE",
    error_message: null,
    domain_id: "domain-a",
    workspace_id: "ws-1",
    trusted_account_id: "ta-aws-1",
    plugin_id: "plugin-aws",
    created_at: "2026-03-01T00:00:00.000Z",
    updated_at: "2026-03-01T00:05:00.000Z",
    finished_at: "2026-03-01T00:05:00.000Z",
    ...seed,
  };
}

export const JOBS: Omit<JobRow, "seq">[] = [
  job({
    job_id: "job-a01",
    created_at: "2026-03-01T00:00:00.000Z",
    options:
      '{"provider":"aws","regions":["us-east-1","eu-west-1"],"retry":0,"dry_run":false,"sync":{"skip":true}}',
  }),
  job({
    job_id: "job-a02",
    status: "FAILURE",
    error_message: "Authenticate failure: AccessDenied 100%_off",
    created_at: "2026-03-02T00:00:00.000Z",
    options: '{"provider":"aws","regions":["ap-northeast-2"],"retry":2,"dry_run":true}',
  }),
  job({
    job_id: "job-a03",
    status: "IN_PROGRESS",
    finished_at: null,
    created_at: "2026-03-15T10:30:00.000Z",
    workspace_id: "ws-2",
    trusted_account_id: "ta-az-1",
    plugin_id: "plugin-azure",
    options:
      '{"provider":"azure","retry":1.5,"targets":[{"name":"vm","on":true},{"name":"disk","on":false}]}',
  }),
  job({
    job_id: "job-a04",
    status: "PENDING",
    finished_at: null,
    created_at: "2026-03-15T11:50:00.000Z",
    workspace_id: "*",
    resource_group: "DOMAIN",
    trusted_account_id: "ta-dom-1",
    plugin_id: null,
    options: null,
  }),
  job({
    job_id: "job-a05",
    status: "CANCELED",
    created_at: "2026-02-10T08:00:00.000Z",
    workspace_id: "ws-2",
    trusted_account_id: "ta-az-1",
    plugin_id: "plugin-azure",
    options: '{"provider":"Azure"}',
  }),
  job({
    job_id: "job-a06",
    status: "SUCCESS",
    created_at: "2026-03-01T00:00:00.000Z",
    workspace_id: "*",
    resource_group: "DOMAIN",
    trusted_account_id: "ta-dom-1",
    plugin_id: "plugin-google",
    options: '{"provider":"google","regions":[]}',
  }),
  job({
    job_id: "job-a07",
    status: "FAILURE",
    error_message: "The same job is already running. (trusted_account_id = ta-aws-1)",
    created_at: "2026-01-20T00:00:00.000Z",
    options: '{"provider":"aws","retry":"3"}',
  }),
  job({
    job_id: "job-b01",
    domain_id: "domain-b",
    workspace_id: "ws-9",
    trusted_account_id: "ta-b",
    created_at: "2026-03-10T00:00:00.000Z",
    options: '{"provider":"aws"}',
  }),
  job({
    job_id: "job-b02",
    domain_id: "domain-b",
    workspace_id: "*",
    resource_group: "DOMAIN",
    trusted_account_id: "ta-b",
    status: "FAILURE",
    error_message: "boom",
    created_at: "2026-03-11T00:00:00.000Z",
  }),
];

/** A job to insert with `WriteTx.insert` (store-level tests): PENDING in domain d1, workspace w1. */
export function newJob(id: string, extra: Partial<NewJob> = {}): NewJob {
  const at = "2026-03-15T00:00:00.000Z";
  return {
    job_id: id,
    status: "PENDING",
    options: "{}",
    resource_group: "WORKSPACE",
    error_message: null,
    domain_id: "d1",
    workspace_id: "w1",
    trusted_account_id: "ta",
    plugin_id: null,
    created_at: at,
    updated_at: at,
    finished_at: null,
    idempotency_key: null,
    ...extra,
  };
}

export function fixtureStore(rows: Omit<JobRow, "seq">[] = JOBS): SqliteStore {
  const store = new SqliteStore(openDatabase({ file: ":memory:" }), { ownsConnection: true });
  store.insertRows(rows);
  return store;
}

export function principal(overrides: Partial<Principal> = {}): Principal {
  return {
    tokenType: "ACCESS_TOKEN",
    role: "DOMAIN_ADMIN",
    domainId: "domain-a",
    workspaceId: null,
    permissions: [],
    subject: "user-1",
    ...overrides,
  };
}

export const domainAdmin = principal();
export const ws1Owner = principal({ role: "WORKSPACE_OWNER", workspaceId: "ws-1" });
export const ws2Member = principal({ role: "WORKSPACE_MEMBER", workspaceId: "ws-2" });
export const domainBAdmin = principal({ domainId: "domain-b" });
