/**
 * Running SQL that is already compiled on one better-sqlite3 connection: cached prepared statements,
 * read transactions, and the two heavy reads (a list's count and rows from one snapshot, a stat's rows
 * and total) from their compiled form. Nothing here builds SQL, so the read workers run it without
 * loading the query builder (Kysely costs ~13 MB of RSS per isolate; docs/benchmarks.md "Memory"):
 * the main thread compiles (`sqlite-jobs.ts`), a worker only runs.
 */
import type Database from "better-sqlite3";
import type { StatResultShape } from "../compile-stat.js";
import type { Compiled } from "../compiled-template.js";
import type { JobRow } from "../schema.js";
import type { ChangeCursor, StatementHook, StatResult } from "../store.js";

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

/** A list request as SQL: its count, its page, and what decides whether rows are read. */
export interface CompiledList {
  readonly count: Compiled;
  readonly page: Compiled;
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

/** Only the SQL and its parameters of a compiled query (Kysely's also carries its operation tree). */
export function plain(query: Compiled): Compiled {
  return { sql: query.sql, parameters: query.parameters };
}

export class SqliteStatements {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(
    readonly db: Database.Database,
    private readonly onStatement?: StatementHook,
  ) {}

  /** A prepared statement for SQL text, cached (bounded; least recently used evicted). */
  private statement(text: string): Database.Statement {
    let stmt = this.statements.get(text);
    if (stmt) {
      this.statements.delete(text);
    } else {
      stmt = this.db.prepare(text);
      if (this.statements.size >= STATEMENT_CACHE_SIZE) {
        const oldest = this.statements.keys().next().value;
        if (oldest !== undefined) this.statements.delete(oldest);
      }
    }
    this.statements.set(text, stmt);
    return stmt;
  }

  /** The prepared statement of `query`, after telling the hook (every statement passes here). */
  protected prepared(query: Compiled): Database.Statement {
    this.onStatement?.(query.sql, query.parameters);
    return this.statement(query.sql);
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
      const total = this.one<{ n: number }>(list.count)?.n ?? 0;
      const cursor = this.changeHead();
      const tooMany = !list.countOnly && list.unpagedMax !== null && total > list.unpagedMax;
      if (!list.countOnly && !tooMany) {
        rows = this.prepared(list.page).iterate(...(list.page.parameters as unknown[])) as Iterator<JobRow>;
      }
      return {
        header: { kind: tooMany ? "too_many" : "ok", total, cursor },
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
