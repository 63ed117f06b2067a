/**
 * Running SQL that is already compiled on one better-sqlite3 connection: cached prepared statements,
 * read transactions, and the two heavy reads (a list's count and rows from one snapshot, a stat's rows
 * and total) from their compiled form. Nothing here builds SQL, so the read workers run it without
 * loading the query builder (Kysely costs ~13 MB of RSS per isolate; docs/benchmarks.md "Memory"):
 * the main thread compiles (`sqlite-jobs.ts`), a worker only runs.
 */
import type Database from "better-sqlite3";
import type { JobColumn } from "../../query/fields.js";
import type { StatResultShape } from "../compile-stat.js";
import type { Compiled } from "../compiled-template.js";
import type { JobRow } from "../schema.js";
import { SecondChanceCache } from "../second-chance-cache.js";
import { type ChangeCursor, fitsOneBatch, type StatementHook, type StatResult } from "../store.js";
import { jobRowOf, takesJobRowValues } from "./job-row.js";

const STATEMENT_CACHE_SIZE = 500;

/** A list's count and change head; `too_many`: an unpaged list over its ceiling (no rows are read). */
export interface ListHeader {
  readonly kind: "ok" | "too_many";
  readonly total: number;
  readonly cursor: ChangeCursor;
}

/** An open list (`openList`): its header, then its rows in order. */
export interface ListCursor {
  readonly header: ListHeader;
  /** The next rows, at most `max`; fewer at the end, none after it. */
  next(max: number): JobRow[];
  /** End the read transaction, whether or not every row was read. Safe to call twice. */
  end(): void;
}

/** A list request as SQL: its count, its page, and what decides whether and how rows are read. */
export interface CompiledList {
  readonly count: Compiled;
  readonly page: Compiled;
  /** The page's columns, in the order it selects them. */
  readonly columns: readonly JobColumn[];
  /** The page's limit; null: unpaged. */
  readonly limit: number | null;
  /** Only the count is asked for. */
  readonly countOnly: boolean;
  /** Without page.limit: more matching rows than this is `too_many` (no rows are read); paged: null. */
  readonly unpagedMax: number | null;
}

/** A stat request as SQL (`compileStat`'s plan). */
export interface CompiledStat {
  readonly rows: Compiled;
  readonly total: Compiled | null;
  readonly shape: StatResultShape;
  readonly cap: number | null;
}

/** A list read whole (`readCompiledList`): each row's values in `columns`' order. */
export interface ListPage {
  readonly header: ListHeader;
  readonly columns: readonly JobColumn[];
  readonly values: unknown[][];
}

/** Whether a list is read whole (`readCompiledList`) rather than streamed in batches of `batchRows`. */
export function readsWhole(list: CompiledList, batchRows?: number): boolean {
  return fitsOneBatch({ countOnly: list.countOnly, page: { limit: list.limit } }, batchRows);
}

/** The rows of a `ListPage`. */
export function rowsOf(page: Pick<ListPage, "columns" | "values">): JobRow[] {
  const { columns, values } = page;
  const rows: JobRow[] = new Array(values.length);
  for (let r = 0; r < values.length; r++) {
    const value = values[r] as unknown[];
    // Catalogue column names only (never `__proto__`), set in one order: one hidden class.
    const row: Record<string, unknown> = {};
    for (let c = 0; c < columns.length; c++) row[columns[c] as string] = value[c];
    rows[r] = row as unknown as JobRow;
  }
  return rows;
}

/** Only the SQL and its parameters of a compiled query (Kysely's also carries its operation tree). */
export function plain(query: Compiled): Compiled {
  return { sql: query.sql, parameters: query.parameters };
}

export class SqliteStatements {
  private readonly statements = new SecondChanceCache<Database.Statement>(STATEMENT_CACHE_SIZE);
  private readonly jobRowStatements = new SecondChanceCache<Database.Statement>(STATEMENT_CACHE_SIZE);

  constructor(
    readonly db: Database.Database,
    private readonly onStatement?: StatementHook,
  ) {}

  /**
   * A prepared statement for SQL text, cached (bounded; second-chance-cache.ts evicts). `jobRows`: one
   * that reads whole jobs rows as values for `jobRowOf`, when its columns are those (job-row.ts); kept
   * apart, as the same text may be read both ways.
   */
  private statement(text: string, jobRows = false): Database.Statement {
    const cache = jobRows ? this.jobRowStatements : this.statements;
    const cached = cache.get(text);
    if (cached) return cached;
    const stmt = this.db.prepare(text);
    if (jobRows && takesJobRowValues(stmt)) stmt.raw(true);
    cache.add(text, stmt);
    return stmt;
  }

  /** The prepared statement of `query`, after telling the hook (every statement passes here). */
  protected prepared(query: Compiled, jobRows = false): Database.Statement {
    this.onStatement?.(query.sql, query.parameters);
    return this.statement(query.sql, jobRows);
  }

