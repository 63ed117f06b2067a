/**
 * `npx tsx bench/encode-rows.ts [--rows N]`: what encoding a `list` answer of N rows (default 50,000)
 * costs in the process, from the rows as the store hands them: the self-encoded answer
 * (src/wire/encode/, the pieces kept as the unary path keeps them) against protobuf-es (`jobsInfo()`'s
 * message, then `toJsonString`/`toBinary` and UTF-8, as connect-node does). Each variant runs in a fresh
 * process: the time of the encoding, and how much the peak RSS (VmHWM) and the heap grew over the rows
 * already in memory. Then a page of 100 rows, encoded again and again in this process: µs per page.
 * Figures on a loaded machine: compare ratios within one run.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { toBinary, toJsonString } from "@bufbuild/protobuf";
import { JobsInfoSchema } from "../gen/spaceone/api/identity/v2/job_pb.js";
import { generateJobs } from "../src/seed/generate.js";
import type { JobRows } from "../src/service/job-service.js";
import { toJobView } from "../src/service/job-view.js";
import type { JobRow } from "../src/storage/schema.js";
import { batchesOf } from "../src/storage/store.js";
import { listEncoder } from "../src/wire/encode/list-answer.js";
import { jobsInfo } from "../src/wire/job-handlers.js";

const VARIANTS = ["self-json", "protobuf-json", "self-binary", "protobuf-binary"] as const;
type Variant = (typeof VARIANTS)[number];

interface Result {
  variant: Variant;
  ms: number;
  bytes: number;
  peakRssGrowthMb: number;
  heapGrowthMb: number;
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

async function encode(variant: Variant, rows: JobRow[]): Promise<Uint8Array[]> {
  const list: JobRows = {
    rows: batchesOf(rows),
    total_count: rows.length,
    cursor: "w1.0",
    view: (row) => toJobView(row),
    whole: true,
  };
  const pieces: Uint8Array[] = [];
  switch (variant) {
    case "self-json":
      for await (const piece of listEncoder(list).json(Number.MAX_SAFE_INTEGER)) pieces.push(piece);
      return pieces;
    case "self-binary":
      for await (const piece of listEncoder(list).binary(Number.MAX_SAFE_INTEGER)) pieces.push(piece);
      return pieces;
    case "protobuf-json":
      return [
        new TextEncoder().encode(
          toJsonString(JobsInfoSchema, await jobsInfo(list, true), { useProtoFieldName: true }),
        ),
      ];
    case "protobuf-binary":
      return [toBinary(JobsInfoSchema, await jobsInfo(list, false))];
  }
}

/** One variant, in this (fresh) process. */
async function child(variant: Variant, count: number): Promise<Result> {
  const rows = [...generateJobs({ count, seed: 3, now: new Date("2026-03-15T12:00:00.000Z") })] as JobRow[];
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const rssBefore = process.resourceUsage().maxRSS * 1024;
  const heapBefore = process.memoryUsage().heapUsed;
  let heapPeak = heapBefore;
  // Heap sampled between batches (the encoders yield to the event loop at each batch).
  const sampler = setInterval(() => {
    heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
  }, 1);
  const start = performance.now();
  const pieces = await encode(variant, rows);
  const ms = performance.now() - start;
  clearInterval(sampler);
  heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
  const bytes = pieces.reduce((n, p) => n + p.byteLength, 0);
  return {
    variant,
    ms: Math.round(ms),
    bytes,
    peakRssGrowthMb: mb(process.resourceUsage().maxRSS * 1024 - rssBefore),
    heapGrowthMb: mb(heapPeak - heapBefore),
  };
}

/** µs per encoding of a page of `size` rows to JSON, for each JSON variant, over `ms` each. */
async function pageMicros(size: number, ms: number): Promise<Record<string, number>> {
  const rows = [
    ...generateJobs({ count: size, seed: 4, now: new Date("2026-03-15T12:00:00.000Z") }),
  ] as JobRow[];
  const out: Record<string, number> = {};
  // The floor: the same views made from the rows and JSON.stringify'd (the JSON is already in API shape).
  const stringify = async () => [Buffer.from(JSON.stringify({ results: rows.map((row) => toJobView(row)) }))];
  const variants: Record<string, () => Promise<unknown>> = {
    "self-json": () => encode("self-json", rows),
    "protobuf-json": () => encode("protobuf-json", rows),
    "views+JSON.stringify": stringify,
  };
  for (const [name, run] of Object.entries(variants)) {
    for (let i = 0; i < 100; i++) await run();
    let calls = 0;
    const start = performance.now();
    while (performance.now() - start < ms) {
      for (let i = 0; i < 20; i++) await run();
      calls += 20;
    }
    out[name] = Math.round(((performance.now() - start) * 1000) / calls);
  }
  return out;
}

const { values } = parseArgs({
  options: { rows: { type: "string", default: "50000" }, variant: { type: "string" } },
});
const count = Number(values.rows);
if (values.variant) {
  process.stdout.write(JSON.stringify(await child(values.variant as Variant, count)));
} else {
  const self = fileURLToPath(import.meta.url);
  const results: Result[] = VARIANTS.map(
    (variant) =>
      JSON.parse(
        execFileSync(
          process.execPath,
          ["--expose-gc", "--import", "tsx", self, "--rows", String(count), "--variant", variant],
          { encoding: "utf8", maxBuffer: 1024 * 1024 },
        ),
      ) as Result,
  );
  console.table(results);
  const by = (v: Variant) => results.find((r) => r.variant === v) as Result;
  for (const format of ["json", "binary"] as const) {
    const s = by(`self-${format}`);
    const p = by(`protobuf-${format}`);
    console.log(
      `${count} rows, ${format}: self-encoded ${s.ms} ms vs protobuf-es ${p.ms} ms (${(s.ms / p.ms).toFixed(2)} x); ` +
        `peak RSS growth ${s.peakRssGrowthMb} vs ${p.peakRssGrowthMb} MB; heap growth ${s.heapGrowthMb} vs ${p.heapGrowthMb} MB; ` +
        `same size: ${s.bytes === p.bytes}`,
    );
  }
  const page = await pageMicros(100, 3000);
  console.log(
    `page of 100, JSON from the rows: self-encoded ${page["self-json"]} µs vs protobuf-es ${page["protobuf-json"]} µs ` +
      `(${((page["self-json"] as number) / (page["protobuf-json"] as number)).toFixed(2)} x); ` +
      `views + JSON.stringify ${page["views+JSON.stringify"]} µs`,
  );
}
