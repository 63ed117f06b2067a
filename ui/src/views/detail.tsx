/** One job: every field, its options, its error, the event timeline, and cancel where the role allows. */
import { toJson } from "@bufbuild/protobuf";
import { useState } from "preact/hooks";
import { JobInfo_Status, JobInfoSchema } from "../../../gen/spaceone/api/identity/v2/job_pb.js";
import { describeError, jobs, lifecycle } from "../api.js";
import { humanDuration, localTime, relativeTime } from "../lib/format.js";
import type { TokenClaims } from "../lib/jwt.js";
import { cancelVerdict } from "../lib/permissions.js";
import { paths } from "../lib/routes.js";
import { Link } from "../router.js";
import { useLoad, useNow } from "../use-load.js";
import { ProgressBar, StatusBadge } from "./status-badge.js";

const TIME_FIELDS = new Set([
  "created_at",
  "updated_at",
  "finished_at",
  "started_at",
  "heartbeat_at",
  "cancel_requested_at",
]);

/** Shown in its own section; the field list has every other JobInfo field, set or not. */
const OWN_SECTION = new Set(["options"]);

export function Detail({ jobId, claims }: { jobId: string; claims: TokenClaims }) {
  const now = useNow(10_000);
  const loaded = useLoad(
    async (signal) => {
      const [job, events] = await Promise.all([
        jobs.get({ jobId }, { signal }),
        lifecycle.list_events({ jobId }, { signal }),
      ]);
      return { job, events: events.results };
    },
    [jobId],
  );

  if (!loaded.data) {
    return (
      <main id="main">
        <p>
          <Link href={paths.history()}>← History</Link>
        </p>
        <h1>Job {jobId}</h1>
        {loaded.error ? (
          <p class="error" role="alert">
            {loaded.error}
          </p>
        ) : (
          <p>Loading…</p>
        )}
      </main>
    );
  }
  const { job, events } = loaded.data;
  const status = JobInfo_Status[job.status] ?? "NONE";
  const fields = toJson(JobInfoSchema, job, { useProtoFieldName: true, alwaysEmitImplicit: true }) as Record<
    string,
    unknown
  >;

  return (
    <main id="main" class="detail">
      <p>
        <Link href={paths.history()}>← History</Link>
      </p>
      <h1>
        Job <code>{job.jobId}</code> <StatusBadge status={status} />
      </h1>
      {status === "IN_PROGRESS" && (
        <p>
          <ProgressBar percent={job.progressPercent} label="Progress" /> {job.currentStep}
        </p>
      )}
      {(job.errorCode || job.errorMessage) && (
        <section class="error-box" aria-labelledby="error-title">
          <h2 id="error-title">Error</h2>
          {job.errorCode && (
            <p>
              <code data-testid="error-code">{job.errorCode}</code>
            </p>
          )}
          <p data-testid="error-message">{job.errorMessage}</p>
        </section>
      )}
      <div class="detail-grid">
        <section aria-labelledby="fields-title">
          <h2 id="fields-title">Fields</h2>
          <dl class="fields">
            {JobInfoSchema.fields
              .map((f) => [f.name, fields[f.name]] as const)
              .filter(([name]) => !OWN_SECTION.has(name))
              .map(([name, value]) => (
                <div key={name} data-field={name}>
                  <dt>{name}</dt>
                  <dd>
                    <FieldValue name={name} value={value} now={now} />
                  </dd>
                </div>
              ))}
          </dl>
          <h2>Options</h2>
          <pre class="options" data-testid="options">
            {JSON.stringify(fields.options ?? {}, null, 2)}
          </pre>
        </section>
        <section aria-labelledby="timeline-title">
          <h2 id="timeline-title">Timeline</h2>
          <ol class="timeline">
            {events.map((e) => (
              <li key={e.seq} data-action={e.action}>
                <time dateTime={e.createdAt} title={localTime(e.createdAt)}>
                  {localTime(e.createdAt)}
                </time>{" "}
                <strong>{e.action}</strong> {e.fromStatus ? `${JobInfo_Status[e.fromStatus]} → ` : ""}
                {JobInfo_Status[e.toStatus]}
                {e.actor && <span class="muted"> by {e.actor}</span>}
                {e.reason && <div class="reason">{e.reason}</div>}
              </li>
            ))}
          </ol>
          <Cancel claims={claims} job={{ ...job, status }} onDone={loaded.reload} />
        </section>
      </div>
    </main>
  );
}

function FieldValue({ name, value, now }: { name: string; value: unknown; now: Date }) {
  if (value === undefined || value === null || value === "") return <span class="muted">—</span>;
  if (TIME_FIELDS.has(name) && typeof value === "string") {
    return (
      <time dateTime={value} title={value}>
        {localTime(value)} <span class="muted">({relativeTime(value, now)})</span>
      </time>
    );
  }
  if (name === "duration_seconds" && typeof value === "number") return <>{humanDuration(value)}</>;
  if (typeof value === "object") return <code>{JSON.stringify(value)}</code>;
  return <>{String(value)}</>;
}

function Cancel(props: {
  claims: TokenClaims;
  job: { jobId: string; status: string; workspaceId: string; cancelRequestedAt: string; version: number };
  onDone: () => void;
}) {
  const { claims, job, onDone } = props;
  const [reason, setReason] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const verdict = cancelVerdict(claims, job);
  return (
    <section class="cancel" aria-labelledby="cancel-title">
      <h2 id="cancel-title">Cancel</h2>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError("");
          try {
            await lifecycle.cancel({ jobId: job.jobId, reason: reason.trim(), expectedVersion: job.version });
            setReason("");
            onDone();
          } catch (err) {
            setError(describeError(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <label for="cancel-reason">Reason</label>
        <input
          id="cancel-reason"
          name="reason"
          maxLength={500}
          disabled={!verdict.allowed}
          value={reason}
          onInput={(e) => setReason((e.target as HTMLInputElement).value)}
          aria-describedby="cancel-why"
        />
        <button type="submit" class="danger" disabled={!verdict.allowed || busy}>
          {busy ? "Canceling…" : "Cancel job"}
        </button>
        <p id="cancel-why" class="muted" data-testid="cancel-why">
          {verdict.allowed
            ? "PENDING jobs stop at once; a running job's worker is asked to stop."
            : verdict.reason}
        </p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </section>
  );
}