  /** The one jobs row of a `select *` on jobs. */
  protected oneJob(query: Compiled): JobRow | undefined {
    const row = this.prepared(query, true).get(...(query.parameters as unknown[])) as
      | JobRow
      | unknown[]
      | undefined;
    return Array.isArray(row) ? jobRowOf(row) : row;
  }

  /**
   * The rows of a statement that reads or returns jobs rows (the locked read, `UPDATE ... RETURNING *`):
   * built by `jobRowOf` when its columns are a whole row's, else as better-sqlite3's objects.
   */
  jobRows<T>(query: Compiled): T[] {
    const stmt = this.prepared(query, true);
    const rows = stmt.all(...(query.parameters as unknown[])) as unknown[];
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      if (Array.isArray(row)) rows[i] = jobRowOf(row);
    }
    return rows as T[];
  }

  all<T>(query: Compiled): T[] {
    return this.prepared(query).all(...(query.parameters as unknown[])) as T[];
  }

  one<T>(query: Compiled): T | undefined {
    return this.prepared(query).get(...(query.parameters as unknown[])) as T | undefined;
  }

  /** Any statement: its rows, or none for a statement that returns no data. */
  rows<T>(query: Compiled): T[] {
    const stmt = this.prepared(query);
    if (stmt.reader) return stmt.all(...(query.parameters as unknown[])) as T[];
    stmt.run(...(query.parameters as unknown[]));
    return [];
  }

  run(query: Compiled): Database.RunResult {
    return this.prepared(query).run(...(query.parameters as unknown[]));
  }

  /** Run `fn` in one read transaction: every statement in it sees the same snapshot. */
  snapshot<T>(fn: () => T): T {
    return this.db.transaction(fn).deferred();
  }

  /**
   * Open a list: its count and change head now, its rows as `next` asks for them, all in one read
   * transaction (one snapshot) that stays open until `end()`. The connection runs nothing else
   * meanwhile (better-sqlite3 refuses other statements while one is iterated).
   */
  openCompiledList(list: CompiledList): ListCursor {
    this.run({ sql: "BEGIN DEFERRED", parameters: [] });
    let rows: Iterator<JobRow> | null = null;
    const end = (): void => {
      rows?.return?.();
      rows = null;
      if (this.db.inTransaction) this.run({ sql: "COMMIT", parameters: [] });
    };
    try {
      const header = this.listHeader(list);
      if (header.kind === "ok" && !list.countOnly) {
        rows = this.prepared(list.page).iterate(...(list.page.parameters as unknown[])) as Iterator<JobRow>;
      }
      return {
        header,
        next(max) {
          const batch: JobRow[] = [];
          while (rows !== null && batch.length < max) {
            const step = rows.next();
            if (step.done) {
              rows = null;
              break;
            }
            batch.push(step.value);
          }
          return batch;
        },
        end,
      };
    } catch (error) {
      end();
      throw error;
    }
  }

  /**
   * A list read whole: its count, change head and every row in one read transaction (one snapshot),
   * ended before this returns. For answers bounded by their own limit (`readsWhole`), or a
   * connection that serves nothing else meanwhile. The rows come as arrays of values in `columns`'
   * order (`rowsOf` makes them rows): the driver builds them for a third less than row objects, and
   * a read worker's answer clones for less.
   */
  readCompiledList(list: CompiledList): ListPage {
    this.run({ sql: "BEGIN DEFERRED", parameters: [] });
    try {
      const header = this.listHeader(list);
      let values: unknown[][] = [];
      if (header.kind === "ok" && !list.countOnly) {
        // The statement is cached and shared with `openCompiledList`'s cursor: raw only for this call.
        const stmt = this.prepared(list.page).raw(true);
        try {
          values = stmt.all(...(list.page.parameters as unknown[])) as unknown[][];
        } finally {
          stmt.raw(false);
        }
      }
      return { header, columns: list.columns, values };
    } finally {
      if (this.db.inTransaction) this.run({ sql: "COMMIT", parameters: [] });
    }
  }

  /** A list's count and change head, inside its read transaction; `too_many` before any row is read. */
  private listHeader(list: CompiledList): ListHeader {
    const total = this.one<{ n: number }>(list.count)?.n ?? 0;
    const cursor = this.changeHead();
    const tooMany = !list.countOnly && list.unpagedMax !== null && total > list.unpagedMax;
    return { kind: tooMany ? "too_many" : "ok", total, cursor };
  }

  /**
   * The id of the newest committed change: AUTOINCREMENT's counter, so the head never goes back
   * when retention has dropped every change row.
   */
  changeHead(): number {
    return (
      this.one<{ seq: number }>({
        sql: "SELECT seq FROM sqlite_sequence WHERE name = 'job_changes'",
        parameters: [],
      })?.seq ?? 0
    );
  }

  /** Run a compiled stat: its rows and paged total from one snapshot. */
  runStat(stat: CompiledStat): StatResult {
    const { rows, total } = this.snapshot(() => ({
      rows: this.all<Record<string, unknown>>(stat.rows),
      total: stat.total === null ? null : (this.one<{ n: number }>(stat.total)?.n ?? 0),
    }));
    return { rows, total, shape: stat.shape, cap: stat.cap };
  }
}
