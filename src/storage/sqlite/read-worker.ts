/**
 * A read worker thread: its own read-only connection to the database file (WAL lets readers run
 * beside the writer and each other), answering `list` and `stat` for `read-pool.ts`. The pool
 * terminates a worker whose query overruns its deadline; nothing here needs to cooperate.
 */
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";
import { openDatabase } from "../database.js";
import type { RanStatement, ReadReply, ReadRequest, ReadWorkerData } from "./read-protocol.js";
import { SqliteJobs } from "./sqlite-jobs.js";

const data = workerData as ReadWorkerData;
const db = openDatabase({ file: data.file, readonly: true, busyTimeoutMs: data.busyTimeoutMs });
/** What the current request ran, when the pool asked for it (empty otherwise). */
let ran: RanStatement[] = [];
const jobs = new SqliteJobs(
  db,
  data.reportStatements ? (sql, parameters) => ran.push({ sql, parameters: [...parameters] }) : undefined,
);
// Ready: the pool sends work here from now on.
parentPort?.postMessage({ ready: true });

parentPort?.on("message", (request: ReadRequest) => {
  let reply: ReadReply;
  ran = [];
  try {
    const result =
      request.kind === "list" ? jobs.list(request.request) : jobs.stat(request.query, request.statOptions);
    reply = { id: request.id, ok: true, result, statements: ran };
  } catch (error) {
    reply = {
      id: request.id,
      ok: false,
      statements: ran,
      error: {
        message: error instanceof Error ? error.message : String(error),
        sqliteCode: error instanceof Database.SqliteError ? error.code : null,
      },
    };
  }
  parentPort?.postMessage(reply);
});
