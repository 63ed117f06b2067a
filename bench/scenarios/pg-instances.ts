/**
 * Two service instances vs one on the run's PostgreSQL database: `get` over Connect JSON (HTTP/1.1,
 * autocannon, the run's connections split over the instances), each instance its own process, and
 * the CPU each side spends per request: the service processes (/proc/<pid>/stat) and the PostgreSQL
 * backends serving the database (their pids from pg_stat_activity). The instances are not pinned
 * (two instances on one pinned core would say nothing); the load generators stay on the client CPU.
 * On a 2-core machine that also runs PostgreSQL and the load generator, these say where the ceiling is.
 */
import pg from "pg";
import type { BenchContext } from "../core/context.js";
import { CannotMeasure } from "../core/errors.js";
import { type Figure, figure, fmt } from "../core/figure.js";
import { LOAD_H1 } from "../core/load.js";
import { backendCpu, backendCpuSpent } from "../core/postgres.js";
import type { RunRecord } from "../core/report.js";
import type { Scenario } from "../core/scenario.js";
import { type RealServer, startRealServer } from "../core/service.js";
import { GET_PATH } from "../core/workload.js";
import type { H1LoadSpec } from "../load/h1.js";

interface Side {
  rps: number;
  serviceCpuUs: number | null;
  postgresCpuUs: number;
}

const METRICS = ["rps", "service_cpu_us", "postgres_cpu_us"] as const;

function unavailable(reason: string): Figure[] {
  return ["one", "two"].flatMap((n) =>
    METRICS.map((m) =>
      figure({
        name: `pg_instances.${n}.${m}`,
        title: m,
        value: null,
        unit: m === "rps" ? "req/s" : "µs",
        note: reason,
      }),
    ),
  );
}

async function loadAll(
  ctx: BenchContext,
  servers: RealServer[],
  database: string,
  admin: pg.Client,
): Promise<Side> {
  const connections = Math.max(1, Math.ceil(ctx.o.connections / servers.length));
  const spec = (s: RealServer): H1LoadSpec => ({
    url: `${s.baseUrl}${GET_PATH}`,
    headers: { authorization: `Bearer ${ctx.token}`, "content-type": "application/json" },
    body: JSON.stringify({ job_id: ctx.jobId }),
    connections,
    durationS: ctx.o.durationS,
    warmupS: ctx.o.warmupS,
  });
  // Open each instance's pool connections first, so backend start-up is not billed to the requests.
  await Promise.all(
    servers.flatMap((s) =>
      Array.from({ length: connections }, async () => {
        for (let i = 0; i < 5; i++) {
          const r = await fetch(`${s.baseUrl}${GET_PATH}`, {
            method: "POST",
            headers: spec(s).headers,
            body: spec(s).body,
          });
          if (r.status !== 200)
            throw new CannotMeasure(`get on PostgreSQL answered HTTP ${r.status}: ${await r.text()}`);
        }
      }),
    ),
  );
  const before = await backendCpu(admin, database);
  const runs: RunRecord[] = await Promise.all(
    servers.map((s, i) =>
      ctx.load(
        LOAD_H1,
        spec(s),
        `PostgreSQL, ${servers.length} instance(s): #${i + 1} / Connect JSON HTTP/1.1`,
        s.child.pid,
      ),
    ),
  );
  const postgresMs = backendCpuSpent(before, await backendCpu(admin, database));
  const sent = runs.reduce((n, r) => n + r.result.totalRequests, 0);
  const serviceUs = runs.every((r) => r.serverCpuUsPerRequest !== null)
    ? runs.reduce((us, r) => us + (r.serverCpuUsPerRequest as number) * r.result.totalRequests, 0) / sent
    : null;
  return {
    rps: runs.reduce((n, r) => n + r.result.rps, 0),
    serviceCpuUs: serviceUs,
    postgresCpuUs: (postgresMs * 1000) / sent,
  };
}

export const pgInstancesScenario: Scenario = {
  name: "pg_instances",
  title: "PostgreSQL: get throughput of two instances vs one, CPU per request on each side",
  async run(ctx) {
    const db = await ctx.postgres();
    if (!("url" in db)) {
      ctx.note(`pg_instances: not measured: ${db.unavailable}`);
      return unavailable(db.unavailable);
    }
    const unpinned = { ...ctx.pinning, serverCpu: null };
    const start = () =>
      startRealServer({
        dataDir: ctx.workDir,
        dbFile: ctx.largest.file,
        pinning: unpinned,
        env: { DATABASE_URL: db.url },
      }).then((s) => {
        ctx.track(s.child);
        return s;
      });
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    const servers: RealServer[] = [];
    try {
      servers.push(await start());
      const one = await loadAll(ctx, servers, db.name, admin);
      servers.push(await start());
      const two = await loadAll(ctx, servers, db.name, admin);
      ctx.log(
        `    1 instance: ${fmt(one.rps)} req/s, CPU per request: service ${fmt(one.serviceCpuUs)} µs, PostgreSQL ${fmt(one.postgresCpuUs)} µs`,
      );
      ctx.log(
        `    2 instances: ${fmt(two.rps)} req/s, CPU per request: service ${fmt(two.serviceCpuUs)} µs, PostgreSQL ${fmt(two.postgresCpuUs)} µs`,
      );
      const sides = [
        ["one", "1 instance", one],
        ["two", "2 instances", two],
      ] as const;
      return sides.flatMap(([key, label, s]) => [
        figure({
          name: `pg_instances.${key}.rps`,
          title: `PostgreSQL, ${label}: get over Connect JSON HTTP/1.1, req/s (all instances)`,
          value: s.rps,
          unit: "req/s",
          baseline: key === "two" ? one.rps : null,
          baselineName: key === "two" ? "1 instance" : null,
        }),
        figure({
          name: `pg_instances.${key}.service_cpu_us`,
          title: `PostgreSQL, ${label}: service processes' CPU per request`,
          value: s.serviceCpuUs,
          unit: "µs",
          baseline: s.postgresCpuUs,
          baselineName: "PostgreSQL backends' CPU per request",
        }),
        figure({
          name: `pg_instances.${key}.postgres_cpu_us`,
          title: `PostgreSQL, ${label}: PostgreSQL backends' CPU per request (pids from pg_stat_activity)`,
          value: s.postgresCpuUs,
          unit: "µs",
        }),
      ]);
    } finally {
      await Promise.all(servers.map((s) => s.child.stop()));
      await admin.end();
    }
  },
};
