/**
 * Trends from `Job.stat`: jobs per status per day (stacked), failure rate per plugin, and the duration
 * distribution per plugin. A click on a bar (or a link in the table under each chart, which the
 * keyboard reaches) opens the history filtered to the jobs that bar counts.
 */
import type { ChartData, ChartOptions } from "chart.js";
import { useMemo } from "preact/hooks";
import { statJobs } from "../api.js";
import { formatCount, humanDuration } from "../lib/format.js";
import { type HistoryState, historySearch, STATUSES } from "../lib/history-state.js";
import { paths } from "../lib/routes.js";
import {
  DURATION_BUCKETS,
  dayLink,
  durationRequest,
  durationRows,
  failureRequest,
  failureRows,
  parseTrendDays,
  perDayRequest,
  perDaySeries,
  pluginLabel,
  pluginLink,
  TREND_DAYS,
} from "../lib/trends.js";
import { Link, navigate } from "../router.js";
import { useLoad } from "../use-load.js";
import { BarChart } from "./chart.js";

const STATUS_COLOURS: Record<string, string> = {
  PENDING: "#8c8c8c",
  IN_PROGRESS: "#2f6fdb",
  FAILURE: "#d0342c",
  SUCCESS: "#2e8b57",
  CANCELED: "#c58a00",
};
const BUCKET_COLOURS = ["#9ecae1", "#6baed6", "#3182bd", "#08519c", "#08306b"];

const historyHref = (state: HistoryState) => paths.history(historySearch(state));

