/**
 * PostgreSQL for tests: each test file gets its own fresh database (created from template0, dropped
 * after the file), so files run in parallel without sharing rows, advisory locks or NOTIFY channels.
 *
 * Where the server is: TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres (the
 * development machines' trust-auth server). Under CI=true an unreachable server FAILS the file;
 * elsewhere the PostgreSQL tests are skipped and say why.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { describe } from "vitest";

export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export type Probe = { readonly available: true } | { readonly available: false; readonly reason: string };

async function probe(): Promise<Probe> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return { available: true };
  } catch (error) {
    return {
      available: false,
      reason: `PostgreSQL at ${redact(ADMIN_URL)} is unreachable: ${(error as Error).message}`,
    };
  } finally {
    await client.end().catch(() => {});
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}

/** Reachability, probed once per file. Under CI=true an unreachable server throws here. */
export const postgres: Probe = await probe();
if (!postgres.available && process.env.CI === "true") {
  throw new Error(`CI=true needs PostgreSQL: ${postgres.reason}`);
}
if (!postgres.available) console.warn(`skipping PostgreSQL tests: ${postgres.reason}`);

/** `describe` for PostgreSQL-only suites: skipped (with the reason in its name) when unreachable. */
export function describePostgres(name: string, body: () => void): void {
  if (postgres.available) describe(name, body);
  else describe.skip(`${name} (skipped: ${postgres.reason})`, body);
}

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** A new empty database; `drop()` terminates its connections and removes it. */
export async function createTestDatabase(prefix = "jobs_test"): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(5).toString("hex")}`;
  // Names are ours (prefix literal + hex), never user input.
  await admin((c) => c.query(`CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'UTF8'`));
  return {
    name,
    url: withDatabase(ADMIN_URL, name),
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => {}),
  };
}
