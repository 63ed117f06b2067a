/**
 * `taskset -c 1 npx tsx bench/ab-list-hop.ts --db FILE [--blocks B] [--per N]`: what the `list` page's
 * JSON would cost made in the read worker instead of on the main thread, in this one process (main
 * thread and one worker on one CPU, as the server runs). The worker runs the `list` scenario's captured
 * page (raw values) + count in one transaction, then either posts nothing (`sql only`), posts the
 * values (`values`: the main thread makes the rows, views and JobInfo JSON, as the server does now) or
 * makes the rows, views and JSON itself and posts the answer's text (`text`); the main thread ends
 * with the answer's UTF-8 bytes either way. The real `rowsOf`, `toJobView` and `jobInfoJson` run on
 * both sides. CPU of all threads per call, median over rotated blocks.
 */
import os from "node:os";
import { parseArgs } from "node:util";
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import type { JobColumn } from "../src/query/fields.js";
import { toJobView } from "../src/service/job-view.js";
import { openDatabase } from "../src/storage/database.js";
import { rowsOf } from "../src/storage/sqlite/sqlite-statements.js";
import { jobInfoJson } from "../src/wire/encode/job-json.js";
import type { CapturedStatement } from "./core/inprocess.js";
import { tsWorker } from "./core/ts-worker.js";

type Mode = "sql only" | "values" | "text";
const MODES: readonly Mode[] = ["sql only", "values", "text"];

/** The answer's JSON from the page's values, the way the server writes it (list-answer.ts). */
function answerJson(columns: readonly JobColumn[], values: unknown[][], total: number): string {
  const jobs = rowsOf({ columns, values }).map((row) => jobInfoJson(toJobView(row)));
  return `{"results":[${jobs.join(",")}],"total_count":${total}}`;
}

function workerMain(spec: { db: string; statements: CapturedStatement[] }): void {
  const db = openDatabase({ file: spec.db, readonly: true });
  const pageOf = spec.statements.find((s) => s.method === "iterate" || s.method === "all");
  if (pageOf === undefined) throw new Error("no page statement captured");
  // The count and the change head, as the store reads them; the count is the first number.
  const gets = spec.statements
    .filter((s) => s.method === "get")
    .map((s) => ({ stmt: db.prepare(s.sql).pluck(), params: s.params as unknown[] }));
  const page = db.prepare(pageOf.sql).raw(true);
  const columns = page.columns().map((c) => c.name) as JobColumn[];
  const read = db.transaction(() => {
    const heads = gets.map((g) => g.stmt.get(...g.params));
    return {
      total: heads.find((v) => typeof v === "number") as number,
      values: page.all(...(pageOf.params as unknown[])) as unknown[][],
    };
  });
  parentPort?.on("message", (mode: Mode) => {
    const { total, values } = read.deferred();
    if (mode === "sql only") parentPort?.postMessage({ total });
    else if (mode === "values") parentPort?.postMessage({ columns, values, total });
    else parentPort?.postMessage({ text: answerJson(columns, values, total) });
  });
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      db: { type: "string" },
      blocks: { type: "string", default: "40" },
      per: { type: "string", default: "20" },
    },
  });
  if (!args.db) throw new Error("--db FILE (a seeded database, e.g. /tmp/bench-data/jobs-1000000.db)");
  const { listStatements } = await import("./core/inprocess.js");
  const { LIST_REQUEST } = await import("./core/workload.js");
  const db = openDatabase({ file: args.db, readonly: true });
  const statements = listStatements(db, LIST_REQUEST);
  db.close();
  const worker = tsWorker(import.meta.url, { db: args.db, statements });
  const ask = (mode: Mode) =>
    new Promise<{ text?: string; columns?: JobColumn[]; values?: unknown[][]; total: number }>((resolve) => {
      worker.once("message", resolve);
      worker.postMessage(mode);
    });
  let bytes = 0;
  const call = async (mode: Mode) => {
    const r = await ask(mode);
    if (mode === "values") bytes = Buffer.from(answerJson(r.columns ?? [], r.values ?? [], r.total)).length;
    else if (mode === "text") bytes = Buffer.from(r.text ?? "").length;
  };
  for (let i = 0; i < 100; i++) for (const m of MODES) await call(m);
  const spent = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
  const load0 = os.loadavg();
  const per = Number(args.per);
  for (let b = 0; b < Number(args.blocks); b++)
    for (let k = 0; k < MODES.length; k++) {
      const mode = MODES[(b + k) % MODES.length] as Mode;
      const c0 = process.cpuUsage();
      for (let i = 0; i < per; i++) await call(mode);
      const c = process.cpuUsage(c0);
      spent.get(mode)?.push((c.user + c.system) / per);
    }
  await worker.terminate();
  const load1 = os.loadavg();
  process.stdout.write(
    `list 100 page + count, answer ${bytes} bytes; CPU per call (all threads), median of ${args.blocks} blocks of ${per}; load ${load0[0]?.toFixed(2)} -> ${load1[0]?.toFixed(2)}\n`,
  );
  for (const [mode, samples] of spent) {
    const sorted = [...samples].sort((a, b) => a - b);
    process.stdout.write(
      `  ${mode.padEnd(9)} ${Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0)} µs\n`,
    );
  }
}

if (isMainThread)
  main().catch((error: unknown) => {
    process.stderr.write(`ab-list-hop failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
else workerMain(workerData);
