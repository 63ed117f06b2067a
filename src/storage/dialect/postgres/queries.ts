/**
 * The statements the PostgreSQL store runs, compiled with the dialect's Kysely instance from the
 * shared query compilers, and the one function that executes a compiled statement on a client.
 * Point lookups use named prepared statements (parsed and planned once per connection).
 */
import { createHash } from "node:crypto";
import { type SqlBool, sql } from "kysely";
import type pg from "pg";
import type { Condition } from "../../../query/ast.js";
import { JOB_COLUMNS } from "../../../query/fields.js";
import { compileOrder, compileWhere } from "../../compile-where.js";
import type { Compiled } from "../../compiled-template.js";
import type { ListRequest } from "../../store.js";
import type { Dialect } from "../dialect.js";

/** Statement names by SQL text: pg prepares a named statement once per connection. */
const names = new Map<string, string>();
const MAX_NAMED = 2000;

function statementName(text: string): string | undefined {
  let name = names.get(text);
  if (name) return name;
  if (names.size >= MAX_NAMED) return undefined;
  name = `q${createHash("sha1").update(text).digest("hex").slice(0, 16)}`;
  names.set(text, name);
  return name;
}

/** Run one compiled statement; `prepare` names it so the server keeps its plan (hot paths only). */
export async function runQuery<T>(client: pg.ClientBase, query: Compiled, prepare = false): Promise<T[]> {
  const config: pg.QueryConfig = { text: query.sql, values: query.parameters as unknown[] };
  if (prepare) {
    const name = statementName(query.sql);
    if (name) config.name = name;
  }
  const result = await client.query(config);
  return result.rows as T[];
}

export class PostgresQueries {
  constructor(readonly dialect: Dialect) {}

  private scoped(conditions: readonly Condition[]) {
    return conditions.length === 0
      ? this.dialect.true
      : compileWhere(this.dialect, { and: conditions, or: [] });
  }

  /** One job by id within a scope. */
  byId(jobId: string, scope: readonly Condition[]): Compiled {
    return this.dialect.builder
      .selectFrom("jobs")
      .selectAll()
      .where(sql<SqlBool>`${sql.ref("job_id")} = ${jobId}`)
      .where(this.scoped(scope))
      .compile();
  }

  /**
   * A list's count and the change-feed head (`n`, `head`) in one statement: one round trip, and in a
   * REPEATABLE READ transaction both from the snapshot the page is read from.
   */
  listHeader(request: ListRequest): Compiled {
    return this.dialect.builder
      .selectFrom("jobs")
      .select([
        sql<number>`count(*)`.as("n"),
        sql<number>`(SELECT coalesce(max(id), 0) FROM job_changes)`.as("head"),
      ])
      .where(compileWhere(this.dialect, request.where))
      .compile();
  }

  listPage(request: ListRequest): Compiled {
    const columns = request.only === null ? JOB_COLUMNS : [...new Set(request.only.map((f) => f.column))];
    return this.dialect.builder
      .selectFrom("jobs")
      .select(columns)
      .where(compileWhere(this.dialect, request.where))
      .orderBy(compileOrder(this.dialect, request.sort))
      .limit(request.page.limit ?? request.unpagedMax)
      .offset(request.page.offset)
      .compile();
  }
}
