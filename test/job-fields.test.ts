/**
 * The field catalogue (src/catalogue/job-fields.ts) against everything it must agree with: the
 * `jobs` table both backends' migrations build (read back from sqlite_master / pragma_table_xinfo and
 * information_schema / pg_constraint), the generated `JobInfo` descriptor, and what is derived from
 * it (the query whitelist, the view, the JobInfo mapping, the seed's columns). A column added to one
 * side and not the other fails here.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobInfoSchema } from "../gen/spaceone/api/identity/v2/job_pb.js";
import {
  type ColumnType,
  JOB_CATALOGUE,
  JOB_FIELD_NAMES,
  type JobField,
  QUERY_FIELDS,
  SEEDED_FIELDS,
  VIEW_FIELDS,
} from "../src/catalogue/job-fields.js";
import { JOB_FIELDS } from "../src/query/fields.js";
import { generateJobs } from "../src/seed/generate.js";
import { toJobView } from "../src/service/job-view.js";
import { openDatabase } from "../src/storage/database.js";
import { migratePostgres } from "../src/storage/dialect/postgres/migrations.js";
import type { JobRow } from "../src/storage/schema.js";
import { toJobInfo } from "../src/wire/encode/job-info.js";
import { createTestDatabase, describePostgres, type TestDatabase } from "./support/postgres.js";

const field = (name: string): JobField => JOB_CATALOGUE[name as keyof typeof JOB_CATALOGUE];

/** A column as a migrated schema describes it, in catalogue terms. */
interface SchemaColumn {
  readonly name: string;
  readonly type: string;
  readonly nullable: boolean;
  readonly generated: boolean;
}

/** The quoted values of the `CHECK (column IN (...))` / `= ANY (ARRAY[...])` constraint on a column. */
function checkedValues(checks: readonly string[], column: string): string[] | null {
  for (const check of checks) {
    const sqlite = new RegExp(`CHECK \\(${column} IN \\(([^)]*)\\)\\)`).exec(check);
    const postgres = new RegExp(`\\(\\(?${column} = ANY \\(ARRAY\\[([^\\]]*)\\]\\)\\)`).exec(check);
    const list = sqlite?.[1] ?? postgres?.[1];
    if (list !== undefined) return [...list.matchAll(/'([^']*)'/g)].map((m) => m[1] as string);
  }
  return null;
}

/** Every catalogue field is a column of this type and nullability, and every column is catalogued. */
function expectSchemaMatches(
  columns: readonly SchemaColumn[],
  checks: readonly string[],
  types: Readonly<Record<ColumnType, readonly string[]>>,
): void {
  expect(columns.length).toBeGreaterThan(0);
  expect(columns.map((c) => c.name).sort()).toEqual([...JOB_FIELD_NAMES].sort());
  for (const column of columns) {
    const spec = field(column.name);
    expect(types[spec.type], `${column.name}: ${column.type}`).toContain(column.type);
    // An identity column is the key: never NULL, whatever the catalogue of the schema says.
    if (spec.generated !== "identity") expect(column.nullable, column.name).toBe(spec.nullable);
    expect(column.generated, column.name).toBe(spec.generated === "computed");
    if (spec.type === "enum") expect(checkedValues(checks, column.name), column.name).toEqual(spec.values);
  }
}

