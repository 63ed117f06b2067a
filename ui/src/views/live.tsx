/**
 * Live: the running jobs, updated in place by `JobLifecycle.watch` (Connect server streaming over
 * fetch): first a snapshot of what runs now, then every change. A dropped stream resumes from the
 * last cursor after a short, growing pause, with a visible "Reconnecting" indicator; no polling.
 */
import { fromJson } from "@bufbuild/protobuf";
import { useEffect, useRef, useState } from "preact/hooks";
import {
  JobWatchEvent_Type,
  WatchJobsRequestSchema,
} from "../../../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import { type JobInfo, JobInfo_Status } from "../../../gen/spaceone/api/identity/v2/job_pb.js";
import { Code, ConnectError, describeError, lifecycle, listJobs } from "../api.js";
import { type Connection, type FollowOptions, follow } from "../lib/follow.js";
import { formatCount, formatRate, humanDuration, relativeTime } from "../lib/format.js";
import { type LiveEventType, LiveModel, type LiveRow } from "../lib/live-model.js";
import { paths } from "../lib/routes.js";
import { Link } from "../router.js";
import { session } from "../session.js";
import { useNow } from "../use-load.js";
import { ProgressBar, StatusBadge } from "./status-badge.js";

/** Rows drawn at most; more running jobs than this are counted, not drawn. */
const MAX_ROWS = 200;

/** JobInfo with its enum status as a name, which is what the model and the rows read. */
type ViewJob = Omit<JobInfo, "status"> & { status: string; statusCode: JobInfo_Status };

const toView = (job: JobInfo): ViewJob => ({
  ...job,
  status: JobInfo_Status[job.status] ?? "NONE",
  statusCode: job.status,
});

export function Live() {
  const model = useRef(new LiveModel<ViewJob>()).current;
  const [connection, setConnection] = useState<Connection>({ state: "connecting" });
  const [, setTick] = useState(0);
  const now = useNow(5_000);

  useEffect(() => {
    const controller = new AbortController();
    let frame = 0;
    const redraw = () => {
      if (frame === 0)
        frame = requestAnimationFrame(() => {
          frame = 0;
          setTick((t) => t + 1);
        });
    };
    void follow(followOptions(model, setConnection, redraw), controller.signal);
    return () => {
      controller.abort();
      cancelAnimationFrame(frame);
    };
  }, [model]);

  const running = model.runningRows();
  const finished = model.finishedRows();
  return (
    <main id="main" class="live">
      <h1>
        Live <ConnectionBadge connection={connection} />
      </h1>
      {connection.state === "unavailable" && <Fallback reason={connection.reason} />}
      <section aria-labelledby="running-title" hidden={connection.state === "unavailable"}>
        <h2 id="running-title">
          Running{" "}
          <span class="count" data-testid="running-count">
            {formatCount(model.runningCount)}
          </span>
        </h2>
        {model.synced && running.length === 0 && <p class="empty">No job is running.</p>}
        <ul class="live-list">
          {running.slice(0, MAX_ROWS).map((row) => (
            <LiveItem key={row.job.jobId} row={row} now={now} />
          ))}
        </ul>
        {running.length > MAX_ROWS && (
          <p class="muted">
            Showing the {MAX_ROWS} oldest of {formatCount(running.length)} running jobs.
          </p>
        )}
      </section>
      {finished.length > 0 && (
        <section aria-labelledby="finished-title">
          <h2 id="finished-title">Finished while you watched</h2>
          <ul class="live-list">
            {finished.map((row) => (
              <LiveItem key={row.job.jobId} row={row} now={now} />
            ))}
          </ul>
        </section>
      )}
    </main>
  );
}

