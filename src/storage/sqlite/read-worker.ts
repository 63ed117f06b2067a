/**
 * A read worker thread: its own read-only connection to the database file (WAL lets readers run
 * beside the writer and each other), answering `list` and `stat` for `read-pool.ts`. The pool
 * terminates a worker whose query overruns its deadline; nothing here needs to cooperate.
 */
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";
import { setRegexCacheLimits } from "../../query/linear-regex.js";
import { openDatabase } from "../database.js";
import type { ReadReply, ReadRequest, ReadWorkerData } from "./read-protocol.js";
import { SqliteJobs } from "./sqlite-jobs.js";

const data = workerData as ReadWorkerData;
if (data.regexCache) setRegexCacheLimits(data.regexCache);
const db = openDatabase({ file: data.file, readonly: true, busyTimeoutMs: data.busyTimeoutMs });
const jobs = new SqliteJobs(db);
// Ready: the pool sends work here from now on.
parentPort?.postMessage({ ready: true });

parentPort?.on("message", (request: ReadRequest) => {
  let reply: ReadReply;
  try {
    const result =
      request.kind === "list" ? jobs.list(request.request) : jobs.stat(request.query, request.statOptions);
    reply = { id: request.id, ok: true, result };
  } catch (error) {
    reply = {
      id: request.id,
      ok: false,
      error: {
        message: error instanceof Error ? error.message : String(error),
        sqliteCode: error instanceof Database.SqliteError ? error.code : null,
      },
    };
  }
  parentPort?.postMessage(reply);
});
