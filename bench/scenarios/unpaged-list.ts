/**
 * The web console's call (issue 10): every job of one trusted account, no query and no page,
 * `POST /identity/job/list {"trusted_account_id": ...}` on a database where that account has
 * `--unpaged-jobs` jobs (default 50,000). Measures the time of the whole answer and how much the
 * server's peak RSS grows while it builds it, on a fresh server (so the growth is this call's).
 *
 * Until the service returns every row, it refuses more than its unpaged maximum: the figures then say
 * "not measurable yet" with the service's error, and start measuring by themselves when it changes.
 */
import Database from "better-sqlite3";
import { figure, fmt } from "../core/figure.js";
import { serverLatency } from "../core/latency.js";
import { memoryOf } from "../core/proc.js";
import type { Scenario } from "../core/scenario.js";
import { seedDatabase } from "../core/seed.js";
import { startRealServer } from "../core/service.js";
import { BENCH_DOMAIN } from "../core/workload.js";

export const UNPAGED_ACCOUNT = "ta-bench-unpaged";
const REST_LIST = "/identity/job/list";

export const unpagedListScenario: Scenario = {
  name: "unpaged_list",
  title: "the console's unpaged list of one trusted account's jobs",
  async run(ctx) {
    const jobs = ctx.o.unpagedJobs;
    const seeded = seedDatabase(ctx.workDir, jobs, ctx.log, {
      name: "unpaged",
      map: (job) => ({ ...job, domain_id: BENCH_DOMAIN, trusted_account_id: UNPAGED_ACCOUNT }),
    });
    // The raw baseline: the same rows read and turned into JSON text in this process.
    const db = new Database(seeded.file, { readonly: true });
    const rawStmt = db.prepare(
      "SELECT * FROM jobs WHERE domain_id = ? AND trusted_account_id = ? ORDER BY created_at DESC",
    );
    const raw = () => JSON.stringify(rawStmt.all(BENCH_DOMAIN, UNPAGED_ACCOUNT));
    const server = await startRealServer({ dataDir: ctx.workDir, dbFile: seeded.file, pinning: ctx.pinning });
    ctx.track(server.child);
    try {
      const before = memoryOf(server.child.pid);
      const budget = { minIterations: 3, minMs: 0, maxIterations: ctx.o.quick ? 3 : 5, warmup: 0 };
      const r = await serverLatency(
        `${server.baseUrl}${REST_LIST}`,
        ctx.token,
        { trusted_account_id: UNPAGED_ACCOUNT },
        budget,
        raw,
      );
      const after = memoryOf(server.child.pid);
      const common = { unit: "ms", baselineName: "raw SQL of the same rows + JSON.stringify, alongside" };
      const title = `unpaged list of ${jobs.toLocaleString("en-US")} jobs of one trusted account (REST, the console's call)`;
      const growthTitle = `server peak RSS growth during the unpaged list of ${jobs.toLocaleString("en-US")} jobs`;
      if (!r.ok) {
        const reason = `the service answers HTTP ${r.status} ${r.error.code ?? ""}: ${(r.error.message ?? "").slice(0, 200)}`;
        ctx.log(`    unpaged list: ${reason}`);
        const missing = { value: null, status: "not measurable yet", note: reason } as const;
        return [
          figure({ name: "unpaged_list.p50_ms", title, ...common, ...missing }),
          figure({ name: "unpaged_list.peak_rss_growth_mb", title: growthTitle, unit: "MB", ...missing }),
        ];
      }
      const results = (r.first as { results?: { created_at?: string }[] }).results ?? [];
      const newest = (rawStmt.get(BENCH_DOMAIN, UNPAGED_ACCOUNT) as { created_at: string }).created_at;
      const problems: string[] = [];
      if (results.length !== jobs) problems.push(`ANSWER HAS ${results.length} ROWS, NOT ${jobs}`);
      if (results[0]?.created_at !== newest) problems.push("RESULTS[0] IS NOT THE NEWEST JOB");
      const growth = after.peakMb !== null && before.peakMb !== null ? after.peakMb - before.peakMb : null;
      ctx.log(
        `    unpaged list of ${jobs}: p50 ${fmt(r.p50)} ms (raw ${fmt(r.baselineP50)} ms), ` +
          `peak RSS ${fmt(before.peakMb)} -> ${fmt(after.peakMb)} MB${problems.length ? `; ${problems.join("; ")}` : ""}`,
      );
      return [
        figure({
          name: "unpaged_list.p50_ms",
          title,
          value: r.p50,
          baseline: r.baselineP50,
          ...common,
          note: [`${r.samples} calls`, ...problems].join("; "),
        }),
        figure({
          name: "unpaged_list.peak_rss_growth_mb",
          title: growthTitle,
          value: growth,
          unit: "MB",
          note: `VmHWM ${fmt(before.peakMb)} MB before the first call, ${fmt(after.peakMb)} MB after`,
        }),
      ];
    } finally {
      db.close();
      await server.child.stop();
    }
  },
};
