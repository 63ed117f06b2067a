/**
 * The History view's state, which lives in the URL (`/ui/history?status=FAILURE&plugin=...&page=2`) so
 * a view can be shared and the back button returns to it. Parsing is forgiving (a hand-edited or old
 * URL gives the nearest valid view, never an error) and printing omits defaults, so the URL of the
 * default view is plain `/ui/history`.
 */

export const STATUSES = ["PENDING", "IN_PROGRESS", "FAILURE", "SUCCESS", "CANCELED"] as const;
export type Status = (typeof STATUSES)[number];

export const SORT_KEYS = [
  "created_at",
  "finished_at",
  "duration_seconds",
  "status",
  "job_id",
  "trusted_account_id",
  "plugin_id",
  "workspace_id",
] as const;
export type SortKey = (typeof SORT_KEYS)[number];

/** Relative windows back from now, and `custom` (from/to) and `all`. */
export const RANGES = ["1h", "24h", "7d", "30d", "90d", "all", "custom"] as const;
export type Range = (typeof RANGES)[number];

export const PAGE_SIZES = [25, 50, 100] as const;

export interface HistoryState {
  readonly status: Status | null;
  readonly account: string;
  readonly plugin: string;
  readonly workspace: string;
  readonly keyword: string;
  readonly range: Range;
  /** ISO datetimes, used when range is `custom` (either may be empty). */
  readonly from: string;
  readonly to: string;
  readonly sort: SortKey;
  readonly desc: boolean;
  /** 1-based. */
  readonly page: number;
  readonly size: number;
}

export const DEFAULT_HISTORY: HistoryState = {
  status: null,
  account: "",
  plugin: "",
  workspace: "",
  keyword: "",
  range: "7d",
  from: "",
  to: "",
  sort: "created_at",
  desc: true,
  page: 1,
  size: 25,
};

/** Filter values longer than this are cut (the service refuses very long values). */
const MAX_TEXT = 200;

export function parseHistory(search: string | URLSearchParams): HistoryState {
  const p = typeof search === "string" ? new URLSearchParams(search) : search;
  const text = (name: string) => (p.get(name) ?? "").trim().slice(0, MAX_TEXT);
  const status = p.get("status");
  const range = p.get("range");
  const sort = p.get("sort");
  const page = Number(p.get("page"));
  const size = Number(p.get("size"));
  const from = isoOrEmpty(p.get("from"));
  const to = isoOrEmpty(p.get("to"));
  return {
    status: (STATUSES as readonly string[]).includes(status ?? "") ? (status as Status) : null,
    account: text("account"),
    plugin: text("plugin"),
    workspace: text("workspace"),
    keyword: text("q"),
    range: (RANGES as readonly string[]).includes(range ?? "")
      ? (range as Range)
      : from || to
        ? "custom"
        : DEFAULT_HISTORY.range,
    from,
    to,
    sort: (SORT_KEYS as readonly string[]).includes(sort ?? "") ? (sort as SortKey) : DEFAULT_HISTORY.sort,
    desc: p.has("dir") ? p.get("dir") !== "asc" : DEFAULT_HISTORY.desc,
    page: Number.isSafeInteger(page) && page >= 1 ? page : 1,
    size: (PAGE_SIZES as readonly number[]).includes(size) ? size : DEFAULT_HISTORY.size,
  };
}

/** The query string (with `?`, or "" for the default view). Keys in a fixed order. */
export function historySearch(state: HistoryState): string {
  const p = new URLSearchParams();
  if (state.status) p.set("status", state.status);
  if (state.account) p.set("account", state.account);
  if (state.plugin) p.set("plugin", state.plugin);
  if (state.workspace) p.set("workspace", state.workspace);
  if (state.keyword) p.set("q", state.keyword);
  if (state.range !== DEFAULT_HISTORY.range) p.set("range", state.range);
  if (state.range === "custom") {
    if (state.from) p.set("from", state.from);
    if (state.to) p.set("to", state.to);
  }
  if (state.sort !== DEFAULT_HISTORY.sort) p.set("sort", state.sort);
  if (state.desc !== DEFAULT_HISTORY.desc) p.set("dir", state.desc ? "desc" : "asc");
  if (state.page !== 1) p.set("page", String(state.page));
  if (state.size !== DEFAULT_HISTORY.size) p.set("size", String(state.size));
  const s = p.toString();
  return s ? `?${s}` : "";
}

/** A change of filters starts again at page 1; paging and sorting keep the rest. */
export function withFilters(state: HistoryState, change: Partial<HistoryState>): HistoryState {
  return { ...state, ...change, page: change.page ?? 1 };
}

/** Clicking a column header: the same column flips direction, a new one starts descending. */
export function withSort(state: HistoryState, key: SortKey): HistoryState {
  return { ...state, sort: key, desc: state.sort === key ? !state.desc : true, page: 1 };
}

export function pageCount(total: number, size: number): number {
  return Math.max(1, Math.ceil(total / size));
}

function isoOrEmpty(value: string | null): string {
  if (!value) return "";
  const t = Date.parse(value);
  return Number.isNaN(t) ? "" : new Date(t).toISOString();
}
