/**
 * An example collector: what a plugin worker does with the JobLifecycle API, using the generated
 * TypeScript client. It creates a job (with an idempotency key, so retrying the create is safe),
 * starts it, reports progress every half second for a few seconds, stops if a user cancels the job,
 * and finishes it. It learns of a cancel at once from a `watch` on its own job (the answer to its next
 * progress report says so too, up to half a second later). docs/lifecycle.md walks through it next
 * to the curl calls; docs/watch.md describes watch.
 *
 *   TOKEN=$(npm run -s token -- --system) SECONDS=20 TRUSTED_ACCOUNT_ID=ta-example npx tsx examples/collector.ts
 *
 * Environment:
 *   TOKEN               a SYSTEM_TOKEN, or an app token whose permissions grant identity:Job.execute (required)
 *   BASE_URL            the service (default http://127.0.0.1:8080)
 *   DOMAIN_ID           sent as x_domain_id: the domain a system token acts for (default: the token's did)
 *   TRUSTED_ACCOUNT_ID  default ta-example
 *   WORKSPACE_ID        a WORKSPACE job in this workspace; unset: a DOMAIN job
 *   SECONDS             how long the pretend collection runs (default 5)
 */
import { randomUUID } from "node:crypto";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { JobLifecycle, JobWatchEvent_Type } from "../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import {
  type JobInfo,
  JobInfo_ResourceGroup,
  JobInfo_Status,
} from "../gen/spaceone/api/identity/v2/job_pb.js";

const token = process.env.TOKEN;
if (!token) {
  process.stderr.write("TOKEN is required: a system token, or an app token with identity:Job.execute\n");
  process.exit(2);
}
const baseUrl = process.env.BASE_URL ?? "http://127.0.0.1:8080";
const trustedAccountId = process.env.TRUSTED_ACCOUNT_ID ?? "ta-example";
const workspaceId = process.env.WORKSPACE_ID;
const seconds = Number(process.env.SECONDS ?? 5);
const headers: Record<string, string> = { token };
if (process.env.DOMAIN_ID) headers.x_domain_id = process.env.DOMAIN_ID;

const client = createClient(JobLifecycle, createConnectTransport({ baseUrl, httpVersion: "1.1" }));
const say = (job: JobInfo, what: string) =>
  process.stdout.write(`${job.jobId} ${JobInfo_Status[job.status]} v${job.version}  ${what}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Create, retrying transient failures with the same idempotency key: never two jobs for one run. */
async function createJob(): Promise<JobInfo> {
  const idempotencyKey = `collector-${trustedAccountId}-${randomUUID()}`;
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.create(
        {
          trustedAccountId,
          pluginId: "plugin-example",
          resourceGroup: workspaceId ? JobInfo_ResourceGroup.WORKSPACE : JobInfo_ResourceGroup.DOMAIN,
          workspaceId,
          options: { example: true },
          idempotencyKey,
        },
        { headers },
      );
    } catch (error) {
      const code = ConnectError.from(error).code;
      if (attempt >= 3 || (code !== Code.Unavailable && code !== Code.DeadlineExceeded)) throw error;
      await sleep(250 * attempt);
    }
  }
}

async function main(): Promise<void> {
  let job = await createJob();
  say(job, "created");
  if (job.status !== JobInfo_Status.PENDING) {
    // Upstream's duplicate rule: another job of this trusted account is still running.
    say(job, `not started: ${job.errorCode} ${job.errorMessage}`);
    process.exitCode = 1;
    return;
  }
  job = await client.start({ jobId: job.jobId, expectedVersion: job.version }, { headers });
  say(job, "started");

  // Follow this job live: a cancel request shows up here the moment a user makes it.
  const following = new AbortController();
  let cancelRequested = false;
  const jobId = job.jobId;
  const watching = (async () => {
    try {
      for await (const event of client.watch({ jobId }, { headers, signal: following.signal })) {
        if (event.type === JobWatchEvent_Type.UPDATED && event.job?.cancelRequestedAt && !cancelRequested) {
          cancelRequested = true;
          process.stdout.write(`${jobId} watch: cancel requested by ${event.event?.actor ?? "?"}\n`);
        }
      }
    } catch (error) {
      // The progress answers still carry cancel_requested_at: the watch only makes it faster.
      if (!following.signal.aborted) {
        process.stderr.write(`watch ended: ${ConnectError.from(error).rawMessage}\n`);
      }
    }
  })();
  try {
    await collect(job, () => cancelRequested);
  } finally {
    following.abort();
    await watching;
  }
}

/** The pretend collection. `canceled()` is true once the watch saw a cancel request. */
async function collect(started: JobInfo, canceled: () => boolean): Promise<void> {
  let job = started;
  // Ctrl-C: tell the service the job failed, rather than leaving it to the reaper.
  let interrupted = false;
  process.once("SIGINT", () => {
    interrupted = true;
  });

  const total = 200;
  const ticks = Math.max(1, Math.round(seconds * 2));
  let processed = 0;
  for (let tick = 1; tick <= ticks; tick++) {
    // Half a second of work, cut short by a cancel request.
    for (let slice = 0; slice < 10 && !canceled() && !interrupted; slice++) await sleep(50);
    if (interrupted) {
      job = await client.fail(
        { jobId: job.jobId, errorCode: "ERROR_COLLECTOR_INTERRUPTED", errorMessage: "collector interrupted" },
        { headers },
      );
      say(job, "interrupted");
      return;
    }
    if (!canceled()) {
      processed = Math.round((total * tick) / ticks);
      job = await client.report_progress(
        {
          jobId: job.jobId,
          progressPercent: (100 * processed) / total,
          currentStep: tick < ticks / 2 ? "listing accounts" : "syncing service accounts",
          recordsProcessed: processed,
          recordsTotal: total,
          recordsCreated: Math.floor(processed / 10),
          recordsUpdated: Math.floor(processed / 4),
          recordsDeleted: 0,
        },
        { headers },
      );
      say(
        job,
        `${job.progressPercent?.toFixed(0)}% ${job.currentStep} (${job.recordsProcessed}/${job.recordsTotal})`,
      );
    }
    if (canceled() || job.cancelRequestedAt) {
      // A user asked to stop: stop, and confirm by failing; the job ends CANCELED.
      job = await client.fail(
        { jobId: job.jobId, errorCode: "ERROR_JOB_CANCELED", errorMessage: "stopped on request" },
        { headers },
      );
      say(job, `canceled by ${job.canceledBy}: ${job.cancelReason}`);
      return;
    }
  }
  job = await client.succeed(
    { jobId: job.jobId, recordsProcessed: processed, recordsTotal: total },
    { headers },
  );
  say(job, `finished in ${job.durationSeconds} s`);
}

main().catch((error: unknown) => {
  const e = ConnectError.from(error);
  process.stderr.write(`collector failed: [${Code[e.code]}] ${e.rawMessage}\n`);
  process.exit(1);
});
