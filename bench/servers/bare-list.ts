/**
 * The floor for `list` over the wire on this runtime (its own process): a bare `node:http` server that
 * reads the request body, runs the list's captured SQL (page + count, in one deferred transaction, as
 * `makeReplay` runs it for the baseline) and answers the exact bytes the real server gave. No routing,
 * no authentication, no views, no encoding. `sql`: where the SQL runs: `none` (HTTP alone), `main` (on
 * the event loop, as the baseline runs it), `worker` (in a worker thread of this process, one message
 * each way, as the read pool hops: the worker answers only when it is done).
 *
 * Argument: one JSON object (`BareListSpec`). Answers GET /healthz.
 */
import http from "node:http";
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { openDatabase } from "../../src/storage/database.js";
import { type CapturedStatement, makeReplay } from "../core/inprocess.js";
import { tsWorker } from "../core/ts-worker.js";

export interface BareListSpec {
  port: number;
  dbFile: string;
  statements: CapturedStatement[];
  sql: "none" | "main" | "worker";
  /** The real server's answer, base64. */
  bodyBase64: string;
  contentType: string;
}

function replayer(spec: BareListSpec): () => void {
  return makeReplay(openDatabase({ file: spec.dbFile, readonly: true }), spec.statements);
}

if (!isMainThread) {
  const run = replayer(workerData as BareListSpec);
  parentPort?.on("message", (id: number) => {
    run();
    parentPort?.postMessage(id);
  });
} else {
  const spec = JSON.parse(process.argv[2] ?? "{}") as BareListSpec;
  const body = Buffer.from(spec.bodyBase64, "base64");
  let runSql: () => Promise<void> = async () => {};
  if (spec.sql === "main") {
    const run = replayer(spec);
    runSql = async () => run();
  } else if (spec.sql === "worker") {
    const worker = tsWorker(import.meta.url, spec);
    const waiting = new Map<number, () => void>();
    let next = 0;
    worker.on("message", (id: number) => {
      waiting.get(id)?.();
      waiting.delete(id);
    });
    runSql = () =>
      new Promise<void>((resolve) => {
        const id = next++;
        waiting.set(id, resolve);
        worker.postMessage(id);
      });
  }
  const server = http.createServer((req, res) => {
    if (req.method === "GET") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
      return;
    }
    req.on("data", () => {});
    req.on("end", () => {
      void runSql().then(() => {
        res.writeHead(200, { "content-type": spec.contentType, "content-length": body.length });
        res.end(body);
      });
    });
  });
  server.keepAliveTimeout = 65_000;
  server.listen(spec.port, "127.0.0.1");
  const stop = () => {
    server.close();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
