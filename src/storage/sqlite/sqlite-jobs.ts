/**
 * The synchronous statements of the SQLite store on one better-sqlite3 connection: queries built
 * with Kysely (compile only) and run as cached prepared statements (`sqlite-statements.ts`); a page
 * and its count run in one read transaction, so `total_count` and the rows come from the same
 * snapshot. `SqliteStore` wraps this in the asynchronous `JobStore` interface; the read workers get
 * the heavy reads compiled here (`compileList`, `compileStatQuery`) and run them on their own
 * read-only connections.
 */
import { type SqlBool, sql } from "kysely";
import type { Condition, FieldRef, Where } from "../../query/ast.js";
import { JOB_COLUMNS, type JobColumn } from "../../query/fields.js";
import type { StatQuery } from "../../query/stat-ast.js";
import { compileStat } from "../compile-stat.js";
import { compileOrder, compileWhere } from "../compile-where.js";
import { type Compiled, CompiledTemplates, PointTemplates } from "../compiled-template.js";
import { sqliteDialect as d } from "../dialect/sqlite/sqlite-dialect.js";
import type { JobRow } from "../schema.js";
import type { ListRequest, StatOptions, StatResult } from "../store.js";
import { whereShape } from "../where-shape.js";
import {
  type CompiledList,
  type CompiledStat,
  type ListCursor,
  type ListPage,
  plain,
  SqliteStatements,
} from "./sqlite-statements.js";

export type { ListCursor, ListHeader, ListPage } from "./sqlite-statements.js";

const builder = d.builder;

/** The list queries compiled once per shape (the SQL text does not depend on the request's values). */
const listTemplates = new CompiledTemplates();

/**
 * A list request as SQL (on the main thread: the read workers get this, not the request, so they never
 * load the query builder). Compiled once per shape (`whereShape`, sort, columns) in `templates`;
 * `null`: compiled directly.
 */
export function compileList(
  request: ListRequest,
  templates: CompiledTemplates | null = listTemplates,
): CompiledList {
  const columns = selectedColumns(request.only);
  const limit = request.page.limit ?? request.unpagedMax;
  const count = (where: Where): Compiled =>
    builder.selectFrom("jobs").select(sql<number>`count(*)`.as("n")).where(compileWhere(d, where)).compile();
  const page = (where: Where, limit: unknown, offset: unknown): Compiled =>
    builder
      .selectFrom("jobs")
      .select(columns)
      .where(compileWhere(d, where))
      .orderBy(compileOrder(d, request.sort))
      .limit(limit as number)
      .offset(offset as number)
      .compile();
  let compiled: { count: Compiled; page: Compiled };
  if (templates === null) {
    compiled = { count: count(request.where), page: page(request.where, limit, request.page.offset) };
  } else {
    const shape = whereShape(request.where);
    const n = shape.values.length;
    const sort = JSON.stringify(request.sort.map((s) => [s.field.column, s.field.path, s.desc]));
    compiled = {
      count: templates.compile(`count|${shape.key}`, shape.values, (args) => count(shape.rebuild(args))),
      page: templates.compile(
        `page|${columns.join(",")}|${sort}|${shape.key}`,
        [...shape.values, limit, request.page.offset],
        (args) => page(shape.rebuild(args), args[n], args[n + 1]),
      ),
    };
  }
  return {
    count: plain(compiled.count),
    page: plain(compiled.page),
    columns,
    limit: request.page.limit,
    countOnly: request.countOnly === true,
    unpagedMax: request.page.limit === null ? request.unpagedMax : null,
  };
}

/** A stat request as SQL (main thread, as `compileList`). */
export function compileStatQuery(query: StatQuery, options: StatOptions): CompiledStat {
  const plan = compileStat(d, query, { maxRows: options.maxRows });
  return {
    rows: plain(plan.rows),
    total: plan.total === null ? null : plain(plan.total),
    shape: plan.result,
    cap: plan.cap,
  };
}

export class SqliteJobs extends SqliteStatements {
  private readonly points = new PointTemplates();

  /** Open a list (`SqliteStatements.openCompiledList`). */
  openList(request: ListRequest): ListCursor {
    return this.openCompiledList(compileList(request));
  }

  /** Read a list whole (`SqliteStatements.readCompiledList`). */
  readList(request: ListRequest): ListPage {
    return this.readCompiledList(compileList(request));
  }

  /** Compile a stat pipeline and run it (rows and paged total from one snapshot). */
  stat(query: StatQuery, options: StatOptions): StatResult {
    return this.runStat(compileStatQuery(query, options));
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
    return this.points.compile(name, jobId, scope, build);
  }

  insert(row: Omit<JobRow, "seq">): void {
    this.run(builder.insertInto("jobs").values(row).compile());
  }
}

/** Columns to read for an `only` projection (an options path needs the options column). */
function selectedColumns(only: readonly FieldRef[] | null): readonly JobColumn[] {
  if (only === null) return JOB_COLUMNS;
  return [...new Set(only.map((f) => f.column))];
}
