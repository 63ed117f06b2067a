/** History: every job of the caller's scope, filtered, sorted and paged; the view's state is the URL. */
import { useEffect, useState } from "preact/hooks";
import type { JobInfo } from "../../../gen/spaceone/api/identity/v2/job_pb.js";
import { JobInfo_Status } from "../../../gen/spaceone/api/identity/v2/job_pb.js";
import { listJobs, statJobs } from "../api.js";
import { formatCount, formatPercent, humanDuration, localTime, relativeTime } from "../lib/format.js";
import { listRequest, parseStatusCounts, statusCountsRequest } from "../lib/history-query.js";
import {
  type HistoryState,
  historySearch,
  PAGE_SIZES,
  pageCount,
  parseHistory,
  RANGES,
  type Range,
  type SortKey,
  STATUSES,
  type Status,
  withFilters,
  withSort,
} from "../lib/history-state.js";
import { paths } from "../lib/routes.js";
import { Link, navigate } from "../router.js";
import { useLoad, useNow } from "../use-load.js";
import { StatusBadge } from "./status-badge.js";

const RANGE_LABELS: Record<Range, string> = {
  "1h": "Last hour",
  "24h": "Last 24 hours",
  "7d": "Last 7 days",
  "30d": "Last 30 days",
  "90d": "Last 90 days",
  all: "All time",
  custom: "Custom…",
};

const COLUMNS: readonly { key: SortKey | null; label: string; narrow?: boolean }[] = [
  { key: "job_id", label: "Job" },
  { key: "status", label: "Status" },
  { key: "trusted_account_id", label: "Account" },
  { key: "plugin_id", label: "Plugin", narrow: true },
  { key: "workspace_id", label: "Workspace", narrow: true },
  { key: "created_at", label: "Created" },
  { key: "duration_seconds", label: "Duration" },
  { key: null, label: "Progress / error", narrow: true },
];

