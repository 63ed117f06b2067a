/**
 * The Trends view: three `stat` pipelines and the chart series made from their answers. Each chart
 * also shows its numbers as a table, built from the same series, so what the chart draws is what the
 * service counted. Days are UTC days (the service's date_format is UTC).
 */

import { type JsonObject, resultRows } from "./history-query.js";
import { DEFAULT_HISTORY, type HistoryState, STATUSES, type Status } from "./history-state.js";

export const TREND_DAYS = [7, 14, 30, 90] as const;
export const DEFAULT_TREND_DAYS = 14;
/** Plugins shown per chart (the most active first). */
export const MAX_PLUGINS = 20;

export const DURATION_BUCKETS = [
  { name: "lt_1m", label: "< 1 min", gte: 0, lt: 60 },
  { name: "m1_5", label: "1–5 min", gte: 60, lt: 300 },
  { name: "m5_15", label: "5–15 min", gte: 300, lt: 900 },
  { name: "m15_60", label: "15–60 min", gte: 900, lt: 3600 },
  { name: "ge_1h", label: "≥ 1 h", gte: 3600, lt: null },
] as const;

export function parseTrendDays(search: string): number {
  const days = Number(new URLSearchParams(search).get("days"));
  return (TREND_DAYS as readonly number[]).includes(days) ? days : DEFAULT_TREND_DAYS;
}

/** Midnight UTC of the first day in the window (today counts as one of the days). */
export function windowStart(days: number, now: Date): Date {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return new Date(today - (days - 1) * 86_400_000);
}

/** Every UTC day of the window, "YYYY-MM-DD", oldest first. */
export function windowDays(days: number, now: Date): string[] {
  const start = windowStart(days, now).getTime();
  return Array.from({ length: days }, (_, i) => new Date(start + i * 86_400_000).toISOString().slice(0, 10));
}

const since = (days: number, now: Date): JsonObject => ({
  k: "created_at",
  v: windowStart(days, now).toISOString(),
  o: "datetime_gte",
});

export function perDayRequest(days: number, now: Date): JsonObject {
  return {
    query: {
      filter: [since(days, now)],
      aggregate: [
        {
          group: {
            keys: [
              { key: "created_at", name: "day", date_format: "%Y-%m-%d" },
              { key: "status", name: "status" },
            ],
            fields: [{ name: "count", operator: "count" }],
          },
        },
      ],
    },
  };
}

/** The busiest plugins first, at most MAX_PLUGINS, with their total and failed jobs. */
export function failureRequest(days: number, now: Date): JsonObject {
  return {
    query: {
      filter: [since(days, now)],
      aggregate: [
        {
          group: {
            keys: [{ key: "plugin_id", name: "plugin" }],
            fields: [
              { name: "total", operator: "count" },
              {
                name: "failures",
                operator: "count",
                conditions: [{ key: "status", value: "FAILURE", operator: "eq" }],
              },
            ],
          },
        },
        { sort: [{ key: "total", desc: true }, { key: "plugin" }] },
      ],
      page: { limit: MAX_PLUGINS },
    },
  };
}

/** Finished jobs per plugin and duration bucket, with the average and longest duration. */
export function durationRequest(days: number, now: Date): JsonObject {
  return {
    query: {
      filter: [since(days, now), { k: "duration_seconds", v: true, o: "exists" }],
      aggregate: [
        {
          group: {
            keys: [{ key: "plugin_id", name: "plugin" }],
            fields: [
              { name: "finished", operator: "count" },
              { name: "average", key: "duration_seconds", operator: "average" },
              { name: "longest", key: "duration_seconds", operator: "max" },
              ...DURATION_BUCKETS.map((b) => ({
                name: b.name,
                operator: "count",
                conditions: [
                  { key: "duration_seconds", value: b.gte, operator: "gte" },
                  ...(b.lt === null ? [] : [{ key: "duration_seconds", value: b.lt, operator: "lt" }]),
                ],
              })),
            ],
          },
        },
        { sort: [{ key: "finished", desc: true }, { key: "plugin" }] },
      ],
      page: { limit: MAX_PLUGINS },
    },
  };
}

export interface PerDaySeries {
  readonly days: string[];
  /** counts[status][dayIndex] */
  readonly counts: Record<Status, number[]>;
}

export function perDaySeries(answer: unknown, days: number, now: Date): PerDaySeries {
  const dayList = windowDays(days, now);
  const index = new Map(dayList.map((d, i) => [d, i]));
  const counts = Object.fromEntries(STATUSES.map((s) => [s, dayList.map(() => 0)])) as Record<
    Status,
    number[]
  >;
  for (const row of resultRows(answer)) {
    const i = typeof row.day === "string" ? index.get(row.day) : undefined;
    const series = typeof row.status === "string" ? counts[row.status as Status] : undefined;
    if (i !== undefined && series && typeof row.count === "number") series[i] = row.count;
  }
  return { days: dayList, counts };
}

/** A plugin id for display; jobs without a plugin group under null. */
export const pluginLabel = (plugin: string | null) => plugin ?? "(no plugin)";

export interface FailureRow {
  readonly plugin: string | null;
  readonly total: number;
  readonly failures: number;
  /** failures / total, 0..1 */
  readonly rate: number;
}

export function failureRows(answer: unknown): FailureRow[] {
  return resultRows(answer).map((row) => {
    const total = typeof row.total === "number" ? row.total : 0;
    const failures = typeof row.failures === "number" ? row.failures : 0;
    return {
      plugin: typeof row.plugin === "string" ? row.plugin : null,
      total,
      failures,
      rate: total > 0 ? failures / total : 0,
    };
  });
}

export interface DurationRow {
  readonly plugin: string | null;
  readonly finished: number;
  readonly average: number | null;
  readonly longest: number | null;
  /** Jobs per DURATION_BUCKETS entry, same order. */
  readonly buckets: number[];
}

export function durationRows(answer: unknown): DurationRow[] {
  return resultRows(answer).map((row) => ({
    plugin: typeof row.plugin === "string" ? row.plugin : null,
    finished: typeof row.finished === "number" ? row.finished : 0,
    average: typeof row.average === "number" ? row.average : null,
    longest: typeof row.longest === "number" ? row.longest : null,
    buckets: DURATION_BUCKETS.map((b) => (typeof row[b.name] === "number" ? (row[b.name] as number) : 0)),
  }));
}

/** History state behind a click on a chart: the jobs that bar counts. */
export function dayLink(day: string, status: Status): HistoryState {
  const from = new Date(`${day}T00:00:00.000Z`);
  return {
    ...DEFAULT_HISTORY,
    status,
    range: "custom",
    from: from.toISOString(),
    to: new Date(from.getTime() + 86_400_000).toISOString(),
  };
}

export function pluginLink(
  plugin: string | null,
  days: number,
  now: Date,
  extra: Partial<HistoryState>,
): HistoryState {
  return {
    ...DEFAULT_HISTORY,
    plugin: plugin ?? "",
    range: "custom",
    from: windowStart(days, now).toISOString(),
    to: "",
    ...extra,
  };
}