/** Connect's stream and error codes, for `follow`. */
function followOptions(
  model: LiveModel<ViewJob>,
  setConnection: (c: Connection) => void,
  redraw: () => void,
): FollowOptions<ViewJob> {
  return {
    model,
    async *watch(request, signal) {
      for await (const event of lifecycle.watch(fromJson(WatchJobsRequestSchema, request), { signal })) {
        yield {
          type: JobWatchEvent_Type[event.type] as LiveEventType | undefined,
          cursor: event.cursor,
          job: event.job ? toView(event.job) : undefined,
          matches: event.matches,
        };
      }
    },
    classify(error) {
      const err = ConnectError.from(error);
      const message = describeError(err);
      switch (err.code) {
        case Code.Unauthenticated:
          return { kind: "unauthenticated", message };
        case Code.Unimplemented:
          return { kind: "unimplemented", message: "this server does not offer JobLifecycle.watch" };
        case Code.PermissionDenied:
        case Code.InvalidArgument:
          return { kind: "refused", message };
        case Code.OutOfRange:
          return { kind: "cursor_too_old", message };
        default:
          return { kind: "transient", message };
      }
    },
    setConnection,
    redraw,
    onUnauthenticated: (message) => session.signOut(message),
    sleep,
    now: () => Date.now(),
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function ConnectionBadge({ connection }: { connection: Connection }) {
  const text = {
    connecting: "Connecting…",
    live: "Live",
    reconnecting: "Reconnecting…",
    unavailable: "Live updates unavailable",
  }[connection.state];
  const title = "reason" in connection ? connection.reason : undefined;
  return (
    <span
      class={`conn conn-${connection.state}`}
      role="status"
      data-testid="connection"
      data-state={connection.state}
      title={title}
    >
      {text}
      {"reason" in connection && <span class="visually-hidden"> ({connection.reason})</span>}
    </span>
  );
}

function LiveItem({ row, now }: { row: LiveRow<ViewJob>; now: Date }) {
  const { job } = row;
  const running = job.status === "IN_PROGRESS" || job.status === "PENDING";
  return (
    <li class="live-item" data-job-id={job.jobId} data-status={job.status}>
      <div class="live-head">
        <Link href={paths.job(job.jobId)}>{job.jobId}</Link> <StatusBadge status={job.status} />
        <span class="muted">
          {job.pluginId} · {job.trustedAccountId} · {job.startedAt ? "started" : "created"}{" "}
          {relativeTime(job.startedAt || job.createdAt, now)}
        </span>
      </div>
      <ProgressBar
        percent={job.status === "SUCCESS" ? 100 : job.progressPercent}
        label={`Progress of ${job.jobId}`}
      />
      <div class="live-stats">
        {job.currentStep && <span data-testid="step">{job.currentStep}</span>}
        {job.recordsProcessed !== undefined && (
          <span>
            {formatCount(job.recordsProcessed)}
            {job.recordsTotal !== undefined ? ` / ${formatCount(job.recordsTotal)}` : ""} records
          </span>
        )}
        {running && row.rate !== null && <span>{formatRate(row.rate)}</span>}
        {running && row.etaSeconds !== null && <span>ETA {humanDuration(row.etaSeconds) || "< 1 s"}</span>}
        {job.cancelRequestedAt && <span class="error-text">cancel requested</span>}
        {!running && job.errorCode && <span class="error-text">{job.errorCode}</span>}
      </div>
    </li>
  );
}

/** Without watch, the running jobs once, on request: visibly not live. */
function Fallback({ reason }: { reason: string }) {
  const [rows, setRows] = useState<JobInfo[] | null>(null);
  const [error, setError] = useState("");
  const load = () =>
    listJobs({
      query: {
        filter: [{ k: "status", v: ["PENDING", "IN_PROGRESS"], o: "in" }],
        sort: [{ key: "created_at" }],
        page: { limit: MAX_ROWS },
      },
    }).then(
      (answer) => setRows(answer.results),
      (e: unknown) => setError(describeError(e)),
    );
  useEffect(() => void load(), []);
  return (
    <section class="warning">
      <p role="alert">
        Live updates are unavailable ({reason}). These are the running jobs as of the last refresh; they do
        not update by themselves.
      </p>
      <button type="button" onClick={() => void load()}>
        Refresh
      </button>
      {error && <p class="error">{error}</p>}
      {rows && (
        <ul class="live-list">
          {rows.map((job) => (
            <li
              key={job.jobId}
              class="live-item"
              data-job-id={job.jobId}
              data-status={JobInfo_Status[job.status] ?? ""}
            >
              <Link href={paths.job(job.jobId)}>{job.jobId}</Link>{" "}
              <StatusBadge status={JobInfo_Status[job.status] ?? ""} />{" "}
              <ProgressBar percent={job.progressPercent} label={`Progress of ${job.jobId}`} />{" "}
              <span data-testid="step">{job.currentStep}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
