/**
 * `npx tsx bench/list-page-json.ts [--root NAME=DIR ...] [--rounds R] [--ms MS]`: main-thread CPU and
 * garbage of a `list` page's JSON in each checkout (default: this one), from the page's value arrays
 * as a read worker posts them: `rowsOf`, then the list answer's JSON encoder (src/wire/encode/
 * list-answer.ts) to its UTF-8 bytes, as the server does. 100 of the seed generator's jobs; the
 * checkouts run in turn, `--rounds` times for `--ms` each, in this one process (same heap, same JIT
 * conditions). Prints µs per page (median over rounds) and heap bytes allocated per page.
 * `--distinct-options`: every options text of every page its own (the seed's repeat per account, and a
 * page's values are the same each call), so no json-column text is met twice: each call's values are
 * made afresh (on every side alike).
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

interface Side {
  name: string;
  run: () => Promise<number>;
}

async function side(name: string, dir: string, columns: string[], page: () => unknown[][]): Promise<Side> {
  const root = pathToFileURL(`${path.resolve(dir)}/`).href;
  const { rowsOf } = await import(`${root}src/storage/sqlite/sqlite-statements.ts`);
  const { batchesOf } = await import(`${root}src/storage/store.ts`);
  const { toJobView } = await import(`${root}src/service/job-view.ts`);
  const { listEncoder } = await import(`${root}src/wire/encode/list-answer.ts`);
  const run = async () => {
    const rows = rowsOf({ columns, values: page() });
    // `whole` is this checkout's hint that the rows are not projected; a checkout without it ignores it.
    const list = { rows: batchesOf(rows), total_count: 1_000_000, cursor: "", view: toJobView, whole: true };
    let bytes = 0;
    for await (const piece of listEncoder(list).json(Number.MAX_SAFE_INTEGER)) bytes += piece.byteLength;
    return bytes;
  };
  return { name, run };
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      root: { type: "string", multiple: true, default: [] },
      rounds: { type: "string", default: "9" },
      ms: { type: "string", default: "1500" },
      "distinct-options": { type: "boolean", default: false },
    },
  });
  const { generateJobs } = await import("../src/seed/generate.js");
  const jobs = [
    ...generateJobs({ count: 100, seed: 7, now: new Date("2026-03-15T12:00:00.000Z") }),
  ] as Record<string, unknown>[];
  const columns = Object.keys(jobs[0] as object);
  const values = jobs.map((job) => columns.map((c) => job[c] ?? null));
  const at = columns.indexOf("options");
  let call = 0;
  // Fresh texts: `{...,"call":N}` (the seed's options are objects; `{}` becomes `{"call":N}`).
  const fresh = (text: string) => `${text.slice(0, -1)}${text === "{}" ? "" : ","}"call":${call}}`;
  const page = args["distinct-options"]
    ? () => {
        call++;
        return values.map((row) => row.map((v, c) => (c === at ? fresh(v as string) : v)));
      }
    : () => values;
  const roots = (args.root ?? []).length > 0 ? (args.root as string[]) : ["this=."];
  const sides: Side[] = [];
  for (const r of roots) {
    const [name, dir] = r.split("=", 2) as [string, string];
    sides.push(await side(name, dir, columns, page));
  }
  const bytes = await Promise.all(sides.map((s) => s.run()));
  if (new Set(bytes).size !== 1) throw new Error(`the checkouts answer different sizes: ${bytes.join(", ")}`);
  const micros = new Map<string, number[]>(sides.map((s) => [s.name, []]));
  const alloc = new Map<string, number[]>(sides.map((s) => [s.name, []]));
  const ms = Number(args.ms);
  for (let round = 0; round < Number(args.rounds); round++) {
    for (const s of round % 2 === 0 ? sides : [...sides].reverse()) {
      for (let i = 0; i < 200; i++) await s.run();
      let calls = 0;
      const heap0 = process.memoryUsage().heapUsed;
      let allocated = 0;
      let last = heap0;
      const start = performance.now();
      while (performance.now() - start < ms) {
        await s.run();
        calls++;
        const now = process.memoryUsage().heapUsed;
        // A drop is a collection: count only growth (what the page allocated).
        if (now > last) allocated += now - last;
        last = now;
      }
      micros.get(s.name)?.push(((performance.now() - start) * 1000) / calls);
      alloc.get(s.name)?.push(allocated / calls);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const first = median(micros.get(sides[0]?.name as string) as number[]);
  console.log(
    `a list page of 100 seeded jobs, rows -> JSON bytes (${bytes[0]} B)${args["distinct-options"] ? ", every options text new" : ""}, ${args.rounds} rounds:`,
  );
  for (const s of sides) {
    const us = median(micros.get(s.name) as number[]);
    const kb = median(alloc.get(s.name) as number[]) / 1024;
    console.log(
      `  ${s.name.padEnd(6)} ${us.toFixed(0)} µs/page (${(us / first).toFixed(3)} x ${sides[0]?.name}), ~${kb.toFixed(0)} KiB heap/page`,
    );
  }
}

main().catch((e) => {
  console.error("list-page-json failed:", e);
  process.exit(1);
});
