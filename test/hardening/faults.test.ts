/**
 * Faults: the process killed (SIGKILL) in the middle of writes and restarted, SIGTERM under load, the
 * database locked by another process, a read-only database, a full disk. Acknowledged writes survive,
 * the database stays sound (`PRAGMA integrity_check`), and every failure reaches the client as a clear
 * `unavailable` / `resource_exhausted`, never `internal`, never a hang.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { ensureLocalSecret } from "../../src/auth/keys.js";
import { createTokenVerifier, signToken } from "../../src/auth/token.js";
import { type Config, loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/log.js";
import { generateJobs, insertJobs } from "../../src/seed/generate.js";
import { openDatabase } from "../../src/storage/database.js";
import { SqliteStore } from "../../src/storage/sqlite/sqlite-store.js";
import { startServer } from "../../src/wire/server.js";
import { type AppServer, startAppServer } from "../support/app-server.js";
import { type ChildServer, startChildServer } from "../support/child-server.js";
import { JOBS } from "../support/fixture.js";

const LIFECYCLE = "/spaceone.api.identity.v2.JobLifecycle";
const JOB = "/spaceone.api.identity.v2.Job";
/** Housekeeping off: only the test's own writes touch the database. */
const QUIET = { JOB_REAPER_INTERVAL_SECONDS: "0", JOB_RETENTION_INTERVAL_SECONDS: "0" };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
const tally = { kills: 0, acknowledged: 0, drained: 0 };
afterAll(() => console.info(`faults: ${JSON.stringify(tally)}`));

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "job-service-faults-"));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The config a child on `dataDir` will load, with its secret created first so we can sign tokens. */
function configFor(dataDir: string): Config {
  const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: "silent" });
  ensureLocalSecret(config);
  return config;
}

async function post(url: string, token: string, body: unknown, timeoutMs = 10_000) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", token },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

function integrity(file: string): string {
  const db = new Database(file, { readonly: true });
  try {
    return db.pragma("integrity_check", { simple: true }) as string;
  } finally {
    db.close();
  }
}

function kill(child: ChildServer | undefined) {
  if (child && child.process.exitCode === null) child.process.kill("SIGKILL");
}

