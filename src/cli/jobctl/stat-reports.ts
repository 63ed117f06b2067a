/**
 * The named reports of `jobctl stat`: each is a StatisticsQuery (the same pipeline any client can
 * send to `stat`) and a way to lay its rows out as a table. `--query FILE` runs any other pipeline.
 */
import type { JsonObject } from "@bufbuild/protobuf";
import type { Column } from "./render/table.js";
import { humanDuration } from "./render/time.js";

export type StatRow = Record<string, unknown>;

export interface StatReport {
  readonly description: string;
  /** The StatisticsQuery as proto JSON (checked by `fromJson` before it is sent). */
  query(days: number): JsonObject;
  /** Rows as the table shows them (e.g. pivoted) and their columns. */
  table(rows: StatRow[]): { columns: Column<StatRow>[]; rows: StatRow[] };
}

const STATUSES = ["PENDING", "IN_PROGRESS", "SUCCESS", "FAILURE", "CANCELED"];

/** A literal pipeline as a JsonObject (TypeScript widens optional keys of unions otherwise). */
const json = (value: object) => value as JsonObject;

const since = (days: number) => ({ k: "created_at", v: `now/d - ${days - 1}d`, o: "timediff_gte" });
const cell = (key: string) => (row: StatRow) =>
  row[key] === undefined || row[key] === null ? "" : String(row[key]);

export const STAT_REPORTS: Record<string, StatReport> = {
  "status-per-day": {
    description: "jobs per status per day (created in the last --days days)",
    query: (days) =>
      json({
        filter: [since(days)],
        aggregate: [
          {
            group: {
              keys: [
                { key: "created_at", name: "date", date_format: "%Y-%m-%d" },
                { key: "status", name: "status" },
              ],
              fields: [{ operator: "count", name: "count" }],
            },
          },
          { sort: [{ key: "date", desc: true }] },
        ],
      }),
    table: (rows) => {
      // One line per day, one column per status.
      const days = new Map<string, StatRow>();
      for (const row of rows) {
        const date = String(row.date);
        const day = days.get(date) ?? { date, TOTAL: 0 };
        day[String(row.status)] = row.count;
        day.TOTAL = Number(day.TOTAL) + Number(row.count);
        days.set(date, day);
      }
      return {
        rows: [...days.values()],
        columns: [
          { header: "DATE", text: cell("date") },
          ...STATUSES.map((s) => ({
            header: s,
            text: (r: StatRow) => String(r[s] ?? 0),
            align: "right" as const,
          })),
          { header: "TOTAL", text: cell("TOTAL"), align: "right" },
        ],
      };
    },
  },
  "failures-per-plugin": {
    description: "jobs and failures per plugin, the most failing first (last --days days)",
    query: (days) =>
      json({
        filter: [since(days)],
        aggregate: [
          {
            group: {
              keys: [{ key: "plugin_id", name: "plugin_id" }],
              fields: [
                { operator: "count", name: "jobs" },
                {
                  operator: "count",
                  name: "failures",
                  conditions: [{ key: "status", value: "FAILURE", operator: "eq" }],
                },
              ],
            },
          },
          { sort: [{ key: "failures", desc: true }, { key: "plugin_id" }] },
        ],
      }),
    table: (rows) => ({
      rows,
      columns: [
        { header: "PLUGIN", text: cell("plugin_id"), flex: { min: 12 } },
        { header: "JOBS", text: cell("jobs"), align: "right" },
        { header: "FAILURES", text: cell("failures"), align: "right" },
        {
          header: "RATE",
          text: (r) =>
            Number(r.jobs) > 0 ? `${((100 * Number(r.failures)) / Number(r.jobs)).toFixed(1)}%` : "",
          align: "right",
        },
      ],
    }),
  },
  "slowest-plugins": {
    description: "plugins by average duration of their finished jobs, slowest first (last --days days)",
    query: (days) =>
      json({
        filter: [since(days), { k: "finished_at", v: true, o: "exists" }],
        aggregate: [
          {
            group: {
              keys: [{ key: "plugin_id", name: "plugin_id" }],
              fields: [
                { operator: "count", name: "jobs" },
                { operator: "average", key: "duration_seconds", name: "average_seconds" },
                { operator: "max", key: "duration_seconds", name: "max_seconds" },
              ],
            },
          },
          { sort: [{ key: "average_seconds", desc: true }, { key: "plugin_id" }] },
          { limit: 20 },
        ],
      }),
    table: (rows) => ({
      rows,
      columns: [
        { header: "PLUGIN", text: cell("plugin_id"), flex: { min: 12 } },
        { header: "JOBS", text: cell("jobs"), align: "right" },
        { header: "AVERAGE", text: (r) => humanDuration(Number(r.average_seconds)), align: "right" },
        { header: "MAX", text: (r) => humanDuration(Number(r.max_seconds)), align: "right" },
      ],
    }),
  },
};

/** Columns for the rows of any pipeline: the union of their keys, in first-seen order. */
export function genericColumns(rows: StatRow[]): Column<StatRow>[] {
  const keys: string[] = [];
  for (const row of rows) for (const key of Object.keys(row)) if (!keys.includes(key)) keys.push(key);
  return keys.map((key) => ({
    header: key.toUpperCase(),
    text: (row: StatRow) => {
      const value = row[key];
      if (value === undefined || value === null) return "";
      return typeof value === "object" ? JSON.stringify(value) : String(value);
    },
    flex: { min: 8 },
  }));
}
