/**
 * The floor for progress writes on this runtime (its own process): a bare `node:http` server that
 * reads the JSON body, checks the bearer token against the one it was given, and runs the service's
 * statements by hand with group commit: the requests read in one turn of the event loop share one
 * BEGIN IMMEDIATE transaction, each write in its own SAVEPOINT (the locked read of the job, the
 * versioned `UPDATE ... RETURNING *`), one change-feed insert per group, COMMIT, and only then the
 * answers (the updated row as JSON). No routing, no Connect, no protobuf, no observability.
 * With `durable: false` it answers the same bytes without the database: the HTTP and JSON part alone.
 *
 * Argument: one JSON object (`BareWritesSpec`). Answers GET /healthz.
 */
import http from "node:http";
import type { Statement } from "better-sqlite3";
import { openDatabase } from "../../src/storage/database.js";
import { answer, readBody, stopOnSignal } from "./serve.js";

export interface BareWritesSpec {
  port: number;
  /** A scratch database with the service's schema and pragmas (openDatabase), holding the jobs. */
  dbFile: string;
  /** The whole `authorization` header a request must carry. */
  authorization: string;
  domainId: string;
  durable: boolean;
}

interface Pending {
  readonly body: {
    job_id?: string;
    records_processed?: number;
    progress_percent?: number;
    current_step?: string;
  };
  readonly res: http.ServerResponse;
}

const spec = JSON.parse(process.argv[2] ?? "{}") as BareWritesSpec;
const db = openDatabase({ file: spec.dbFile });
const find = db.prepare("SELECT * FROM jobs WHERE job_id = ? AND domain_id = ?");
const update = db.prepare(
  `UPDATE jobs SET heartbeat_at = ?, records_processed = ?, progress_percent = ?, current_step = ?,
     updated_at = ?, version = version + 1 WHERE job_id = ? AND version = ? RETURNING *`,
);
const begin = db.prepare("BEGIN IMMEDIATE");
const commit = db.prepare("COMMIT");
const savepoint = db.prepare("SAVEPOINT w");
const release = db.prepare("RELEASE w");
const changes = new Map<number, Statement>();

/** The change-feed insert for `n` rows, prepared once per group size. */
function changeInsert(n: number): Statement {
  let stmt = changes.get(n);
  if (!stmt) {
    stmt = db.prepare(
      `INSERT INTO job_changes (job_id, domain_id, workspace_id, kind, event_seq, created_at) VALUES ${Array.from(
        { length: n },
        () => "(?, ?, ?, 'updated', NULL, ?)",
      ).join(", ")} RETURNING id`,
    );
    changes.set(n, stmt);
  }
  return stmt;
}

let queue: Pending[] = [];
let scheduled = false;
/** Without the database, every answer is one stored job (bytes of the same size as the durable answers). */
const fixed = Buffer.from(JSON.stringify(db.prepare("SELECT * FROM jobs LIMIT 1").get()));

function flush(): void {
  scheduled = false;
  const group = queue;
  queue = [];
  const now = new Date().toISOString();
  const rows: (Record<string, unknown> | undefined)[] = [];
  begin.run();
  try {
    for (const { body } of group) {
      savepoint.run();
      const row = find.get(body.job_id, spec.domainId) as Record<string, unknown> | undefined;
      const updated = row
        ? (update.get(
            now,
            Math.max(Number(row.records_processed ?? 0), body.records_processed ?? 0),
            Math.max(Number(row.progress_percent ?? 0), body.progress_percent ?? 0),
            body.current_step ?? row.current_step ?? null,
            now,
            body.job_id,
            row.version,
          ) as Record<string, unknown> | undefined)
        : undefined;
      release.run();
      rows.push(updated);
    }
    const done = rows.filter((r): r is Record<string, unknown> => r !== undefined);
    if (done.length > 0) {
      changeInsert(done.length).all(...done.flatMap((r) => [r.job_id, r.domain_id, r.workspace_id, now]));
    }
    commit.run();
  } catch (error) {
    if (db.inTransaction) db.exec("ROLLBACK");
    for (const { res } of group) answer(res, 500, JSON.stringify({ message: String(error) }));
    return;
  }
  group.forEach(({ res }, i) => {
    const row = rows[i];
    if (row) answer(res, 200, JSON.stringify(row));
    else answer(res, 404, '{"code":"not_found"}');
  });
}

const server = http.createServer((req, res) => {
  if (req.method === "GET") {
    answer(res, 200, "ok");
    return;
  }
  readBody(req, (raw) => {
    if (req.headers.authorization !== spec.authorization) {
      answer(res, 401, '{"code":"unauthenticated"}');
      return;
    }
    let body: Pending["body"];
    try {
      body = JSON.parse(raw.toString("utf8")) as Pending["body"];
    } catch {
      answer(res, 400, '{"code":"invalid_argument"}');
      return;
    }
    if (!spec.durable) {
      answer(res, 200, fixed);
      return;
    }
    queue.push({ body, res });
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  });
});
server.keepAliveTimeout = 65_000;
server.listen(spec.port, "127.0.0.1");

stopOnSignal(() => {
  server.close();
  db.close();
});
