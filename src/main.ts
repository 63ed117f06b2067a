/**
 * `npm start`: validate configuration, open (and migrate) the database, serve Connect, gRPC,
 * gRPC-Web and the REST aliases on one port, and drain cleanly on SIGTERM/SIGINT.
 *
 * With WORKERS > 1 this process becomes a node:cluster primary: it prepares the data directory
 * (signing secret, migrations) once, forks the workers that serve the shared port and database,
 * replaces a worker that dies, and on a signal lets every worker drain before it exits. Writes stay
 * safe across processes: every read-modify-write is an IMMEDIATE transaction on the one WAL
 * database, and idempotency keys are a UNIQUE index. Housekeeping (reaper, retention) runs in
 * worker 0 only.
 */
import cluster, { type Worker } from "node:cluster";
import { createApp } from "./app.js";
import { ensureLocalSecret } from "./auth/keys.js";
import { createTokenVerifier, signToken } from "./auth/token.js";
import { CONFIG_VARIABLES, type Config, ConfigError, loadConfig } from "./config.js";
import { createLogger, type Logger } from "./log.js";
import { instrumentPass } from "./observability/housekeeping-metrics.js";
import { startMetricsServer } from "./observability/metrics-endpoint.js";
import { startHousekeeping } from "./service/housekeeping.js";
import { openStore } from "./storage/open-store.js";
import { startServer } from "./wire/server.js";

/** The domain `npm run seed` fills first, so the printed token shows seeded jobs at once. */
const DEMO_DOMAIN = "domain-seed0001";

/** Which cluster worker this is ("0", "1", ...); absent when not clustered. */
const WORKER_INDEX_ENV = "JOB_SERVICE_WORKER_INDEX";

function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

/** First start on this data directory: hand the developer a working token and request. */
async function announceFirstStart(config: Config, url: string): Promise<void> {
  const token = await signToken(config, { domainId: DEMO_DOMAIN, role: "DOMAIN_ADMIN", ttlSeconds: 86_400 });
  process.stdout.write(
    [
      `Created a local signing secret in ${config.jwt.secretFile} (mode 0600).`,
      `A domain-admin token for ${DEMO_DOMAIN}, valid 24 h (new ones: npm run token):`,
      "",
      `  export TOKEN=${token}`,
      `  curl -s -X POST ${url}/identity/v2/job/list -H "Authorization: Bearer $TOKEN" -d '{"query":{"page":{"limit":5}}}'`,
      "",
    ].join("\n"),
  );
}