describe("SIGKILL during writes, then restart", () => {
  it("no acknowledged write is lost, over three kills; integrity_check is ok each time", async () => {
    const dataDir = tempDir();
    const config = configFor(dataDir);
    const system = await signToken(config, {
      role: "DOMAIN_ADMIN",
      domainId: "domain-k",
      ttlSeconds: 600,
      tokenType: "SYSTEM_TOKEN",
    });
    const order = ["PENDING", "IN_PROGRESS", "SUCCESS"];
    /** job -> [acknowledged status, status of a call in flight (may or may not have landed)]. */
    const jobs = new Map<string, { acked: string; attempted: string | null }>();

    for (let round = 0; round < 3; round++) {
      const child = await startChildServer(dataDir, QUIET);
      cleanups.push(() => kill(child));
      let stop = false;
      const writer = async (w: number) => {
        for (let i = 0; !stop; i++) {
          try {
            const created = await post(`${child.url}${LIFECYCLE}/create`, system, {
              trusted_account_id: `ta-${round}-${w}-${i}`,
              resource_group: "DOMAIN",
              options: { round, w, i },
            });
            if (created.status !== 200) throw new Error(JSON.stringify(created.json));
            const id = created.json.job_id as string;
            jobs.set(id, { acked: "PENDING", attempted: null });
            for (const [verb, status] of [
              ["start", "IN_PROGRESS"],
              ["succeed", "SUCCESS"],
            ] as const) {
              (jobs.get(id) as { attempted: string | null }).attempted = status;
              const answer = await post(`${child.url}${LIFECYCLE}/${verb}`, system, { job_id: id });
              if (answer.status !== 200) throw new Error(JSON.stringify(answer.json));
              jobs.set(id, { acked: status, attempted: null });
            }
          } catch {
            return; // the kill: connections reset mid-call
          }
        }
      };
      const writers = Array.from({ length: 12 }, (_, w) => writer(w));
      // Let writes flow, then kill without warning while calls are in flight.
      await new Promise((r) => setTimeout(r, 1500));
      child.process.kill("SIGKILL");
      stop = true;
      await Promise.all(writers);
      expect(await child.exited).toBe("SIGKILL");
      tally.kills++;

      // What survived, read straight from the file the killed process left.
      const file = path.join(dataDir, "jobs.db");
      expect(integrity(file)).toBe("ok");
      const db = new Database(file, { readonly: true });
      const stored = new Map(
        (db.prepare("SELECT job_id, status FROM jobs").all() as { job_id: string; status: string }[]).map(
          (r) => [r.job_id, r.status],
        ),
      );
      db.close();
      for (const [id, { acked, attempted }] of jobs) {
        const status = stored.get(id);
        expect(status, `${id} was acknowledged and is gone`).toBeDefined();
        // The acknowledged state, or the one a call in flight at the kill had already committed.
        const allowed = [acked, ...(attempted ? [attempted] : [])];
        expect(allowed, `${id}`).toContain(status);
        expect(order.indexOf(status as string)).toBeGreaterThanOrEqual(order.indexOf(acked));
        jobs.set(id, { acked: status as string, attempted: null });
      }
      tally.acknowledged = jobs.size;
    }
    expect(jobs.size).toBeGreaterThan(30);

    // A restarted service serves them all.
    const child = await startChildServer(dataDir, QUIET);
    cleanups.push(() => kill(child));
    const listed = await post(`${child.url}${JOB}/list`, system, { query: { count_only: true } });
    // Every acknowledged job, plus at most one unacknowledged create per writer per kill that had
    // committed when the process died (its answer was lost with the connection).
    expect(listed.json.total_count).toBeGreaterThanOrEqual(jobs.size);
    expect(listed.json.total_count).toBeLessThanOrEqual(jobs.size + 12 * 3);
  }, 120_000);
});

describe("SIGTERM under load", () => {
  it("calls in flight complete, later ones are refused cleanly, the process exits 0", async () => {
    const dataDir = tempDir();
    const config = configFor(dataDir);
    // Enough rows that each call below takes a while, so many are in flight at the signal.
    const seed = openDatabase({ file: path.join(dataDir, "jobs.db") });
    insertJobs(seed, generateJobs({ count: 30_000, seed: 3, now: new Date("2026-03-15T00:00:00Z") }));
    seed.close();
    const child = await startChildServer(dataDir, { ...QUIET, SHUTDOWN_GRACE_MS: "8000" });
    cleanups.push(() => kill(child));
    const admin = await signToken(config, {
      role: "DOMAIN_ADMIN",
      domainId: "domain-seed0001",
      ttlSeconds: 600,
    });
    const heavy = {
      query: { filter: [{ k: "error_message", v: "denied.*(x|y)", o: "regex" }], page: { limit: 50 } },
    };

    const outcomes = Array.from({ length: 48 }, () =>
      post(`${child.url}${JOB}/list`, admin, heavy, 20_000).then(
        (answer) => ({ kind: "answered" as const, status: answer.status }),
        (error: Error) => ({
          kind: "refused" as const,
          detail: String((error.cause as { code?: string })?.code ?? error.message),
        }),
      ),
    );
    await new Promise((r) => setTimeout(r, 40));
    child.process.kill("SIGTERM");
    const results = await Promise.all(outcomes);
    const answered = results.filter((r) => r.kind === "answered");
    tally.drained += answered.length;
    console.info(
      `sigterm: ${JSON.stringify(
        results.reduce((m: Record<string, number>, r) => {
          const k = r.kind === "answered" ? `answered ${r.status}` : r.detail;
          m[k] = (m[k] ?? 0) + 1;
          return m;
        }, {}),
      )}`,
    );
    // Whatever was answered was answered fully and well; nothing failed as a server fault.
    for (const r of answered) expect(r.status).toBe(200);
    for (const r of results.filter((x) => x.kind === "refused")) {
      expect(["ECONNREFUSED", "ECONNRESET", "UND_ERR_SOCKET"], JSON.stringify(r)).toContain(
        (r as { detail: string }).detail,
      );
    }
    expect(answered.length).toBeGreaterThan(0);
    // Every call the server was running when the signal came (its own count, logged) was answered.
    // Resets are connections still in the kernel's accept queue when the listener closed: never
    // accepted, so never started.
    const inFlight = Number(/"inFlight":(\d+)[^\n]*"msg":"draining"/.exec(child.log())?.[1] ?? Number.NaN);
    expect(inFlight).toBeGreaterThanOrEqual(0);
    expect(answered.length).toBeGreaterThanOrEqual(inFlight);

    // New calls after the signal: refused at connect once the listener is closed, never hung.
    const late = await post(`${child.url}${JOB}/list`, admin, {}, 5000).then(
      (a) => `answered ${a.status}`,
      (e: Error) => String((e.cause as { code?: string })?.code ?? e.name),
    );
    expect(["ECONNREFUSED", "ECONNRESET", "answered 200"]).toContain(late);
    expect(await child.exited).toBe(0);
    expect(child.log()).toMatch(/"msg":"stopped"/);
    expect(integrity(path.join(dataDir, "jobs.db"))).toBe("ok");
  }, 60_000);
});