export function History({ search }: { search: string }) {
  const state = parseHistory(search);
  const go = (next: HistoryState) => navigate(paths.history(historySearch(next)));
  const now = useNow();

  const key = historySearch(state);
  const page = useLoad(
    async (signal) => {
      const at = new Date();
      const [list, counts] = await Promise.all([
        listJobs(listRequest(state, at), signal),
        statJobs(statusCountsRequest(state, at), signal),
      ]);
      return { key, list, counts: parseStatusCounts(counts, STATUSES) };
    },
    [key],
  );
  // Busy until the rows shown are those of the URL's view, so nobody reads a stale page as current.
  const busy = page.loading || page.data?.key !== key;

  const total = page.data?.list.totalCount ?? 0;
  const pages = pageCount(total, state.size);
  const first = total === 0 ? 0 : (state.page - 1) * state.size + 1;
  const last = Math.min(total, state.page * state.size);

  return (
    <main id="main" class="history">
      <h1>History</h1>
      <StatusTabs state={state} counts={page.data?.counts ?? null} go={go} />
      <Filters state={state} go={go} />
      {page.error && (
        <p class="error" role="alert">
          {page.error}
        </p>
      )}
      <div class="table-wrap" aria-busy={busy ? "true" : "false"}>
        <table class="jobs">
          <caption class="visually-hidden">
            Jobs, sorted by {state.sort} {state.desc ? "descending" : "ascending"}
          </caption>
          <thead>
            <tr>
              {COLUMNS.map((c) => (
                <th
                  key={c.label}
                  scope="col"
                  class={c.narrow ? "wide-only" : undefined}
                  aria-sort={c.key === state.sort ? (state.desc ? "descending" : "ascending") : undefined}
                >
                  {c.key ? (
                    <button type="button" class="sort" onClick={() => c.key && go(withSort(state, c.key))}>
                      {c.label}
                      <span aria-hidden="true">{c.key === state.sort ? (state.desc ? " ▼" : " ▲") : ""}</span>
                    </button>
                  ) : (
                    c.label
                  )}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {page.data?.list.results.map((job) => (
              <Row key={job.jobId} job={job} now={now} />
            ))}
          </tbody>
        </table>
        {page.data && total === 0 && <p class="empty">No jobs match these filters.</p>}
      </div>
      <nav class="pager" aria-label="Pages">
        <span data-testid="total-count" data-total={String(total)}>
          {page.data ? `${formatCount(first)}–${formatCount(last)} of ${formatCount(total)}` : "Loading…"}
        </span>
        <button type="button" disabled={state.page <= 1} onClick={() => go({ ...state, page: 1 })}>
          First
        </button>
        <button
          type="button"
          disabled={state.page <= 1}
          onClick={() => go({ ...state, page: state.page - 1 })}
        >
          Previous
        </button>
        <span data-testid="page-number">
          Page {formatCount(state.page)} of {formatCount(pages)}
        </span>
        <button
          type="button"
          disabled={state.page >= pages}
          onClick={() => go({ ...state, page: state.page + 1 })}
        >
          Next
        </button>
        <button type="button" disabled={state.page >= pages} onClick={() => go({ ...state, page: pages })}>
          Last
        </button>
        <label>
          Rows{" "}
          <select
            value={String(state.size)}
            onChange={(e) => go(withFilters(state, { size: Number((e.target as HTMLSelectElement).value) }))}
          >
            {PAGE_SIZES.map((n) => (
              <option key={n} value={String(n)}>
                {n}
              </option>
            ))}
          </select>
        </label>
      </nav>
    </main>
  );
}

function StatusTabs(props: {
  state: HistoryState;
  counts: { byStatus: Record<Status, number>; all: number } | null;
  go: (s: HistoryState) => void;
}) {
  const { state, counts, go } = props;
  const tabs: (Status | null)[] = [null, ...STATUSES];
  return (
    <fieldset class="tabs">
      <legend class="visually-hidden">Status</legend>
      {tabs.map((status) => {
        const count = counts ? (status ? counts.byStatus[status] : counts.all) : null;
        return (
          <button
            key={status ?? "ALL"}
            type="button"
            class="tab"
            aria-pressed={state.status === status}
            data-testid={`tab-${status ?? "ALL"}`}
            onClick={() => go(withFilters(state, { status }))}
          >
            {status ? status.replace("_", " ") : "All"}{" "}
            <span class="count" data-count={count === null ? "" : String(count)}>
              {count === null ? "…" : formatCount(count)}
            </span>
          </button>
        );
      })}
    </fieldset>
  );
}

/** Text filters apply on Enter or "Apply"; the time range applies when chosen. */
function Filters({ state, go }: { state: HistoryState; go: (s: HistoryState) => void }) {
  const [draft, setDraft] = useState(state);
  useEffect(() => setDraft(state), [historySearch(state)]);
  const text = (name: "account" | "plugin" | "workspace" | "keyword", label: string, placeholder: string) => (
    <label>
      {label}
      <input
        name={name}
        type="search"
        value={draft[name]}
        placeholder={placeholder}
        maxLength={200}
        onInput={(e) => setDraft({ ...draft, [name]: (e.target as HTMLInputElement).value.trim() })}
      />
    </label>
  );
  return (
    <form
      class="filters"
      onSubmit={(e) => {
        e.preventDefault();
        go(withFilters(state, draft));
      }}
    >
      {text("account", "Account", "ta-…")}
      {text("plugin", "Plugin", "plugin-…")}
      {text("workspace", "Workspace", "workspace-…")}
      {text("keyword", "Keyword", "job id or status")}
      <label>
        Created
        <select
          name="range"
          value={draft.range}
          onChange={(e) => {
            const range = (e.target as HTMLSelectElement).value as Range;
            if (range === "custom") setDraft({ ...draft, range });
            else go(withFilters(state, { ...draft, range }));
          }}
        >
          {RANGES.map((r) => (
            <option key={r} value={r}>
              {RANGE_LABELS[r]}
            </option>
          ))}
        </select>
      </label>
      {draft.range === "custom" && (
        <>
          <label>
            From
            <input
              name="from"
              type="datetime-local"
              value={toLocalInput(draft.from)}
              onInput={(e) =>
                setDraft({ ...draft, from: fromLocalInput((e.target as HTMLInputElement).value) })
              }
            />
          </label>
          <label>
            To
            <input
              name="to"
              type="datetime-local"
              value={toLocalInput(draft.to)}
              onInput={(e) =>
                setDraft({ ...draft, to: fromLocalInput((e.target as HTMLInputElement).value) })
              }
            />
          </label>
        </>
      )}
      <button type="submit">Apply</button>
      <button type="button" class="secondary" onClick={() => go(parseHistory(""))}>
        Clear
      </button>
    </form>
  );
}

function Row({ job, now }: { job: JobInfo; now: Date }) {
  const status = JobInfo_Status[job.status] ?? "NONE";
  return (
    <tr
      data-job-id={job.jobId}
      data-status={status}
      data-account={job.trustedAccountId}
      data-workspace={job.workspaceId}
    >
      <td>
        <Link href={paths.job(job.jobId)}>{job.jobId}</Link>
      </td>
      <td>
        <StatusBadge status={status} />
      </td>
      <td>{job.trustedAccountId}</td>
      <td class="wide-only truncate" title={job.pluginId}>
        {job.pluginId}
      </td>
      <td class="wide-only">{job.workspaceId === "*" ? "(domain)" : job.workspaceId}</td>
      <td>
        <time dateTime={job.createdAt} title={localTime(job.createdAt)}>
          {relativeTime(job.createdAt, now)}
        </time>
      </td>
      <td>{humanDuration(job.durationSeconds)}</td>
      <td class="wide-only detail-cell">
        {status === "IN_PROGRESS" ? (
          formatPercent(job.progressPercent)
        ) : job.errorCode || job.errorMessage ? (
          <span class="error-text" title={job.errorMessage}>
            {job.errorCode || job.errorMessage}
          </span>
        ) : (
          ""
        )}
      </td>
    </tr>
  );
}

/** ISO (UTC) <-> the local "YYYY-MM-DDTHH:MM" of a datetime-local input. */
function toLocalInput(iso: string): string {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function fromLocalInput(value: string): string {
  if (!value) return "";
  const t = new Date(value).getTime();
  return Number.isNaN(t) ? "" : new Date(t).toISOString();
}