/** Serve from this process: the whole service, or one cluster worker of it. */
async function serve(config: Config, logger: Logger, role: { workerIndex: number | null }): Promise<void> {
  const createdSecret = config.jwt.algorithm === "HS256" && !config.identity && ensureLocalSecret(config);
  const store = await openStore(config);
  const verifier = await createTokenVerifier(config);
  const shutdown = new AbortController();
  const app = createApp({ config, store, verifier, logger, shutdownSignal: shutdown.signal });
  const server = await startServer({
    handler: app.handler,
    host: config.host,
    port: config.port,
    shutdownGraceMs: config.shutdownGraceMs,
    limits: config.limits.wire,
    logger,
  });
  logger.info(
    {
      url: server.url,
      database: config.postgres ? "postgresql (DATABASE_URL)" : config.databaseFile,
      jwt: config.jwt.algorithm,
      worker: role.workerIndex,
    },
    "listening",
  );
  // METRICS_PORT: /metrics on a port of its own (one process serves it; with WORKERS > 1, worker 0).
  const metricsServer =
    config.metrics.ownPort !== undefined && (role.workerIndex === null || role.workerIndex === 0)
      ? await startMetricsServer(app.metrics, config.host, config.metrics.ownPort)
      : undefined;
  if (metricsServer) logger.info({ url: `${metricsServer.url}/metrics` }, "metrics listening");
  // No job stays stuck, and finished jobs do not pile up for ever (docs/lifecycle.md). One process
  // is enough, and two would only race each other for the same rows.
  const runsHousekeeping = role.workerIndex === null || role.workerIndex === 0;
  const housekeeping = startHousekeeping(
    runsHousekeeping
      ? [
          {
            name: "reaper",
            intervalMs: config.lifecycle.reaperIntervalMs,
            run: instrumentPass(app.metrics, "reaper", (signal) => app.reaper.run(signal)),
          },
          {
            name: "retention",
            intervalMs: config.lifecycle.retentionIntervalMs,
            run: instrumentPass(app.metrics, "retention", (signal) => app.retention.run(signal)),
          },
        ]
      : [],
    logger,
  );
  if (createdSecret) await announceFirstStart(config, server.url);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      // A worker gets SIGINT from the terminal and SIGTERM from its primary: one drain is enough;
      // the primary escalates if needed. Standalone, a second signal means "now".
      if (role.workerIndex !== null) return;
      logger.warn({ signal }, "second signal: exiting without waiting");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, inFlight: server.inFlight() }, "draining");
    // Health Check/Watch and /readyz say NOT_SERVING from here on (watchers hear it at once).
    app.health.startDrain();
    // Watch streams never finish on their own: end them now (clients resume elsewhere from their
    // cursor), and answer waits with the job as it is.
    app.watch.hub.close();
    // Calls observe ctx.signal; abort it only near the end of the grace period so the drain lets
    // in-flight calls finish instead of cancelling them all at once.
    const abortTimer = setTimeout(() => shutdown.abort(), Math.floor(config.shutdownGraceMs * 0.8));
    await server.close();
    await metricsServer?.close();
    clearTimeout(abortTimer);
    // Before the database closes: a pass stops between batches, and no timer fires on a closed DB.
    await housekeeping.stop();
    await store.close();
    logger.info({}, "stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

/** The cluster primary: prepare once, fork, replace dead workers, drain all on a signal. */
async function supervise(config: Config, logger: Logger): Promise<void> {
  const createdSecret = config.jwt.algorithm === "HS256" && !config.identity && ensureLocalSecret(config);
  // Migrate before any worker opens the database, so they never race to apply a migration.
  await (await openStore(config)).close();

  const workers = new Map<Worker, number>();
  let stopping = false;
  const fork = (index: number) => {
    const worker = cluster.fork({ [WORKER_INDEX_ENV]: String(index) });
    workers.set(worker, index);
  };
  cluster.on("exit", (worker, code, signal) => {
    const index = workers.get(worker);
    workers.delete(worker);
    if (stopping) {
      if (workers.size === 0) {
        logger.info({}, "stopped");
        process.exit(0);
      }
      return;
    }
    logger.error({ worker: index, code, signal }, "worker died; starting a new one");
    if (index !== undefined) setTimeout(() => fork(index), 500);
  });
  let listening = 0;
  cluster.on("listening", (_worker, address) => {
    listening++;
    if (listening === config.workers) {
      const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${address.port}`;
      logger.info({ url, workers: config.workers }, "all workers listening");
      if (createdSecret) void announceFirstStart(config, url);
    }
  });
  for (let i = 0; i < config.workers; i++) fork(i);

  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: stopping workers without waiting");
      for (const worker of workers.keys()) worker.process.kill("SIGKILL");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, workers: workers.size }, "draining workers");
    for (const worker of workers.keys()) worker.process.kill("SIGTERM");
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

const USAGE = [
  "usage: npm start            (node dist/src/main.js; no arguments)",
  "",
  "Serves the Job and JobLifecycle APIs (Connect, gRPC, gRPC-Web, REST) on one port.",
  "Configured only by environment variables (README, 'Configuration'):",
  "",
  ...CONFIG_VARIABLES.map((name) => `  ${name}`),
  "",
].join("\n");

/** The server takes no arguments: `--help` prints the usage, anything else is a mistake (exit 2). */
function handleArguments(args: readonly string[]): void {
  if (args.length === 0) return;
  if (args.length === 1 && (args[0] === "--help" || args[0] === "-h")) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  process.stderr.write(`unexpected argument ${JSON.stringify(args[0])}\n${USAGE}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  handleArguments(process.argv.slice(2));
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel);
  const index = process.env[WORKER_INDEX_ENV];
  if (cluster.isPrimary && config.workers > 1) return supervise(config, logger);
  return serve(config, logger, {
    workerIndex: cluster.isWorker && index !== undefined ? Number(index) : null,
  });
}

main().catch((error: unknown) => {
  process.stderr.write(
    `job-service failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