/** A process that holds `BEGIN EXCLUSIVE` on `file` until its stdin closes. */
function lockFromAnotherProcess(file: string): Promise<ChildProcess> {
  const script = `
    const Database = require("better-sqlite3");
    const db = new Database(${JSON.stringify(file)});
    db.pragma("busy_timeout = 0");
    db.exec("BEGIN EXCLUSIVE");
    db.prepare("UPDATE jobs SET error_message = error_message WHERE 0").run();
    process.stdout.write("locked\\n");
    process.stdin.on("end", () => { db.exec("ROLLBACK"); db.close(); process.exit(0); });
    process.stdin.resume();
  `;
  const locker = spawn(process.execPath, ["-e", script], {
    cwd: process.cwd(),
    stdio: ["pipe", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    locker.stdout?.on("data", (chunk: Buffer) => chunk.toString().includes("locked") && resolve(locker));
    locker.once("exit", (code) => reject(new Error(`locker exited ${code}`)));
  });
}

describe("storage faults in a running server", () => {
  let server: AppServer;
  let system: string;
  const start = async (busyTimeoutMs?: number) => {
    server = await startAppServer({ busyTimeoutMs });
    cleanups.push(() => server.close());
    system = await server.systemToken("domain-a");
  };
  const create = (options: unknown = {}) =>
    post(`${server.url}${LIFECYCLE}/create`, system, {
      trusted_account_id: "ta-fault",
      resource_group: "DOMAIN",
      options,
    });
  const remove = (id: string) => post(`${server.url}${JOB}/delete`, system, { job_id: id });
  const read = () => post(`${server.url}${JOB}/list`, system, { query: { count_only: true } });

  it("database locked by another process: writes are unavailable after the busy timeout, reads go on", async () => {
    await start(300);
    const locker = await lockFromAnotherProcess(server.config.databaseFile);
    cleanups.push(() => {
      locker.kill();
    });
    for (const write of [() => create(), () => remove("job-a01")]) {
      const started = performance.now();
      const answer = await write();
      expect(answer.status, JSON.stringify(answer.json)).toBe(503);
      expect(answer.json.code).toBe("unavailable");
      expect(String(answer.json.message)).toMatch(/ERROR_UNAVAILABLE: .*busy/);
      // The busy timeout (300 ms) plus slack; never the default 5 s, never a hang.
      expect(performance.now() - started).toBeLessThan(3000);
    }
    expect((await read()).status).toBe(200);
    locker.stdin?.end();
    await new Promise((r) => locker.once("exit", r));
    expect((await create()).status).toBe(200);
    expect((await remove("job-a01")).status).toBe(200);
    expect(server.integrity()).toBe("ok");
  });

  it("read-only database (query_only): writes are unavailable, reads keep working", async () => {
    await start();
    server.db.pragma("query_only = ON");
    const before = server.jobCount();
    const created = await create();
    expect(created.status, JSON.stringify(created.json)).toBe(503);
    expect(created.json.message).toMatch(/read-only/);
    expect((await remove("job-a01")).json.code).toBe("unavailable");
    const listed = await read();
    expect(listed.json.total_count).toBe(JOBS.filter((j) => j.domain_id === "domain-a").length);
    server.db.pragma("query_only = OFF");
    expect(server.jobCount()).toBe(before);
    expect((await create()).status).toBe(200);
  });

  it("read-only database file (opened readonly): writes are unavailable, reads keep working", async () => {
    const dataDir = tempDir();
    const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: "silent" });
    ensureLocalSecret(config);
    const writable = openDatabase({ file: config.databaseFile });
    for (const job of JOBS) {
      writable
        .prepare(
          `INSERT INTO jobs (job_id, status, options, resource_group, error_message, domain_id, workspace_id,
             trusted_account_id, plugin_id, created_at, updated_at, finished_at)
           VALUES (@job_id, @status, @options, @resource_group, @error_message, @domain_id, @workspace_id,
             @trusted_account_id, @plugin_id, @created_at, @updated_at, @finished_at)`,
        )
        .run(job);
    }
    writable.close();
    const db = openDatabase({ file: config.databaseFile, readonly: true });
    const app = createApp({
      config,
      store: new SqliteStore(db),
      verifier: await createTokenVerifier(config),
      logger: createLogger("silent"),
    });
    const running = await startServer({
      handler: app.handler,
      host: "127.0.0.1",
      port: 0,
      shutdownGraceMs: 1000,
    });
    cleanups.push(async () => {
      await running.close();
      db.close();
    });
    const token = await signToken(config, {
      role: "DOMAIN_ADMIN",
      domainId: "domain-a",
      ttlSeconds: 600,
      tokenType: "SYSTEM_TOKEN",
    });
    const created = await post(`${running.url}${LIFECYCLE}/create`, token, {
      trusted_account_id: "t",
      resource_group: "DOMAIN",
    });
    expect(created.status, JSON.stringify(created.json)).toBe(503);
    expect(created.json.code).toBe("unavailable");
    const deleted = await post(`${running.url}${JOB}/delete`, token, { job_id: "job-a01" });
    expect(deleted.json.code).toBe("unavailable");
    const listed = await post(`${running.url}${JOB}/list`, token, { query: { count_only: true } });
    expect(listed.status).toBe(200);
    expect(listed.json.total_count).toBe(JOBS.filter((j) => j.domain_id === "domain-a").length);
  });

  it("disk full (max_page_count): resource_exhausted, no corruption, writes resume when space returns", async () => {
    await start();
    const pages = server.db.pragma("page_count", { simple: true }) as number;
    server.db.pragma(`max_page_count = ${pages + 8}`);
    const big = { blob: "x".repeat(200_000) };
    let full: Awaited<ReturnType<typeof create>> | undefined;
    let written = 0;
    for (let i = 0; i < 50 && !full; i++) {
      const answer = await create(big);
      if (answer.status === 200) written++;
      else full = answer;
    }
    expect(full, `no SQLITE_FULL after ${written} writes`).toBeDefined();
    expect(full?.status, JSON.stringify(full?.json)).toBe(429);
    expect(full?.json.code).toBe("resource_exhausted");
    expect(full?.json.message).toMatch(/ERROR_STORAGE_FULL/);
    expect(server.integrity()).toBe("ok");
    expect((await read()).status).toBe(200);
    server.db.pragma("max_page_count = 1073741823");
    expect((await create(big)).status).toBe(200);
    expect(server.integrity()).toBe("ok");
  });
});
