/**
 * The synchronous statements of the SQLite store on one better-sqlite3 connection: queries built
 * with Kysely (compile only) and run as cached prepared statements; a page and its count run in one
 * read transaction, so `total_count` and the rows come from the same snapshot. `SqliteStore` wraps
 * this in the asynchronous `JobStore` interface; worker threads run the heavy reads with their own
 * instance on a read-only connection.
 */
import type Database from "better-sqlite3";
import { type SqlBool, sql } from "kysely";
import type { Condition, FieldRef } from "../../query/ast.js";
import { JOB_COLUMNS, type JobColumn } from "../../query/fields.js";
import type { StatQuery } from "../../query/stat-ast.js";
import { compileStat } from "../compile-stat.js";
import { compileOrder, compileWhere } from "../compile-where.js";
import { type Compiled, CompiledTemplates, scopeShape } from "../compiled-template.js";
import { sqliteDialect as d } from "../dialect/sqlite/sqlite-dialect.js";
import type { JobRow } from "../schema.js";
import type { ChangeCursor, ListRequest, StatementHook, StatOptions, StatResult } from "../store.js";
import { jobRowOf, takesJobRowValues } from "./job-row.js";

const builder = d.builder;

const STATEMENT_CACHE_SIZE = 500;

/** A list's count and change head; `too_many`: an unpaged list over its ceiling (no rows are read). */
export interface ListHeader {
  readonly kind: "ok" | "too_many";
  readonly total: number;
  readonly cursor: ChangeCursor;
}

/** An open list (`SqliteJobs.openList`): its header, then its rows in order. */
export interface ListCursor {
  readonly header: ListHeader;
  /** The next rows, at most `max`; fewer at the end, none after it. */
  next(max: number): JobRow[];
  /** End the read transaction, whether or not every row was read. Safe to call twice. */
  end(): void;
}

export class SqliteJobs {
  private readonly statements = new Map<string, Database.Statement>();
  private readonly jobRowStatements = new Map<string, Database.Statement>();
  private readonly templates = new CompiledTemplates();

  constructor(
    readonly db: Database.Database,
    private readonly onStatement?: StatementHook,
  ) {}

  /**
   * A prepared statement for SQL text, cached (bounded; least recently used evicted). `jobRows`: one
   * that reads whole jobs rows as values for `jobRowOf`, when its columns are those (job-row.ts); kept
   * apart, as the same text may be read both ways.
   */
  private statement(text: string, jobRows = false): Database.Statement {
    const cache = jobRows ? this.jobRowStatements : this.statements;
    let stmt = cache.get(text);
    if (stmt) {
      cache.delete(text);
    } else {
      stmt = this.db.prepare(text);
      if (jobRows && takesJobRowValues(stmt)) stmt.raw(true);
      if (cache.size >= STATEMENT_CACHE_SIZE) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
    }
    cache.set(text, stmt);
    return stmt;
  }

  /** The prepared statement of `query`, after telling the hook (every statement passes here). */
  private prepared(query: Compiled, jobRows = false): Database.Statement {
    this.onStatement?.(query.sql, query.parameters);
    return this.statement(query.sql, jobRows);
  }

