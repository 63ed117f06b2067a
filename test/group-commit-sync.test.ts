/**
 * A group's writes run at once when they can: `runWrites` over a session and writes that answer without
 * a promise (SQLite's, and the lifecycle writes chained with `whenReady`) finishes in the same synchronous
 * stretch, and the first promise met makes the rest of the group wait for it, in order. Each cell proves
 * one behaviour of the mixed path: outcomes, savepoint order, what a failure undoes, whose changes are kept.
 */
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "../src/storage/database.js";
import { sqliteDialect } from "../src/storage/dialect/sqlite/sqlite-dialect.js";
import {
  type GroupResult,
  type GroupSession,
  type GroupWrite,
  runWrites,
} from "../src/storage/group-commit.js";
import { SqliteStore } from "../src/storage/sqlite/sqlite-store.js";
import { WriteStatements } from "../src/storage/write-statements.js";
import { type RunStatement, StatementWriteTx } from "../src/storage/write-tx.js";
import { newJob } from "./support/fixture.js";

const statements = new WriteStatements(sqliteDialect);

/** A session whose savepoint calls are logged; `async` makes each answer with a promise. */
function session(
  log: string[],
  options: { async?: boolean; loseOnUndo?: boolean; run?: RunStatement } = {},
): GroupSession {
  const answer = (entry: string): Promise<void> | undefined => {
    log.push(entry);
    return options.async ? Promise.resolve() : undefined;
  };
  return {
    tx: () => new StatementWriteTx(options.run ?? (() => []), statements),
    savepoint: (name) => answer(`savepoint ${name}`),
    keep: (name) => answer(`keep ${name}`),
    undo: (name, error) => {
      if (options.loseOnUndo) throw new Error("the transaction is gone");
      log.push(`undo ${name}: ${(error as Error).message}`);
    },
  };
}

/** A write that records a change for `jobId` and answers `jobId`, as `answer` says. */
function write(
  log: string[],
  jobId: string,
  answer: "now" | "later" | "throws" | "rejects" | ((tx: StatementWriteTx) => unknown),
): GroupWrite {
  return {
    fn: (tx) => {
      log.push(`run ${jobId}`);
      if (typeof answer === "function") return answer(tx);
      tx.changes.record({ job_id: jobId, domain_id: "d", workspace_id: "w" }, "updated");
      if (answer === "throws") throw new Error(`${jobId} failed`);
      if (answer === "rejects") return Promise.reject(new Error(`${jobId} failed`));
      return answer === "later" ? Promise.resolve(jobId) : jobId;
    },
    resolve: () => {},
    reject: () => {},
  };
}

const outcomesOf = (result: GroupResult) =>
  result.outcomes.map((o) => (o.ok ? o.value : `error: ${(o.error as Error).message}`));
const changedJobs = (result: GroupResult) => result.changes.rows().map((row) => row.job_id);

describe("runWrites: a group that answers at once stays synchronous", () => {
  it("every write and the session answer at once: the result is a value, savepoints in order", () => {
    const log: string[] = [];
    const result = runWrites([write(log, "a", "now"), write(log, "b", "now")], session(log));
    expect(result).not.toBeInstanceOf(Promise);
    const done = result as GroupResult;
    expect(outcomesOf(done)).toEqual(["a", "b"]);
    expect(changedJobs(done)).toEqual(["a", "b"]);
    expect(log).toEqual(["savepoint w0", "run a", "keep w0", "savepoint w1", "run b", "keep w1"]);
  });

  it("a write that throws at once is undone alone, its changes dropped, and the group stays synchronous", () => {
    const log: string[] = [];
    const result = runWrites(
      [write(log, "a", "now"), write(log, "b", "throws"), write(log, "c", "now")],
      session(log),
    ) as GroupResult;
    expect(result).not.toBeInstanceOf(Promise);
    expect(outcomesOf(result)).toEqual(["a", "error: b failed", "c"]);
    expect(changedJobs(result)).toEqual(["a", "c"]);
    expect(log).toContain("undo w1: b failed");
  });

  it("a session that loses the transaction on an undo throws at once, to the store", () => {
    const log: string[] = [];
    expect(() =>
      runWrites([write(log, "a", "throws"), write(log, "b", "now")], session(log, { loseOnUndo: true })),
    ).toThrow("the transaction is gone");
    expect(log).not.toContain("run b");
  });
});