export function Trends({ search }: { search: string }) {
  const days = parseTrendDays(search);
  const loaded = useLoad(
    async (signal) => {
      const now = new Date();
      const [perDay, failures, durations] = await Promise.all([
        statJobs(perDayRequest(days, now), signal),
        statJobs(failureRequest(days, now), signal),
        statJobs(durationRequest(days, now), signal),
      ]);
      return {
        now,
        perDay: perDaySeries(perDay, days, now),
        failures: failureRows(failures),
        durations: durationRows(durations),
      };
    },
    [days],
  );
  const data = loaded.data;

  const charts = useMemo(() => {
    if (!data) return null;
    const perDay: ChartData<"bar"> = {
      labels: data.perDay.days,
      datasets: STATUSES.map((s) => ({
        label: s,
        data: data.perDay.counts[s],
        backgroundColor: STATUS_COLOURS[s],
      })),
    };
    const failure: ChartData<"bar"> = {
      labels: data.failures.map((r) => pluginLabel(r.plugin)),
      datasets: [
        {
          label: "Failure rate (%)",
          data: data.failures.map((r) => Math.round(r.rate * 1000) / 10),
          backgroundColor: STATUS_COLOURS.FAILURE,
        },
      ],
    };
    const duration: ChartData<"bar"> = {
      labels: data.durations.map((r) => pluginLabel(r.plugin)),
      datasets: DURATION_BUCKETS.map((b, i) => ({
        label: b.label,
        data: data.durations.map((r) => r.buckets[i] ?? 0),
        backgroundColor: BUCKET_COLOURS[i],
      })),
    };
    return { perDay, failure, duration };
  }, [data]);

  return (
    <main id="main" class="trends">
      <h1>Trends</h1>
      <nav class="tabs" aria-label="Window">
        {TREND_DAYS.map((d) => (
          <Link
            key={d}
            class="tab"
            href={paths.trends(`?days=${d}`)}
            aria-current={d === days ? "true" : undefined}
          >
            {d} days
          </Link>
        ))}
      </nav>
      {loaded.error && (
        <p class="error" role="alert">
          {loaded.error}
        </p>
      )}
      {!data && !loaded.error && <p>Loading…</p>}
      {data && charts && (
        <>
          <section aria-labelledby="per-day-title">
            <h2 id="per-day-title">Jobs per status per day (UTC)</h2>
            <BarChart
              testId="chart-per-day"
              label="Stacked bars: jobs created each day, by status"
              data={charts.perDay}
              options={STACKED}
              onBarClick={(ds, i) => {
                const day = data.perDay.days[i];
                const status = STATUSES[ds];
                if (day && status) navigate(historyHref(dayLink(day, status)));
              }}
            />
            <details>
              <summary>Numbers</summary>
              <table class="numbers" data-testid="table-per-day">
                <thead>
                  <tr>
                    <th scope="col">Day</th>
                    {STATUSES.map((s) => (
                      <th key={s} scope="col">
                        {s}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {data.perDay.days.map((day, i) => (
                    <tr key={day} data-day={day}>
                      <th scope="row">{day}</th>
                      {STATUSES.map((s) => (
                        <td key={s} data-status={s} data-value={String(data.perDay.counts[s][i] ?? 0)}>
                          <Link href={historyHref(dayLink(day, s))}>
                            {formatCount(data.perDay.counts[s][i] ?? 0)}
                          </Link>
                        </td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </details>
          </section>
          <section aria-labelledby="failure-title">
            <h2 id="failure-title">Failure rate per plugin</h2>
            {data.failures.length === 0 ? (
              <p class="empty">No jobs in this window.</p>
            ) : (
              <BarChart
                testId="chart-failure"
                label="Bars: share of failed jobs per plugin"
                data={charts.failure}
                options={PERCENT}
                onBarClick={(_ds, i) => {
                  const row = data.failures[i];
                  if (row)
                    navigate(historyHref(pluginLink(row.plugin, days, data.now, { status: "FAILURE" })));
                }}
              />
            )}
            <details>
              <summary>Numbers</summary>
              <table class="numbers" data-testid="table-failure">
                <thead>
                  <tr>
                    <th scope="col">Plugin</th>
                    <th scope="col">Jobs</th>
                    <th scope="col">Failed</th>
                    <th scope="col">Rate</th>
                  </tr>
                </thead>
                <tbody>
                  {data.failures.map((r) => (
                    <tr
                      key={pluginLabel(r.plugin)}
                      data-plugin={r.plugin ?? ""}
                      data-total={String(r.total)}
                      data-failures={String(r.failures)}
                    >
                      <th scope="row">{pluginLabel(r.plugin)}</th>
                      <td>{formatCount(r.total)}</td>
                      <td>
                        <Link href={historyHref(pluginLink(r.plugin, days, data.now, { status: "FAILURE" }))}>
                          {formatCount(r.failures)}
                        </Link>
                      </td>
                      <td>{(r.rate * 100).toFixed(1)} %</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </details>
          </section>
          <section aria-labelledby="duration-title">
            <h2 id="duration-title">Duration of finished jobs per plugin</h2>
            {data.durations.length === 0 ? (
              <p class="empty">No finished jobs in this window.</p>
            ) : (
              <BarChart
                testId="chart-duration"
                label="Stacked bars: finished jobs per plugin by duration"
                data={charts.duration}
                options={STACKED}
                onBarClick={(_ds, i) => {
                  const row = data.durations[i];
                  if (row)
                    navigate(
                      historyHref(pluginLink(row.plugin, days, data.now, { sort: "duration_seconds" })),
                    );
                }}
              />
            )}
            <details>
              <summary>Numbers</summary>
              <table class="numbers" data-testid="table-duration">
                <thead>
                  <tr>
                    <th scope="col">Plugin</th>
                    {DURATION_BUCKETS.map((b) => (
                      <th key={b.name} scope="col">
                        {b.label}
                      </th>
                    ))}
                    <th scope="col">Average</th>
                    <th scope="col">Longest</th>
                  </tr>
                </thead>
                <tbody>
                  {data.durations.map((r) => (
                    <tr key={pluginLabel(r.plugin)} data-plugin={r.plugin ?? ""}>
                      <th scope="row">
                        <Link
                          href={historyHref(
                            pluginLink(r.plugin, days, data.now, { sort: "duration_seconds" }),
                          )}
                        >
                          {pluginLabel(r.plugin)}
                        </Link>
                      </th>
                      {r.buckets.map((n, i) => (
                        <td
                          key={DURATION_BUCKETS[i]?.name}
                          data-bucket={DURATION_BUCKETS[i]?.name}
                          data-value={String(n)}
                        >
                          {formatCount(n)}
                        </td>
                      ))}
                      <td>{humanDuration(r.average)}</td>
                      <td>{humanDuration(r.longest)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </details>
          </section>
        </>
      )}
    </main>
  );
}

const STACKED: ChartOptions<"bar"> = {
  scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } },
};

const PERCENT: ChartOptions<"bar"> = {
  indexAxis: "y",
  scales: { x: { beginAtZero: true, max: 100 } },
  plugins: { legend: { display: false } },
};
