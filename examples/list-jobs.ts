/**
 * A generated TypeScript client: list the newest failed jobs, then get one.
 *
 *   export TOKEN=$(npm run -s token)
 *   npx tsx examples/list-jobs.ts
 *
 * BASE_URL defaults to http://127.0.0.1:8080. Over HTTP/2 with the binary format, or gRPC, swap the
 * transport: createConnectTransport({ httpVersion: "2", useBinaryFormat: true }) or createGrpcTransport.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Job, JobInfo_Status, JobsQuery_JobStatus } from "../gen/spaceone/api/identity/v2/job_pb.js";

const token = process.env.TOKEN;
if (!token) {
  process.stderr.write("set TOKEN first: export TOKEN=$(npm run -s token)\n");
  process.exit(2);
}
const baseUrl = process.env.BASE_URL ?? "http://127.0.0.1:8080";
const client = createClient(Job, createConnectTransport({ baseUrl, httpVersion: "1.1" }));
const headers = { token };

const failed = await client.list(
  {
    status: JobsQuery_JobStatus.FAILURE,
    query: { sort: [{ key: "created_at", desc: true }], page: { start: 1, limit: 3 } },
  },
  { headers },
);
console.log(`${failed.totalCount} failed jobs; newest three:`);
for (const job of failed.results) {
  console.log(`  ${job.jobId}  ${job.createdAt}  ${job.trustedAccountId}  ${job.errorMessage}`);
}

const first = failed.results[0];
if (first) {
  const job = await client.get({ jobId: first.jobId }, { headers });
  console.log(`get ${job.jobId}: status ${JobInfo_Status[job.status]}, plugin ${job.pluginId}`);
}

try {
  await client.get({ jobId: "job-000000000000" }, { headers });
} catch (error) {
  const e = ConnectError.from(error);
  console.log(`get of an unknown job: ${Code[e.code]} (${e.rawMessage})`);
}
