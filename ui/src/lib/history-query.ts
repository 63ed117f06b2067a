/**
 * The History view's requests, as proto JSON (the client turns them into messages with `fromJson`):
 * `list` for one page of jobs with `total_count`, and one `stat` that counts the same jobs per status
 * for the tabs. Both use the same filters, so a tab's count is the number of rows that tab lists.
 * Every request is bounded: a page of at most 100 rows, and a group of at most five statuses.
 */
import type { HistoryState, Range, Status } from "./history-state.js";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** The columns the table shows (`only`), so a page of 100 rows stays small. */
export const HISTORY_COLUMNS = [
  "job_id",
  "status",
  "workspace_id",
  "trusted_account_id",
  "plugin_id",
  "created_at",
  "finished_at",
  "duration_seconds",
  "progress_percent",
  "error_code",
  "error_message",
] as const;

const RANGE_SECONDS: Readonly<Record<Exclude<Range, "all" | "custom">, number>> = {
  "1h": 3_600,
  "24h": 86_400,
  "7d": 7 * 86_400,
  "30d": 30 * 86_400,
  "90d": 90 * 86_400,
};

/** The created_at window of a state: [from, to), either end open. */
export function timeWindow(
  state: Pick<HistoryState, "range" | "from" | "to">,
  now: Date,
): { from: string; to: string } {
  if (state.range === "all") return { from: "", to: "" };
  if (state.range === "custom") return { from: state.from, to: state.to };
  return { from: new Date(now.getTime() - RANGE_SECONDS[state.range] * 1000).toISOString(), to: "" };
}

/** The filter conditions of a state; without the status when counting per status. */
export function historyFilters(
  state: HistoryState,
  now: Date,
  options: { withStatus: boolean },
): JsonObject[] {
  const filter: JsonObject[] = [];
  if (options.withStatus && state.status) filter.push({ k: "status", v: state.status, o: "eq" });
  if (state.account) filter.push({ k: "trusted_account_id", v: state.account, o: "eq" });
  if (state.plugin) filter.push({ k: "plugin_id", v: state.plugin, o: "eq" });
  if (state.workspace) filter.push({ k: "workspace_id", v: state.workspace, o: "eq" });
  const { from, to } = timeWindow(state, now);
  if (from) filter.push({ k: "created_at", v: from, o: "datetime_gte" });
  if (to) filter.push({ k: "created_at", v: to, o: "datetime_lt" });
  return filter;
}

/** `Job.list` for the page the state shows. */
export function listRequest(state: HistoryState, now: Date): JsonObject {
  const query: JsonObject = {
    filter: historyFilters(state, now, { withStatus: true }),
    sort: [{ key: state.sort, desc: state.desc }],
    page: { start: (state.page - 1) * state.size + 1, limit: state.size },
    only: [...HISTORY_COLUMNS],
  };
  if (state.keyword) query.keyword = state.keyword;
  return { query };
}

/** `Job.stat`: jobs per status under the same filters (the status tab itself left out). */
export function statusCountsRequest(state: HistoryState, now: Date): JsonObject {
  const query: JsonObject = {
    filter: historyFilters(state, now, { withStatus: false }),
    aggregate: [
      {
        group: { keys: [{ key: "status", name: "status" }], fields: [{ name: "count", operator: "count" }] },
      },
    ],
  };
  if (state.keyword) query.keyword = state.keyword;
  return { query };
}

/** The stat answer as a count per status (0 for statuses with no jobs) and the sum of all. */
export function parseStatusCounts(
  answer: unknown,
  statuses: readonly Status[],
): { byStatus: Record<Status, number>; all: number } {
  const byStatus = Object.fromEntries(statuses.map((s) => [s, 0])) as Record<Status, number>;
  for (const row of resultRows(answer)) {
    const status = row.status;
    const count = row.count;
    if (typeof status === "string" && typeof count === "number" && status in byStatus) {
      byStatus[status as Status] = count;
    }
  }
  return { byStatus, all: Object.values(byStatus).reduce((a, b) => a + b, 0) };
}

/** The `results` rows of a stat answer (an object with a `results` list); [] for anything else. */
export function resultRows(answer: unknown): Record<string, JsonValue>[] {
  if (typeof answer !== "object" || answer === null) return [];
  const results = (answer as { results?: unknown }).results;
  if (!Array.isArray(results)) return [];
  return results.filter(
    (r): r is Record<string, JsonValue> => typeof r === "object" && r !== null && !Array.isArray(r),
  );
}
