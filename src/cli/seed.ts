/**
 * `npm run seed -- --jobs N [--seed S] [--reset | --if-empty]`
 *
 * Fills the configured database (`DATA_DIR` / `DATABASE_FILE`, or PostgreSQL when `DATABASE_URL` is
 * set) with generated jobs. Without `--reset`
 * the new jobs are appended: they continue the seed's job sequence after the rows already there, so
 * running it twice adds new ids instead of failing on duplicates. With `--if-empty` it inserts only into
 * an empty database (the README's first-run command, safe to repeat). Prints one summary line on stdout.
 */
import { parseArgs } from "node:util";
import { loadConfig } from "../config.js";
import { generateJobs, insertJobs } from "../seed/generate.js";
import { openDatabase } from "../storage/database.js";
import { seedPostgres } from "../storage/dialect/postgres/seed.js";

const DEFAULT_JOBS = 10_000;
/** Up to this many jobs are inserted in one transaction (with the reset): all or nothing. */
const SINGLE_TRANSACTION_MAX = 1_000_000;
const BATCH = 10_000;

const USAGE = "usage: npm run seed -- [--jobs N] [--seed S] [--reset | --if-empty]";

async function main(argv: string[]): Promise<string> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      jobs: { type: "string" },
      seed: { type: "string" },
      reset: { type: "boolean" },
      "if-empty": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(0);
  }
  const count = integerOption("--jobs", values.jobs ?? String(DEFAULT_JOBS), 0, 2 ** 40);
  const seed = integerOption("--seed", values.seed ?? "1", -(2 ** 31), 2 ** 31 - 1);

  if (values.reset && values["if-empty"]) throw new Error("--reset and --if-empty exclude each other");
  const config = loadConfig();
  const started = performance.now();
  if (config.postgres) {
    const domains = new Set<string>();
    const pg = config.postgres;
    const result = await seedPostgres(
      {
        url: pg.url,
        size: 1,
        statementTimeoutMs: pg.statementTimeoutMs,
        connectTimeoutMs: pg.connectTimeoutMs,
      },
      {
        reset: values.reset ?? false,
        ifEmpty: values["if-empty"] ?? false,
        rows: (firstIndex) => track(generateJobs({ count, seed, firstIndex }), domains),
      },
    );
    if (result.kind === "kept") return `kept the ${result.existing} jobs already in PostgreSQL (--if-empty)`;
    const elapsed = Math.round(performance.now() - started);
    return `inserted ${result.count} jobs across ${domains.size} domains (seed ${seed}${values.reset ? ", reset" : ""}) in ${elapsed} ms into PostgreSQL`;
  }
  const db = openDatabase({ file: config.databaseFile });
  try {
    if (values["if-empty"]) {
      const existing = (db.prepare("SELECT count(*) AS n FROM jobs").get() as { n: number }).n;
      if (existing > 0) return `kept the ${existing} jobs already in ${config.databaseFile} (--if-empty)`;
    }
    const domains = new Set<string>();
    const run = (batch: number) => {
      if (values.reset) db.prepare("DELETE FROM jobs").run();
      // Continue the sequence after the existing rows so appended job ids never collide (see generate.ts).
      const firstIndex = (db.prepare("SELECT COALESCE(MAX(seq), 0) AS n FROM jobs").get() as { n: number }).n;
      const rows = generateJobs({ count, seed, firstIndex });
      return insertJobs(db, track(rows, domains), batch);
    };
    const inserted =
      count <= SINGLE_TRANSACTION_MAX
        ? db.transaction(() => run(Number.POSITIVE_INFINITY)).immediate()
        : run(BATCH);
    // Fresh statistics for the query planner, now that the table changed a lot.
    db.pragma("optimize");
    const elapsed = Math.round(performance.now() - started);
    return `inserted ${inserted} jobs across ${domains.size} domains (seed ${seed}${values.reset ? ", reset" : ""}) in ${elapsed} ms into ${config.databaseFile}`;
  } finally {
    db.close();
  }
}

function* track<T extends { domain_id: string }>(rows: Iterable<T>, domains: Set<string>): Generator<T> {
  for (const row of rows) {
    domains.add(row.domain_id);
    yield row;
  }
}

function integerOption(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^-?[0-9]+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be a whole number between ${min} and ${max}`);
  }
  return value;
}

try {
  process.stdout.write(`${await main(process.argv.slice(2))}\n`);
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`error: ${message}\n${USAGE}\n`);
  process.exitCode = 2;
}