  /** The one jobs row of a `select *` on jobs. */
  private oneJob(query: Compiled): JobRow | undefined {
    const row = this.prepared(query, true).get(...(query.parameters as unknown[])) as
      | JobRow
      | unknown[]
      | undefined;
    return Array.isArray(row) ? jobRowOf(row) : row;
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
  openList(request: ListRequest): ListCursor {
    const { count, page } = listStatements(request);
    this.run({ sql: "BEGIN DEFERRED", parameters: [] });
    let rows: Iterator<JobRow> | null = null;
    const end = (): void => {
      rows?.return?.();
      rows = null;
      if (this.db.inTransaction) this.run({ sql: "COMMIT", parameters: [] });
    };
    try {
      const header = this.listHeader(request, count);
      if (header.kind === "ok" && !request.countOnly) {
        rows = this.prepared(page).iterate(...(page.parameters as unknown[])) as Iterator<JobRow>;
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
   * ended before this returns. For answers bounded by their own limit (`fitsOneBatch`), or a
   * connection that serves nothing else meanwhile. The rows come as arrays of values in `columns`'
   * order (`rowsOf` makes them rows): the driver builds them for a third less than row objects, and
   * a read worker's answer clones for less.
   */
  readList(request: ListRequest): ListPage {
    const { count, page, columns } = listStatements(request);
    this.run({ sql: "BEGIN DEFERRED", parameters: [] });
    try {
      const header = this.listHeader(request, count);
      let values: unknown[][] = [];
      if (header.kind === "ok" && !request.countOnly) {
        // The statement is cached and shared with `openList`'s cursor: raw only for this call.
        const stmt = this.prepared(page).raw(true);
        try {
          values = stmt.all(...(page.parameters as unknown[])) as unknown[][];
        } finally {
          stmt.raw(false);
        }
      }
      return { header, columns, values };
    } finally {
      if (this.db.inTransaction) this.run({ sql: "COMMIT", parameters: [] });
    }
  }

  /** A list's count and change head, inside its read transaction; `too_many` before any row is read. */
  private listHeader(request: ListRequest, count: Compiled): ListHeader {
    const total = this.one<{ n: number }>(count)?.n ?? 0;
    const cursor = this.changeHead();
    const tooMany = !request.countOnly && request.page.limit === null && total > request.unpagedMax;
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

  /** Compile a stat pipeline and run it (rows and paged total from one snapshot). */
  stat(query: StatQuery, options: StatOptions): StatResult {
    const plan = compileStat(d, query, { maxRows: options.maxRows });
    const { rows, total } = this.snapshot(() => ({
      rows: this.all<Record<string, unknown>>(plan.rows),
      total: plan.total === null ? null : (this.one<{ n: number }>(plan.total)?.n ?? 0),
    }));
    return { rows, total, shape: plan.result, cap: plan.cap };
  }

  /** One job by id within a scope (extra conditions ANDed). */
  get(jobId: string, scope: readonly Condition[]): JobRow | undefined {
    return this.oneJob(
      this.byId("get", jobId, scope, (id, conditions) =>
        builder
          .selectFrom("jobs")
          .selectAll()
          .where(sql<SqlBool>`${sql.ref("job_id")} = ${id}`)
          .where(compileWhere(d, { and: conditions, or: [] }))
          .compile(),
      ),
    );
  }

  /** The current rows of these jobs, in no particular order. */
  byIds(ids: readonly string[]): JobRow[] {
    if (ids.length === 0) return [];
    return this.all<JobRow>(
      builder
        .selectFrom("jobs")
        .selectAll()
        .where(sql<SqlBool>`${sql.ref("job_id")} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`)
        .compile(),
    );
  }

  /**
   * A statement on one job within a scope, compiled once per (name, scope shape): the hot path of
   * `get` and the hot reads (compiled-template.ts).
   */
  byId(
    name: string,
    jobId: string,
    scope: readonly Condition[],
    build: (jobId: string, scope: readonly Condition[]) => Compiled,
  ): Compiled {
    const shape = scopeShape(scope);
    if (!shape) return build(jobId, scope);
    return this.templates.compile(`${name}|${shape.key}`, [jobId, ...shape.values], (args) =>
      build(args[0] as string, shape.rebuild(args.slice(1))),
    );
  }

  insert(row: Omit<JobRow, "seq">): void {
    this.run(builder.insertInto("jobs").values(row).compile());
  }
}

/** A list read whole (`SqliteJobs.readList`): each row's values in `columns`' order. */
export interface ListPage {
  readonly header: ListHeader;
  readonly columns: readonly JobColumn[];
  readonly values: unknown[][];
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

/** A list's count and page statements, and the page's columns in order. */
function listStatements(request: ListRequest): {
  count: Compiled;
  page: Compiled;
  columns: readonly JobColumn[];
} {
  const where = compileWhere(d, request.where);
  const count = builder.selectFrom("jobs").select(sql<number>`count(*)`.as("n")).where(where).compile();
  const columns = selectedColumns(request.only);
  const page = builder
    .selectFrom("jobs")
    .select(columns)
    .where(where)
    .orderBy(compileOrder(d, request.sort))
    .limit(request.page.limit ?? request.unpagedMax)
    .offset(request.page.offset)
    .compile();
  return { count, page, columns };
}

/** Columns to read for an `only` projection (an options path needs the options column). */
function selectedColumns(only: readonly FieldRef[] | null): readonly JobColumn[] {
  if (only === null) return JOB_COLUMNS;
  return [...new Set(only.map((f) => f.column))];
}
