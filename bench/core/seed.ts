/**
 * Seeded databases: `generateJobs`/`insertJobs` (src/seed/generate.ts) into `openDatabase`
 * (src/storage/database.ts), so the file has exactly the schema, indexes and pragmas the service uses.
 * With `--data-dir`, a database of the same size and seed is reused across runs (a sidecar JSON file
 * records what was seeded).
 */
import fs from "node:fs";
import path from "node:path";
import { generateJobs, insertJobs, type SeedJob } from "../../src/seed/generate.js";
import { openDatabase } from "../../src/storage/database.js";
import { BENCH_DOMAIN, SEED, SEED_NOW } from "./workload.js";

export interface SeededDb {
  readonly file: string;
  readonly jobs: number;
  /** Jobs in the benchmark domain. */
  readonly domainJobs: number;
  readonly seconds: number;
  readonly reused: boolean;
}

interface Meta {
  jobs: number;
  seed: number;
  now: string;
}

/** A data set other than the standard one: its own file name, each generated job rewritten by `map`. */
export interface SeedVariant {
  /** File name stem, e.g. "unpaged" (the file is `<name>-<jobs>.db`). */
  readonly name: string;
  readonly map: (job: SeedJob) => SeedJob;
}

export function seedDatabase(
  dir: string,
  jobs: number,
  log: (line: string) => void,
  variant?: SeedVariant,
): SeededDb {
  const file = path.join(dir, `${variant?.name ?? "jobs"}-${jobs}.db`);
  const metaFile = `${file}.json`;
  const want: Meta = { jobs, seed: SEED, now: SEED_NOW.toISOString() };
  const start = performance.now();
  if (fs.existsSync(file) && fs.existsSync(metaFile)) {
    const meta = JSON.parse(fs.readFileSync(metaFile, "utf8")) as Meta;
    if (meta.jobs === want.jobs && meta.seed === want.seed && meta.now === want.now) {
      const db = openDatabase({ file });
      const domainJobs = countDomain(db);
      db.close();
      log(`  reusing ${file}`);
      return { file, jobs, domainJobs, seconds: 0, reused: true };
    }
  }
  for (const suffix of ["", "-wal", "-shm", ".json"]) fs.rmSync(`${file}${suffix}`, { force: true });
  const db = openDatabase({ file });
  const generated = generateJobs({ count: jobs, seed: SEED, now: SEED_NOW });
  const rows = variant ? Array.from(generated, variant.map) : generated;
  const inserted = insertJobs(db, rows, 10_000);
  db.pragma("wal_checkpoint(TRUNCATE)");
  const domainJobs = countDomain(db);
  db.close();
  fs.writeFileSync(metaFile, JSON.stringify(want));
  const seconds = (performance.now() - start) / 1000;
  log(`  seeded ${inserted.toLocaleString("en-US")} jobs in ${seconds.toFixed(1)} s (${file})`);
  return { file, jobs, domainJobs, seconds, reused: false };
}

function countDomain(db: ReturnType<typeof openDatabase>): number {
  return (db.prepare("SELECT count(*) AS n FROM jobs WHERE domain_id = ?").get(BENCH_DOMAIN) as { n: number })
    .n;
}
