/**
 * `npm run migrate-to-postgres [-- --from FILE]`
 *
 * Copies the SQLite database (`--from`, else `DATABASE_FILE` / `$DATA_DIR/jobs.db`) into the empty
 * PostgreSQL database named by `DATABASE_URL`, keeping every id. Stop the service first (a write
 * after the copy began would not be moved); start it again with `DATABASE_URL` set. The SQLite file
 * is left as it was, so going back is just starting without `DATABASE_URL`. docs/scale-out.md.
 */
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../config.js";
import { openDatabase } from "../storage/database.js";
import { importSqlite } from "../storage/dialect/postgres/import-sqlite.js";

const USAGE = "usage: DATABASE_URL=postgres://... npm run migrate-to-postgres [-- --from FILE]";

async function main(argv: string[]): Promise<string> {
  const { values } = parseArgs({ args: argv, strict: true, options: { from: { type: "string" } } });
  const config = loadConfig();
  if (!config.postgres)
    throw new Error("DATABASE_URL is not set: name the PostgreSQL database to migrate into");
  const file = path.resolve(values.from ?? config.databaseFile);
  if (!fs.existsSync(file)) throw new Error(`no SQLite database at ${file}`);
  const started = performance.now();
  // Opening applies the SQLite migrations first, so every table has the columns PostgreSQL has.
  const source = openDatabase({ file });
  try {
    const pg = config.postgres;
    const counts = await importSqlite(source, {
      url: pg.url,
      size: 1,
      statementTimeoutMs: pg.statementTimeoutMs,
      connectTimeoutMs: pg.connectTimeoutMs,
    });
    const summary = Object.entries(counts)
      .map(([table, n]) => `${n} ${table}`)
      .join(", ");
    return `copied ${summary} from ${file} to PostgreSQL in ${Math.round(performance.now() - started)} ms`;
  } finally {
    source.close();
  }
}

try {
  process.stdout.write(`${await main(process.argv.slice(2))}\n`);
} catch (error) {
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
  process.exitCode = 2;
}