describe("the field catalogue", () => {
  it("is the query whitelist: every field a query may name, and nothing else", () => {
    expect(QUERY_FIELDS.length).toBeGreaterThan(0);
    expect(Object.keys(JOB_FIELDS)).toEqual(QUERY_FIELDS);
    expect(Object.keys(JOB_FIELDS)).not.toContain("seq");
    expect(Object.keys(JOB_FIELDS)).not.toContain("idempotency_key");
  });

  it("matches SQLite's migrated jobs table", () => {
    const db = openDatabase({ file: ":memory:" });
    try {
      const columns = (
        db
          .prepare("SELECT name, type, \"notnull\" AS nn, pk, hidden FROM pragma_table_xinfo('jobs')")
          .all() as {
          name: string;
          type: string;
          nn: number;
          pk: number;
          hidden: number;
        }[]
      ).map((c) => ({
        name: c.name,
        type: c.type,
        nullable: c.nn === 0 && c.pk === 0,
        // 2: a virtual generated column, 3: a stored one.
        generated: c.hidden === 2 || c.hidden === 3,
      }));
      // STRICT tables keep CHECK constraints in the table's SQL, and ALTER TABLE appends them there.
      const sql = (db.prepare("SELECT sql FROM sqlite_master WHERE name = 'jobs'").get() as { sql: string })
        .sql;
      expectSchemaMatches(columns, [sql.replace(/\s+/g, " ")], {
        text: ["TEXT"],
        enum: ["TEXT"],
        timestamp: ["TEXT"],
        json: ["TEXT"],
        int: ["INTEGER"],
        real: ["REAL"],
      });
    } finally {
      db.close();
    }
  });

  it("matches JobInfo: one proto field per view field, same enum values, compatible types", () => {
    const viewProto = VIEW_FIELDS.map((name) => field(name).proto);
    expect(viewProto.length).toBeGreaterThan(0);
    expect([...viewProto].sort()).toEqual(JobInfoSchema.fields.map((f) => f.name).sort());
    for (const name of VIEW_FIELDS) {
      const spec = field(name);
      const proto = JobInfoSchema.fields.find((f) => f.name === spec.proto);
      if (!proto) throw new Error(`no JobInfo field for ${name}`);
      switch (spec.type) {
        case "enum":
          expect(proto.fieldKind, name).toBe("enum");
          if (proto.fieldKind === "enum")
            expect(
              proto.enum.values.filter((v) => v.number !== 0).map((v) => v.name),
              name,
            ).toEqual(spec.values);
          break;
        case "json":
          expect(proto.fieldKind === "message" && proto.message.typeName, name).toBe(
            "google.protobuf.Struct",
          );
          break;
        default: {
          expect(proto.fieldKind, name).toBe("scalar");
          const scalar = proto.fieldKind === "scalar" ? proto.scalar : null;
          // ScalarType numbers: 1 double, 3 int64, 4 uint64, 5 int32, 9 string, 13 uint32.
          const allowed = { text: [9], timestamp: [9], int: [3, 4, 5, 13], real: [1] }[spec.type];
          expect(allowed, `${name}: scalar ${scalar}`).toContain(scalar);
        }
      }
    }
  });

  it("derives the view and JobInfo: a full row shows every view field, and JobInfo sets each", () => {
    const [seeded] = [...generateJobs({ count: 1, seed: 3, now: new Date("2026-06-01T00:00:00.000Z") })];
    if (!seeded) throw new Error("no seeded job");
    const row: JobRow = {
      ...seeded,
      seq: 7,
      options: '{"a":{"b":1},"c":2}',
      error_message: "boom",
      plugin_id: "plugin-x",
      finished_at: "2026-06-01T00:10:00.000Z",
      started_at: "2026-06-01T00:01:00.000Z",
      heartbeat_at: "2026-06-01T00:02:00.000Z",
      progress_percent: 42.5,
      current_step: "step",
      records_processed: 1,
      records_total: 2,
      records_created: 3,
      records_updated: 4,
      records_deleted: 5,
      cancel_requested_at: "2026-06-01T00:03:00.000Z",
      cancel_reason: "why",
      canceled_by: "user:u",
      error_code: "ERROR_X",
      idempotency_key: "secret-key",
      duration_seconds: 540,
      version: 9,
    };
    // Every catalogue field is set on this row, so a new field must be added here too.
    expect(Object.keys(row).sort()).toEqual([...JOB_FIELD_NAMES].sort());
    const view = toJobView(row);
    expect(Object.keys(view)).toEqual(VIEW_FIELDS);
    expect(view.options).toEqual({ a: { b: 1 }, c: 2 });
    expect(view).not.toHaveProperty("idempotency_key");
    const info = toJobInfo(view);
    for (const proto of JobInfoSchema.fields) {
      const value = (info as unknown as Record<string, unknown>)[proto.localName];
      expect(value === undefined || value === 0 || value === "", proto.name).toBe(false);
    }
    expect(info.version).toBe(9);
    expect(info.durationSeconds).toBe(540);
    // `only` keeps just what was asked, json paths pruned.
    expect(
      toJobView(row, [
        { column: "version", path: [], name: "version" },
        { column: "options", path: ["a"], name: "options.a" },
      ]),
    ).toEqual({ options: { a: { b: 1 } }, version: 9 });
  });

  it("gives the seed its columns: the seeded fields, which the generator fills", () => {
    const [job] = [...generateJobs({ count: 1, seed: 1 })];
    expect(SEEDED_FIELDS.length).toBeGreaterThan(0);
    expect(Object.keys(job ?? {}).sort()).toEqual([...SEEDED_FIELDS].sort());
  });
});

describePostgres("the field catalogue on PostgreSQL", () => {
  let database: TestDatabase;
  let pool: pg.Pool;

  beforeAll(async () => {
    database = await createTestDatabase();
    pool = new pg.Pool({ connectionString: database.url, max: 1 });
    await migratePostgres(pool);
  });

  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  it("matches PostgreSQL's migrated jobs table", async () => {
    const { rows } = await pool.query<{
      name: string;
      type: string;
      nullable: string;
      generated: string;
    }>(
      `SELECT column_name AS name, data_type AS type, is_nullable AS nullable, is_generated AS generated
       FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'jobs'`,
    );
    const checks = await pool.query<{ def: string }>(
      `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint
       WHERE conrelid = 'jobs'::regclass AND contype = 'c'`,
    );
    expectSchemaMatches(
      rows.map((r) => ({
        name: r.name,
        type: r.type,
        nullable: r.nullable === "YES",
        generated: r.generated === "ALWAYS",
      })),
      checks.rows.map((r) => r.def),
      {
        text: ["text"],
        enum: ["text"],
        timestamp: ["timestamp with time zone"],
        json: ["jsonb"],
        int: ["bigint", "integer"],
        real: ["double precision"],
      },
    );
  });
});
