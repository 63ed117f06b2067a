/**
 * A read worker thread: its own read-only connection to the database file (WAL lets readers run
 * beside the writer and each other), answering `list` and `stat` for `read-pool.ts`. The pool
 * terminates a worker whose query overruns its deadline; nothing here needs to cooperate.
 *
 * The SQL comes compiled from the main thread, so the worker loads no query builder (`SqliteStatements`
 * only runs it). A list's rows are read with a cursor (`openCompiledList`) and sent in batches, never more than
 * the pool's window ahead of what its consumer took, so a list of every row is never in memory here
 * (or queued for the main thread) at once; its read transaction stays open until the last batch.
 * A page that fits one batch is read whole and sent with its header in one message (read-protocol.ts).
 */
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";
import { setRegexCacheLimits } from "../../query/linear-regex.js";
import { openDatabase } from "../database.js";
import type { RanStatement, ReadReply, ReadRequest, ReadWorkerData } from "./read-protocol.js";
import { type ListCursor, readsWhole, SqliteStatements } from "./sqlite-statements.js";

const data = workerData as ReadWorkerData;
if (data.regexCache) setRegexCacheLimits(data.regexCache);
const db = openDatabase({
  file: data.file,
  readonly: true,
  busyTimeoutMs: data.busyTimeoutMs,
  cacheMb: data.cacheMb,
});
/** What the current request ran, when the pool asked for it (for its statement hook). */
let ran: RanStatement[] = [];
const jobs = new SqliteStatements(
  db,
  data.reportStatements ? (sql, parameters) => ran.push({ sql, parameters: [...parameters] }) : undefined,
);

/** The statements run since the last report, for a reply that ends a request's statements. */
function statements(): { statements?: RanStatement[] } {
  if (!data.reportStatements) return {};
  const out = ran;
  ran = [];
  return { statements: out };
}

/** The list whose rows are being sent, and how many batches may still go before the pool asks. */
let open: { id: number; list: ListCursor; batchRows: number; credit: number } | null = null;

function post(reply: ReadReply): void {
  parentPort?.postMessage(reply);
}

function failure(id: number, error: unknown): ReadReply {
  return {
    id,
    ok: false,
    error: {
      message: error instanceof Error ? error.message : String(error),
      sqliteCode: error instanceof Database.SqliteError ? error.code : null,
    },
    ...statements(),
  };
}

function close(): void {
  const list = open?.list;
  open = null;
  list?.end();
}

/** Send batches while the window allows; the last (short or empty) batch ends the list. */
function pump(): void {
  while (open !== null && open.credit > 0) {
    const { id, list, batchRows } = open;
    let batch: ReturnType<ListCursor["next"]>;
    try {
      batch = list.next(batchRows);
    } catch (error) {
      close();
      post(failure(id, error));
      return;
    }
    if (batch.length < batchRows) {
      close();
      if (batch.length > 0) post({ id, batch });
      post({ id, end: true });
      return;
    }
    open.credit--;
    post({ id, batch });
  }
}

function startList(request: Extract<ReadRequest, { kind: "list" }>): void {
  close();
  if (readsWhole(request.list, request.batchRows)) {
    const { header, columns, values } = jobs.readCompiledList(request.list);
    post({ id: request.id, ok: true, header, columns, values, ...statements() });
    return;
  }
  const list = jobs.openCompiledList(request.list);
  const rows = list.header.kind === "ok" && !request.list.countOnly;
  if (!rows) {
    list.end();
    post({ id: request.id, ok: true, header: list.header, rows: false, ...statements() });
    return;
  }
  open = { id: request.id, list, batchRows: request.batchRows, credit: request.ahead };
  post({ id: request.id, ok: true, header: list.header, rows: true, ...statements() });
  pump();
}

parentPort?.on("message", (request: ReadRequest) => {
  try {
    switch (request.kind) {
      case "list":
        ran = [];
        startList(request);
        return;
      case "more":
        if (open?.id === request.id) {
          open.credit++;
          pump();
        }
        return;
      case "cancel":
        if (open?.id === request.id) close();
        return;
      case "stat":
        ran = [];
        post({
          id: request.id,
          ok: true,
          result: jobs.runStat(request.stat),
          ...statements(),
        });
        return;
    }
  } catch (error) {
    close();
    post(failure(request.id, error));
  }
});

// Ready: the pool sends work here from now on.
post({ ready: true });
