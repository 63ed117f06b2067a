/**
 * `npm start`: validate configuration, open (and migrate) the database, serve Connect, gRPC,
 * gRPC-Web and the REST aliases on one port, and drain cleanly on SIGTERM/SIGINT.
 */
import { createApp } from "./app.js";
import { ensureLocalSecret } from "./auth/keys.js";
import { createTokenVerifier, signToken } from "./auth/token.js";
import { type Config, ConfigError, loadConfig } from "./config.js";
import { createLogger } from "./log.js";
import { startHousekeeping } from "./service/housekeeping.js";
import { openDatabase } from "./storage/database.js";
import { startServer } from "./wire/server.js";

/** The domain `npm run seed` fills first, so the printed token shows seeded jobs at once. */
const DEMO_DOMAIN = "domain-seed0001";

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  const createdSecret = config.jwt.algorithm === "HS256" && ensureLocalSecret(config);
  const db = openDatabase({ file: config.databaseFile, busyTimeoutMs: config.databaseBusyTimeoutMs });
  const verifier = await createTokenVerifier(config);
  const shutdown = new AbortController();
  const app = createApp({ config, db, verifier, logger, shutdownSignal: shutdown.signal });
  const server = await startServer({
    handler: app.handler,
    host: config.host,
    port: config.port,
    shutdownGraceMs: config.shutdownGraceMs,
    logger,
  });
  logger.info({ url: server.url, database: config.databaseFile, jwt: config.jwt.algorithm }, "listening");
  // No job stays stuck, and finished jobs do not pile up for ever (docs/lifecycle.md).
  const housekeeping = startHousekeeping(
    [
      {
        name: "reaper",
        intervalMs: config.lifecycle.reaperIntervalMs,
        run: (signal) => app.reaper.run(signal),
      },
      {
        name: "retention",
        intervalMs: config.lifecycle.retentionIntervalMs,
        run: (signal) => app.retention.run(signal),
      },
    ],
    logger,
  );

  if (createdSecret) {
    // First start on this data directory: hand the developer a working token and request.
    const token = await signToken(config, {
      domainId: DEMO_DOMAIN,
      role: "DOMAIN_ADMIN",
      ttlSeconds: 86_400,
    });
    process.stdout.write(
      [
        `Created a local signing secret in ${config.jwt.secretFile} (mode 0600).`,
        `A domain-admin token for ${DEMO_DOMAIN}, valid 24 h (new ones: npm run token):`,
        "",
        `  export TOKEN=${token}`,
        `  curl -s -X POST ${server.url}/identity/v2/job/list -H "Authorization: Bearer $TOKEN" -d '{"query":{"page":{"limit":5}}}'`,
        "",
      ].join("\n"),
    );
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting without waiting");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, inFlight: server.inFlight() }, "draining");
    // Calls observe ctx.signal; abort it only near the end of the grace period so the drain lets
    // in-flight calls finish instead of cancelling them all at once.
    const abortTimer = setTimeout(() => shutdown.abort(), Math.floor(config.shutdownGraceMs * 0.8));
    await server.close();
    clearTimeout(abortTimer);
    // Before the database closes: a pass stops between batches, and no timer fires on a closed DB.
    await housekeeping.stop();
    db.close();
    logger.info({}, "stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

main().catch((error: unknown) => {
  process.stderr.write(
    `job-service failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
