/**
 * The requests the benchmark sends, and the raw SQL each is compared with. Every request is made by a
 * DOMAIN_ADMIN of the largest seeded domain, so the service scopes it to `domain_id = BENCH_DOMAIN`.
 */

/** `jobs` rows are generated as of this instant, so every run of a size sees the same data. */
export const SEED_NOW = new Date("2026-01-01T00:00:00.000Z");
export const SEED = 1;
/** The largest seeded domain (about half of all jobs): every request is scoped to it. */
export const BENCH_DOMAIN = "domain-seed0001";
/**
 * The trusted accounts of the jobs the bench's own lifecycle writers create (`ta-bench-writer-<i>`): no
 * seeded job has one, and what the bench picks from the seeded jobs leaves them out.
 */
export const WRITER_ACCOUNT_PREFIX = "ta-bench-writer-";

export const JOB_SERVICE = "spaceone.api.identity.v2.Job";
export const GET_PATH = `/${JOB_SERVICE}/get`;
export const LIST_PATH = `/${JOB_SERVICE}/list`;
export const STAT_PATH = `/${JOB_SERVICE}/stat`;

const DAY_MS = 86_400_000;

/**
 * `list`: the console's "failed or canceled jobs of the last 30 days, newest first", 100 per page,
 * with `total_count` (the service always counts).
 */
export const LIST_REQUEST = {
  query: {
    filter: [
      { k: "status", v: ["FAILURE", "CANCELED"], o: "in" },
      { k: "created_at", v: new Date(SEED_NOW.getTime() - 30 * DAY_MS).toISOString(), o: "datetime_gte" },
    ],
    sort: [{ key: "created_at", desc: true }],
    page: { start: 1, limit: 100 },
  },
};

export interface StatWorkload {
  readonly name: string;
  readonly title: string;
  readonly request: unknown;
  /** The same aggregation written by hand, with its parameters. */
  readonly sql: string;
  readonly params: readonly unknown[];
}

export const STAT_BY_STATUS: StatWorkload = {
  name: "stat.group_by_status",
  title: "stat: jobs per status (group by status, count)",
  request: {
    query: {
      aggregate: [
        {
          group: {
            keys: [{ key: "status", name: "status" }],
            fields: [{ operator: "count", name: "count" }],
          },
        },
      ],
    },
  },
  sql: "SELECT status, count(*) AS count FROM jobs WHERE domain_id = ? GROUP BY status",
  params: [BENCH_DOMAIN],
};

export const STAT_FAILURES_PER_PLUGIN_PER_DAY: StatWorkload = {
  name: "stat.failures_per_plugin_per_day",
  title: "stat: failures per plugin per day (filter, group by plugin and day, count)",
  request: {
    query: {
      filter: [{ k: "status", v: "FAILURE", o: "eq" }],
      aggregate: [
        {
          group: {
            keys: [
              { key: "plugin_id", name: "plugin_id" },
              { key: "created_at", name: "date", date_format: "%Y-%m-%d" },
            ],
            fields: [{ operator: "count", name: "count" }],
          },
        },
      ],
    },
  },
  sql:
    "SELECT plugin_id, substr(created_at, 1, 10) AS date, count(*) AS count FROM jobs " +
    "WHERE domain_id = ? AND status = 'FAILURE' GROUP BY plugin_id, date",
  params: [BENCH_DOMAIN],
};

export const STAT_WORKLOADS: readonly StatWorkload[] = [STAT_BY_STATUS, STAT_FAILURES_PER_PLUGIN_PER_DAY];