describe("runWrites: the first promise makes the rest wait, in order", () => {
  it("a write answering with a promise: the result is a promise, the next write starts after it settles", async () => {
    const log: string[] = [];
    let release: (value: string) => void = () => {};
    const pending = new Promise<string>((resolve) => {
      release = resolve;
    });
    const result = runWrites(
      [write(log, "a", "now"), write(log, "b", () => pending), write(log, "c", "now")],
      session(log),
    );
    expect(result).toBeInstanceOf(Promise);
    expect(log).toEqual(["savepoint w0", "run a", "keep w0", "savepoint w1", "run b"]);
    release("b");
    const done = await result;
    expect(outcomesOf(done)).toEqual(["a", "b", "c"]);
    expect(log.slice(5)).toEqual(["keep w1", "savepoint w2", "run c", "keep w2"]);
  });

  it("a rejected write is undone alone, and the writes after it still run", async () => {
    const log: string[] = [];
    const done = await runWrites([write(log, "a", "rejects"), write(log, "b", "later")], session(log));
    expect(outcomesOf(done)).toEqual(["error: a failed", "b"]);
    expect(changedJobs(done)).toEqual(["b"]);
  });

  it("a session that answers with promises gives a promise even for writes that answer at once", async () => {
    const log: string[] = [];
    const result = runWrites([write(log, "a", "now"), write(log, "b", "now")], session(log, { async: true }));
    expect(result).toBeInstanceOf(Promise);
    expect(outcomesOf(await result)).toEqual(["a", "b"]);
    expect(log).toEqual(["savepoint w0", "run a", "keep w0", "savepoint w1", "run b", "keep w1"]);
  });

  it("a lost transaction behind a promise rejects the group's promise", async () => {
    const log: string[] = [];
    await expect(runWrites([write(log, "a", "rejects")], session(log, { loseOnUndo: true }))).rejects.toThrow(
      "the transaction is gone",
    );
  });
});

describe("StatementWriteTx answers as its statements do", () => {
  const row = { job_id: "job-1", domain_id: "d", workspace_id: "w", version: 2, status: "IN_PROGRESS" };

  it("statements answering at once: lock and update give values, the change is recorded", () => {
    const tx = new StatementWriteTx(<T>() => [row as T], statements);
    const locked = tx.lock("job-1", []);
    expect(locked).toEqual(row);
    const updated = tx.update("job-1", 1, { current_step: "x" });
    expect(updated).toEqual(row);
    expect(tx.changes.rows().map((c) => [c.job_id, c.kind])).toEqual([["job-1", "updated"]]);
  });

  it("a lost version race throws at once: ERROR_VERSION_MISMATCH, nothing recorded", () => {
    const tx = new StatementWriteTx(() => [], statements);
    expect(() => tx.update("job-1", 1, { current_step: "x" })).toThrow(
      /ERROR_VERSION_MISMATCH|changed by another writer/,
    );
    expect(tx.changes.size).toBe(0);
  });

  it("statements answering with promises: lock and update give promises of the same values", async () => {
    const tx = new StatementWriteTx(<T>() => Promise.resolve([row as T]), statements);
    const locked = tx.lock("job-1", []);
    expect(locked).toBeInstanceOf(Promise);
    expect(await locked).toEqual(row);
    expect(await tx.update("job-1", 1, { current_step: "x" })).toEqual(row);
  });

  it("a call after the write ended is refused", () => {
    const tx = new StatementWriteTx(() => [], statements);
    tx.close();
    expect(() => tx.lock("job-1", [])).toThrow("WriteTx used after its write ended");
  });
});

describe("the SQLite store's transaction answers at once", () => {
  let store: SqliteStore | undefined;
  afterEach(async () => {
    await store?.close();
  });

  it("lock, update and find inside store.write are values, not promises, and the write commits", async () => {
    store = new SqliteStore(openDatabase({ file: ":memory:" }), { ownsConnection: true });
    await store.write((tx) => tx.insert(newJob("job-sync")));
    const seen: string[] = [];
    const written = await store.write((tx) => {
      const locked = tx.lock("job-sync", []);
      seen.push(locked instanceof Promise ? "lock: promise" : "lock: value");
      const version = (locked as { version: number }).version;
      const updated = tx.update("job-sync", version, { current_step: "synchronous" });
      seen.push(updated instanceof Promise ? "update: promise" : "update: value");
      return updated;
    });
    expect(seen).toEqual(["lock: value", "update: value"]);
    expect(written.current_step).toBe("synchronous");
    expect((await store.get("job-sync", []))?.current_step).toBe("synchronous");
  });
});
