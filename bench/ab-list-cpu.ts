/**
 * `taskset -c 1 npx tsx bench/ab-list-cpu.ts --db FILE --build base=/other/checkout --build new=. [--limit L]`:
 * the CPU of one `list` (the `list` scenario's request) through the store, the service and the JSON
 * encoder of each checkout's source, in this one process: its read pool (2 workers, pinned with the
 * process, as the server's are), and its main-thread store without workers; beside the raw SQL page +
 * count. CPU time (every thread of the process) is less swayed than latency by other work on a shared
 * machine; the variants run in blocks, rotated, and each figure is the median block's CPU per call.
 */
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { openDatabase } from "../src/storage/database.js";
import { BENCH_PRINCIPAL, listStatements, makeReplay } from "./core/inprocess.js";
import { LIST_REQUEST } from "./core/workload.js";

type Call = () => unknown;

/** Median over blocks of the process CPU (all threads) per call, variants rotated block by block. */
async function cpuBlocks(
  fns: Record<string, Call>,
  blocks: number,
  per: number,
): Promise<Map<string, number>> {
  const names = Object.keys(fns);
  const spent = new Map<string, number[]>(names.map((k) => [k, []]));
  for (let i = 0; i < 20; i++) for (const k of names) await fns[k]?.();
  for (let b = 0; b < blocks; b++)
    for (let j = 0; j < names.length; j++) {
      const k = names[(b + j) % names.length] as string;
      const fn = fns[k] as Call;
      const c0 = process.cpuUsage();
      for (let i = 0; i < per; i++) await fn();
      const c = process.cpuUsage(c0);
      spent.get(k)?.push((c.user + c.system) / per);
    }
  return new Map(
    names.map((k) => {
      const s = (spent.get(k) ?? []).sort((a, b) => a - b);
      return [k, s[s.length >> 1] ?? Number.NaN];
    }),
  );
}

async function side(root: string, file: string, request: unknown) {
  const { openDatabase: open } = await import(path.join(root, "src/storage/database.ts"));
  const { SqliteStore } = await import(path.join(root, "src/storage/sqlite/sqlite-store.ts"));
  const { SqliteReadPool } = await import(path.join(root, "src/storage/sqlite/read-pool.ts"));
  const { JobService } = await import(path.join(root, "src/service/job-service.ts"));
  const { listEncoder } = await import(path.join(root, "src/wire/encode/list-answer.ts"));
  // As the server opens them (DATABASE_CACHE_MB's default, two read workers).
  const pool = new SqliteReadPool({ file, size: 2, busyTimeoutMs: 1000, maxTimeMs: 60_000, cacheMb: 2 });
  await pool.start();
  const service = (reader?: unknown) =>
    new JobService(new SqliteStore(open({ file, readonly: true, cacheMb: 2 }), { reader }), {
      maxPageSize: 1000,
    });
  const pooled = service(pool);
  const local = service();
  const answer = async (svc: typeof pooled) => {
    const rows = await svc.listRows(BENCH_PRINCIPAL, request);
    let bytes = 0;
    for await (const piece of listEncoder(rows).json(4 << 20)) bytes += piece.length;
    return bytes;
  };
  return { pool, pooled: () => answer(pooled), local: () => answer(local) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      db: { type: "string" },
      build: { type: "string", multiple: true, default: [] },
      limit: { type: "string", default: "100" },
      blocks: { type: "string", default: "40" },
      per: { type: "string", default: "20" },
    },
  });
  if (!values.db)
    throw new Error("--db FILE (a seeded database, e.g. the bench's --data-dir jobs-1000000.db)");
  const file = path.resolve(values.db);
  const request = {
    query: { ...LIST_REQUEST.query, page: { ...LIST_REQUEST.query.page, limit: Number(values.limit) } },
  };
  const db = openDatabase({ file, readonly: true });
  const raw = makeReplay(db, listStatements(db, request));
  const fns: Record<string, Call> = { "raw SQL page + count": raw };
  const pools: { close(): Promise<void> }[] = [];
  for (const b of values.build ?? []) {
    const [name, dir] = b.split("=", 2) as [string, string | undefined];
    if (!dir) throw new Error(`--build NAME=DIR (got ${b})`);
    const s = await side(path.resolve(dir), file, request);
    pools.push(s.pool);
    const bytes = [await s.pooled(), await s.local()];
    if (bytes[0] !== bytes[1]) throw new Error(`${name}: the pooled and local answers differ`);
    fns[`${name}, read pool`] = s.pooled;
    fns[`${name}, main thread`] = s.local;
  }
  const load0 = os.loadavg();
  const cpu = await cpuBlocks(fns, Number(values.blocks), Number(values.per));
  const load1 = os.loadavg();
  const rawUs = cpu.get("raw SQL page + count") ?? Number.NaN;
  process.stdout.write(
    `list ${values.limit}, CPU per call (all threads), median of ${values.blocks} blocks of ${values.per}; ` +
      `load average ${load0.map((l) => l.toFixed(2)).join(" ")} -> ${load1.map((l) => l.toFixed(2)).join(" ")}\n`,
  );
  for (const [name, us] of cpu)
    process.stdout.write(
      `  ${name.padEnd(28)} ${us.toFixed(0).padStart(6)} µs  ${(us / rawUs).toFixed(2)} x raw\n`,
    );
  for (const p of pools) await p.close();
  db.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`ab-list-cpu failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
