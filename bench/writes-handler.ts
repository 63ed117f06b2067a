/**
 * `npx tsx bench/writes-handler.ts [--writers N] [--reports N] [--rounds N]`: the CPU of one progress
 * report in the process, from the request message to the answer's bytes: `--writers` concurrent
 * callers (default 6, groups of about the size seen over the wire) call the `report_progress` handler
 * (`jobLifecycleHandlers`, Connect JSON context that takes self-encoded answers) on a scratch
 * `SqliteStore` (the service's pragmas, group commit), and each answer is encoded to JSON as the unary
 * path does. What is left out is exactly the per-call wire path (HTTP, Connect's envelope and request
 * parsing, observability): the difference to `lifecycle.progress_write_server_cpu_us` is that path.
 * Prints the process's CPU per report; on a loaded machine compare rounds of one run, or interleave runs.
 */
import fs from "node:fs";
import path from "node:path";
import { fromJson, toJsonString } from "@bufbuild/protobuf";
import { createContextValues, createHandlerContext } from "@connectrpc/connect";
import {
  JobLifecycle,
  ReportJobProgressRequestSchema,
} from "../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import { type JobInfo, JobInfoSchema } from "../gen/spaceone/api/identity/v2/job_pb.js";
import { generateJobs, insertJobs } from "../src/seed/generate.js";
import { JobLifecycleService } from "../src/service/job-lifecycle.js";
import { openDatabase } from "../src/storage/database.js";
import { SqliteStore } from "../src/storage/sqlite/sqlite-store.js";
import { principalKey } from "../src/wire/job-handlers.js";
import { jobLifecycleHandlers } from "../src/wire/job-lifecycle-handlers.js";
import { acceptsSelfEncodedKey, selfEncoderOf } from "../src/wire/unary/self-encoded.js";
import { fmt } from "./core/figure.js";
import { runScratchRounds } from "./core/scratch-rounds.js";
import { SEED_NOW } from "./core/workload.js";
import { startedJobs, WORKER } from "./scenarios/lifecycle-writes.js";

const JSON_WRITE = { useProtoFieldName: true } as const;

function context() {
  const values = createContextValues();
  values.set(principalKey, WORKER);
  values.set(acceptsSelfEncodedKey, true);
  return createHandlerContext({
    service: JobLifecycle,
    method: JobLifecycle.method.report_progress,
    protocolName: "connect",
    requestMethod: "POST",
    url: "http://127.0.0.1/spaceone.api.identity.v2.JobLifecycle/report_progress",
    requestHeader: { "content-type": "application/json" },
    contextValues: values,
  });
}

/** The answer's bytes, as the unary path writes them (the encoder's, else protobuf-es's JSON). */
async function answerBytes(answer: JobInfo): Promise<number> {
  const encoder = selfEncoderOf(answer);
  if (!encoder) return Buffer.byteLength(toJsonString(JobInfoSchema, answer, JSON_WRITE));
  let bytes = 0;
  for await (const piece of encoder.json(Number.MAX_SAFE_INTEGER)) bytes += piece.length;
  return bytes;
}

async function round(dir: string, writers: number, reports: number): Promise<string> {
  const file = path.join(dir, "writes-handler.db");
  const store = new SqliteStore(openDatabase({ file }), { ownsConnection: true });
  insertJobs(store.db, generateJobs({ count: 2000, now: SEED_NOW }));
  try {
    const service = new JobLifecycleService(store, { duplicateWindowMs: 600_000 });
    const handlers = jobLifecycleHandlers(service);
    const ctx = context();
    const ids = await startedJobs(service, writers);
    const run = async (count: number) => {
      let left = count;
      await Promise.all(
        ids.map(async (jobId) => {
          for (let n = 1; left-- > 0; n++) {
            const request = fromJson(ReportJobProgressRequestSchema, {
              job_id: jobId,
              progress_percent: n % 100,
              current_step: "collecting",
              records_processed: n,
            });
            // The handlers answer whole messages (ours never a MessageInit).
            await answerBytes((await handlers.report_progress(request, ctx)) as JobInfo);
          }
        }),
      );
    };
    await run(Math.min(3000, reports)); // warm-up: the statements prepared, the code optimized
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    await run(reports);
    const seconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return `${fmt(reports / seconds)} reports/s, ${fmt((cpu.user + cpu.system) / reports)} µs CPU per report`;
  } finally {
    await store.close();
    for (const suffix of ["", "-wal", "-shm"]) fs.rmSync(`${file}${suffix}`, { force: true });
  }
}

runScratchRounds("writes-handler", { reports: 20_000 }, async ({ dir, writers, reports }) => [
  await round(dir, writers, reports),
]);
