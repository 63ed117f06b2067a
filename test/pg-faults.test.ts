/**
 * PostgreSQL failures reach callers as retryable `unavailable` or `deadline_exceeded`, never as
 * internal errors, and a transient failure inside a write transaction either retries it safely
 * (one effect, not two) or fails with nothing written.
 */
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { SpaceOneError } from "../src/errors.js";
import { openPostgresStore } from "../src/storage/dialect/postgres/open.js";
import type { PostgresStore } from "../src/storage/dialect/postgres/postgres-store.js";
import type { WriteTx } from "../src/storage/store.js";
import { newJob } from "./support/fixture.js";
import { createTestDatabase, describePostgres, type TestDatabase } from "./support/postgres.js";

const NOW = "2026-01-01T00:00:00.000Z";

describePostgres("PostgreSQL failures", () => {
  let db: TestDatabase;
  let store: PostgresStore;
  let admin: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    // PostgreSQL looks for a deadlock after `deadlock_timeout` (1 s by default) of waiting; on a loaded
    // machine that check can come later than the 1.5 s statement timeout below, and the deadlock test
    // would see a timeout instead. Sessions opened from here on look after 100 ms.
    const setup = new pg.Client({ connectionString: db.url });
    await setup.connect();
    await setup.query(`ALTER DATABASE "${db.name}" SET deadlock_timeout = '100ms'`);
    await setup.end();
    store = await openPostgresStore({
      url: db.url,
      size: 4,
      statementTimeoutMs: 1500,
      connectTimeoutMs: 2000,
    });
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    for (const id of ["job-a", "job-b", "job-c"]) {
      await store.write(async (tx) => {
        await tx.insert(newJob(id, { status: "IN_PROGRESS", trusted_account_id: `ta-${id}` }));
      });
    }
  });

  afterAll(async () => {
    await admin?.end();
    await store?.close();
    await db?.drop();
  });

  const version = async (id: string) => (await store.get(id, []))?.version as number;
  const bump = async (tx: WriteTx, id: string) => {
    const row = await tx.find(id, []);
    if (!row) throw new Error(`missing ${id}`);
    return tx.update(id, row.version as number, { current_step: `at ${row.version}` });
  };
  const changes = async (id: string) =>
    (await admin.query("SELECT count(*)::int AS n FROM job_changes WHERE job_id = $1", [id])).rows[0]
      .n as number;

  it("a connection killed inside a write transaction: the transaction runs again, with one effect", async () => {
    const before = await version("job-a");
    const changesBefore = await changes("job-a");
    let attempts = 0;
    await store.write(async (tx) => {
      attempts++;
      await bump(tx, "job-a");
      if (attempts === 1) {
        await admin.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'job-service' AND state = 'idle in transaction'",
        );
      }
      await tx.find("job-a", []);
    });
    expect(attempts).toBe(2);
    expect(await version("job-a")).toBe(before + 1);
    expect(await changes("job-a")).toBe(changesBefore + 1);
  });

  it("a deadlock between two writers: the loser runs again, both changes land once", async () => {
    // Two instances: one store runs concurrent writes in one transaction (group commit), so only two
    // stores can hold rows the other one wants.
    const other = await openPostgresStore({
      url: db.url,
      size: 2,
      statementTimeoutMs: 5000,
      connectTimeoutMs: 2000,
    });
    const [a0, b0] = [await version("job-a"), await version("job-b")];
    let gate!: () => void;
    const bothLocked = new Promise<void>((resolve) => {
      let n = 0;
      gate = () => {
        if (++n === 2) resolve();
      };
    });
    let first = true;
    let runs = 0;
    const crossed = (on: PostgresStore, x: string, y: string) =>
      on.write(async (tx) => {
        runs++;
        await bump(tx, x);
        if (first) {
          gate();
          await Promise.race([bothLocked, new Promise((r) => setTimeout(r, 500))]);
        }
        await bump(tx, y);
      });
    const results = await Promise.allSettled([
      crossed(store, "job-a", "job-b"),
      crossed(other, "job-b", "job-a"),
    ]).finally(() => other.close());
    first = false;
    // A rejection's reason in the comparison, so that a failure says what it was.
    expect(results.map((r) => (r.status === "rejected" ? String(r.reason) : r.status))).toEqual([
      "fulfilled",
      "fulfilled",
    ]);
    // PostgreSQL chose one loser, whose transaction ran again.
    expect(runs).toBe(3);
    expect(await version("job-a")).toBe(a0 + 2);
    expect(await version("job-b")).toBe(b0 + 2);
  });

  it("a statement past the timeout is deadline_exceeded, and the transaction wrote nothing", async () => {
    const before = await version("job-c");
    const changesBefore = await changes("job-c");
    // Another session holds the row: the store's FOR UPDATE waits until statement_timeout.
    await admin.query("BEGIN");
    await admin.query("SELECT 1 FROM jobs WHERE job_id = 'job-c' FOR UPDATE");
    try {
      const failure = await store
        .write(async (tx) => {
          await tx.appendEvent({
            job_id: "job-c",
            action: "report_progress",
            from_status: "IN_PROGRESS",
            to_status: "IN_PROGRESS",
            reason: null,
            actor: "t",
            created_at: NOW,
          });
          return bump(tx, "job-c");
        })
        .catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(SpaceOneError);
      expect((failure as SpaceOneError).status).toBe("deadline_exceeded");
    } finally {
      await admin.query("ROLLBACK");
    }
    expect(await version("job-c")).toBe(before);
    expect(await changes("job-c")).toBe(changesBefore);
    const events = await admin.query("SELECT count(*)::int AS n FROM job_events WHERE job_id = 'job-c'");
    expect(events.rows[0].n).toBe(0);
  });

  it("a read whose deadline passes is deadline_exceeded", async () => {
    const failure = await store
      .list(
        {
          where: { and: [], or: [] },
          sort: [],
          page: { offset: 0, limit: 10 },
          only: null,
          countOnly: false,
          unpagedMax: 10,
        },
        { deadline: Date.now() - 1 },
      )
      .catch((e: unknown) => e);
    expect((failure as SpaceOneError).status).toBe("deadline_exceeded");
  });

  it("an unreachable server is unavailable, for reads and writes", async () => {
    const url = new URL(db.url);
    url.port = "1"; // nothing listens there
    const down = await import("../src/storage/dialect/postgres/postgres-store.js").then(
      (m) =>
        new m.PostgresStore({
          url: url.toString(),
          size: 1,
          statementTimeoutMs: 1000,
          connectTimeoutMs: 1000,
        }),
    );
    try {
      for (const call of [
        () => down.get("job-a", []),
        () => down.write(async (tx) => tx.find("job-a", [])),
      ]) {
        const failure = await call().catch((e: unknown) => e);
        expect(failure).toBeInstanceOf(SpaceOneError);
        expect((failure as SpaceOneError).status).toBe("unavailable");
      }
    } finally {
      await down.close();
    }
  });
});
