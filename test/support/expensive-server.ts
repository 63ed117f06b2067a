/**
 * The app as a child process for the expensive-request suite (test/hardening/expensive.test.ts): run
 * compiled (`build-child.ts`) with `node --max-old-space-size=256 --expose-gc`. It serves EXPENSIVE_JOBS seeded jobs,
 * takes the limit settings (docs/limits.md) from its environment, sends `{ready, url, member, jobId}`
 * over IPC (a WORKSPACE_MEMBER token of the busiest workspace and one of its jobs), and answers
 * `"mem"` with its heap and RSS after a full GC, `"rss"` with them as they are.
 */
import { limitsSchema } from "../../src/config-limits.js";
import { FIRST_SEED_DOMAIN, generateJobs, seedWorld } from "../../src/seed/generate.js";
import { startAppServer } from "./app-server.js";

const send = (message: unknown) => process.send?.(message);
const SEED = 7;

const env: Record<string, string> = {};
for (const key of [
  ...Object.keys(limitsSchema),
  "MAX_TIMEOUT_MS",
  "MAX_PAGE_SIZE",
  "DATABASE_READ_WORKERS",
  "DATABASE_READ_WORKER_HEAP_MB",
]) {
  const value = process.env[key];
  if (value !== undefined) env[key] = value;
}

const now = new Date();
const jobs = [...generateJobs({ count: Number(process.env.EXPENSIVE_JOBS ?? 2000), seed: SEED, now })];
const server = await startAppServer({ jobs, env, now: () => new Date() });
const workspace = seedWorld(SEED).find((d) => d.domainId === FIRST_SEED_DOMAIN)?.workspaceIds[0] as string;
const mine = jobs.filter((j) => j.domain_id === FIRST_SEED_DOMAIN && j.workspace_id === workspace);
const gc = (globalThis as { gc?: () => void }).gc;

process.on("message", async (message) => {
  if (message === "mem" || message === "rss") {
    // "rss" measures without a GC, so the measurement does not pause the server under test.
    if (message === "mem") {
      gc?.();
      gc?.();
    }
    const { heapUsed, rss } = process.memoryUsage();
    send({ mem: { heapUsed, rss } });
  } else if (message === "stop") {
    await server.close();
    process.exit(0);
  }
});

send({
  ready: true,
  url: server.url,
  jobs: mine.length,
  jobId: mine[0]?.job_id,
  member: await server.token("WORKSPACE_MEMBER", FIRST_SEED_DOMAIN, workspace),
});
