/**
 * Configuration from environment variables, validated once at start. A bad value stops the process
 * with a message naming the variable; nothing falls back silently. The README's table lists these.
 */
import os from "node:os";
import path from "node:path";
import { type LimitsConfig, limitsFromEnv, limitsSchema } from "./config-limits.js";
import {
  number,
  oneOf,
  type Setting,
  SettingError,
  type SettingValue,
  text,
  url,
  wordOr,
} from "./config-setting.js";

const port = number(0, 65535);
const positiveInt = (max?: number) => number(1, max);
/** Seconds or days where 0 turns the feature off. */
const nonNegativeInt = (max?: number) => number(0, max);

const schema = {
  HOST: text().default("127.0.0.1"),
  PORT: port.default(8080),
  DATA_DIR: text().default("data"),
  /** Defaults to `$DATA_DIR/jobs.db`. */
  DATABASE_FILE: text(),
  /** HS256 (shared secret), RS256 or ES256 (public key). */
  JWT_ALGORITHM: oneOf(["HS256", "RS256", "ES256"]).default("HS256"),
  /** HS256 secret file; defaults to `$DATA_DIR/jwt-secret` (created with mode 0600 on first start). */
  JWT_SECRET_FILE: text(),
  /** RS256/ES256: PEM public key (SPKI) or a JWKS JSON file. */
  JWT_PUBLIC_KEY_FILE: text(),
  JWT_JWKS_FILE: text(),
  /** RS256/ES256: PEM private key (PKCS#8), used only by `npm run token`. */
  JWT_PRIVATE_KEY_FILE: text(),
  /**
   * `postgres://user:password@host:port/database` selects PostgreSQL (docs/scale-out.md); unset, the
   * SQLite file above. It may hold a password: it is never logged or echoed in an error.
   */
  DATABASE_URL: text(/^postgres(ql)?:\/\//, "must start with postgres:// or postgresql://"),
  /** PostgreSQL connections per instance (the pool's bound; docs/scale-out.md sizes it). */
  DATABASE_POOL_SIZE: number(1, 500).default(10),
  /** PostgreSQL `statement_timeout` of every connection (ms): no statement runs longer. 0 = none. */
  DATABASE_STATEMENT_TIMEOUT_MS: number(0, 3_600_000).default(30_000),
  /** How long a request waits for a PostgreSQL connection (new or from the pool) before `unavailable` (ms). */
  DATABASE_CONNECT_TIMEOUT_MS: positiveInt(600_000).default(5_000),
  /**
   * How long a write waits for the database file lock held by another process (ms). better-sqlite3
   * waits synchronously, freezing every request meanwhile, so keep it short.
   */
  DATABASE_BUSY_TIMEOUT_MS: number(0, 60_000).default(1000),
  /**
   * SQLite page cache of each connection (the main one and each read worker's), in MiB. Reads that miss
   * it come from the OS's file cache; measured choice: docs/benchmarks.md "Memory".
   */
  DATABASE_CACHE_MB: positiveInt(4096).default(2),
  /**
   * Worker threads (each with its own read-only SQLite connection) that run list and stat, so a long
   * query never blocks other calls and a deadline can stop it; 0 runs them on the main thread (no
   * deadline can then stop a query). Measured choice of 2: docs/design.md "Heavy reads off the event loop".
   */
  DATABASE_READ_WORKERS: nonNegativeInt(64).default(2),
  /**
   * Heap (V8 old generation, MB) of each read worker: a list or stat that needs more ends with
   * resource_exhausted and its worker is replaced; the process lives (docs/limits.md).
   */
  DATABASE_READ_WORKER_HEAP_MB: number(16, 16_384).default(256),
  /**
   * A read worker that ran nothing for this long is stopped (its isolate, modules and connection are
   * ~14 MB of RSS each), all but DATABASE_READ_WORKER_IDLE_KEEP; the next list or stat starts one again (a few
   * hundred ms). 0: workers, once started, stay. Workers start on the first list or stat, not at start-up (docs/limits.md).
   */
  DATABASE_READ_WORKER_IDLE_SECONDS: nonNegativeInt(86_400).default(30),
  /**
   * Read workers the idle stop leaves running once started: the first list or stat still starts one,
   * but a service that has served one keeps it, so a later one does not start an isolate again on top
   * of what the process holds then (that restart set the peak: docs/benchmarks.md "Memory: the peak,
   * fourth pass"). 0: every idle worker stops.
   */
  DATABASE_READ_WORKER_IDLE_KEEP: nonNegativeInt(64).default(1),
  /**
   * Server processes sharing the port and the database (node:cluster): a number, or `auto` for one
   * per available CPU. 1 serves from the main process.
   */
  WORKERS: wordOr("auto", number(1, 64), "expected a whole number from 1 to 64, or auto").default(1),
  /** Largest request body accepted, after decompression (bytes). */
  MAX_BODY_BYTES: positiveInt().default(1_048_576),
  /** Largest `page.limit`, and the most rows a request without a page limit may return. */
  MAX_PAGE_SIZE: positiveInt(100_000).default(1000),
  /**
   * The most rows a `list` or `stat` without `page.limit` returns (upstream returns every row; this
   * ceiling protects the process). At least MAX_PAGE_SIZE.
   */
  MAX_UNPAGED_ROWS: positiveInt(10_000_000).default(100_000),
  /** Longest deadline a client may ask for, and the deadline of calls that ask for none (ms). */
  MAX_TIMEOUT_MS: positiveInt().default(30_000),
  /** How long SIGTERM/SIGINT waits for in-flight calls before closing connections (ms). */
  SHUTDOWN_GRACE_MS: positiveInt().default(10_000),
  /** Serve `/metrics` on this port (on HOST) instead of the service's port; unset: same port. */
  METRICS_PORT: port,
  /** How long the job counts of `/metrics` (by status, domains) are reused before a recount. */
  JOB_COUNTS_MAX_AGE_SECONDS: positiveInt(86_400).default(30),
  LOG_LEVEL: oneOf(["debug", "info", "warn", "error", "silent"]).default("info"),
  /**
   * Who answers unary Connect, gRPC and gRPC-Web calls: `lean` (src/wire/unary/, the default) or
   * `connect` (connect's own router: the reference the differential test and `npm run bench` compare
   * the unary path with; REST takes the unary path either way).
   */
  WIRE_UNARY: oneOf(["connect", "lean"]).default("lean"),
  /**
   * How `watch` streams are served: `lean` (the stream path, src/wire/stream/) or `connect` (connect's
   * router: the reference the stream differential test and the watch bench compare it with).
   */
  WIRE_STREAM: oneOf(["connect", "lean"]).default("lean"),
  // Drop-in compatibility (docs/compatibility.md).
  /** Origins browsers may call from: `*` (default) or a comma-separated list of origins. */
  CORS_ALLOWED_ORIGINS: text().default("*"),
  /**
   * The SpaceONE identity service (`http://identity:50051`, gRPC): when set, token keys are each
   * domain's public key from `Domain.get_public_key` instead of the JWT_* files.
   */
  IDENTITY_ENDPOINT: url(/^https?$/),
  /** How long a domain's key fetched from identity is used before it is fetched again. */
  IDENTITY_KEY_TTL_SECONDS: positiveInt(86_400).default(600),
  /** Deadline of one call to identity (ms). */
  IDENTITY_TIMEOUT_MS: positiveInt(60_000).default(5_000),
  /** A system token sent to identity, when it asks for one. */
  IDENTITY_TOKEN: text(),
  // Job lifecycle (docs/lifecycle.md).
  /** A create while the same trusted account's job is IN_PROGRESS for less than this is a duplicate (upstream: 10 min). */
  JOB_DUPLICATE_WINDOW_SECONDS: positiveInt(31_536_000).default(600),
  /** How often the reaper looks for stuck jobs; 0 disables it. */
  JOB_REAPER_INTERVAL_SECONDS: nonNegativeInt(86_400).default(30),
  /** An IN_PROGRESS job with no heartbeat for this long becomes FAILURE (ERROR_HEARTBEAT_LOST). */
  JOB_HEARTBEAT_TIMEOUT_SECONDS: positiveInt(31_536_000).default(600),
  /** A PENDING job no worker started within this long becomes FAILURE (ERROR_JOB_NOT_STARTED). */
  JOB_PENDING_TIMEOUT_SECONDS: positiveInt(31_536_000).default(3_600),
  /** A cancel-requested job the worker has not confirmed within this long becomes CANCELED. */
  JOB_CANCEL_GRACE_SECONDS: positiveInt(31_536_000).default(300),
  /** Finished jobs older than this are purged (SailPoint keeps 90 days); 0 keeps them for ever. */
  JOB_RETENTION_DAYS: nonNegativeInt(36_500).default(90),
  /** How long a purged job's get still answers "expired" rather than "not found". */
  JOB_TOMBSTONE_DAYS: positiveInt(36_500).default(30),
  /** How long the change feed (what watch/wait resume from) is kept; an older cursor has expired. */
  JOB_CHANGE_FEED_HOURS: positiveInt(8_760).default(24),
  /** How often retention runs; 0 disables it. */
  JOB_RETENTION_INTERVAL_SECONDS: nonNegativeInt(604_800).default(3_600),
  /** Jobs the reaper finishes or retention purges per transaction; they yield to requests between batches. */
  JOB_HOUSEKEEPING_BATCH_SIZE: positiveInt(10_000).default(500),
  // watch and wait (docs/watch.md).
  /** An open watch stream that was sent nothing for this long gets a HEARTBEAT (seconds, decimals allowed). */
  WATCH_HEARTBEAT_SECONDS: number(0.05, 3_600, true).default(15),
  /** Events a watch stream may have waiting for its client before it is closed with resource_exhausted. */
  WATCH_BUFFER_EVENTS: positiveInt(100_000).default(1000),
  /** Most jobs a watch with send_initial may start with (more: narrow the filter, or list then watch). */
  WATCH_MAX_INITIAL: positiveInt(1_000_000).default(10_000),
  /** How often the change feed is read for other processes' commits (this process's are seen at once). */
  WATCH_POLL_MS: positiveInt(60_000).default(50),
  /** Changes read from the feed per query. */
  WATCH_BATCH_SIZE: positiveInt(10_000).default(500),
  /** `wait` without timeout_seconds waits this long; longer requests are capped at WAIT_MAX_SECONDS. */
  WAIT_DEFAULT_SECONDS: positiveInt(3_600).default(30),
  WAIT_MAX_SECONDS: positiveInt(3_600).default(300),
  // Cost model, caches, answer size, connections and streams (config-limits.ts, docs/limits.md).
  ...limitsSchema,
} satisfies Record<string, Setting<unknown>>;

/** Every variable the service reads, for `--help`. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(schema);

export interface Config {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly databaseFile: string;
  readonly databaseBusyTimeoutMs: number;
  /** SQLite page cache per connection (MiB). */
  readonly databaseCacheMb: number;
  /** SQLite read worker threads for list and stat (0: main thread). */
  readonly databaseReadWorkers: number;
  /** Heap cap of each read worker, MB. */
  readonly databaseReadWorkerHeapMb: number;
  /** A read worker idle this long is stopped (ms; 0: never). */
  readonly databaseReadWorkerIdleMs: number;
  /** Read workers the idle stop leaves running once started. */
  readonly databaseReadWorkerIdleKeep: number;
  /** Set when DATABASE_URL selects PostgreSQL; null for SQLite. */
  readonly postgres: PostgresConfig | null;
  /** Server processes (resolved: `auto` is the CPU count). */
  readonly workers: number;
  readonly jwt: {
    readonly algorithm: "HS256" | "RS256" | "ES256";
    readonly secretFile: string;
    readonly publicKeyFile: string | undefined;
    readonly jwksFile: string | undefined;
    readonly privateKeyFile: string | undefined;
  };
  readonly maxBodyBytes: number;
  readonly maxPageSize: number;
  readonly maxUnpagedRows: number;
  readonly maxTimeoutMs: number;
  readonly shutdownGraceMs: number;
  readonly logLevel: "debug" | "info" | "warn" | "error" | "silent";
  readonly wireUnary: "connect" | "lean";
  readonly wireStream: "connect" | "lean";
  readonly lifecycle: LifecycleConfig;
  readonly metrics: MetricsConfig;
  readonly watch: WatchConfig;
  readonly limits: LimitsConfig;
  /** `["*"]` or the exact origins allowed. */
  readonly corsAllowedOrigins: readonly string[];
  /** Set: token keys come from the identity service (src/auth/identity-keys.ts). */
  readonly identity: IdentityConfig | undefined;
}

export interface IdentityConfig {
  readonly endpoint: string;
  readonly keyTtlMs: number;
  readonly timeoutMs: number;
  readonly token: string | undefined;
}

export interface MetricsConfig {
  /** `METRICS_PORT`: `/metrics` is served there instead of on the service's port. */
  readonly ownPort: number | undefined;
  readonly jobCountsMaxAgeMs: number;
}

/** watch and wait (docs/watch.md). */
export interface WatchConfig {
  readonly heartbeatMs: number;
  readonly bufferEvents: number;
  readonly maxInitial: number;
  readonly pollIntervalMs: number;
  readonly batchSize: number;
  readonly waitDefaultSeconds: number;
  readonly waitMaxSeconds: number;
}

/** The PostgreSQL connection pool (src/storage/dialect/postgres/pool.ts). */
export interface PostgresConfig {
  /** Connection string; holds the password when there is one: never log it. */
  readonly url: string;
  readonly poolSize: number;
  readonly statementTimeoutMs: number;
  readonly connectTimeoutMs: number;
}

/** Job lifecycle timings, in milliseconds (0 = off where the variable allows it). */
export interface LifecycleConfig {
  readonly duplicateWindowMs: number;
  readonly reaperIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly pendingTimeoutMs: number;
  readonly cancelGraceMs: number;
  readonly retentionMs: number;
  readonly tombstoneMs: number;
  /** How long change-feed rows are kept (a watch cursor older than that has expired). */
  readonly changeFeedMs: number;
  readonly retentionIntervalMs: number;
  readonly housekeepingBatchSize: number;
}

const SECOND = 1000;
const HOUR = 3_600 * SECOND;
const DAY = 24 * HOUR;

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** The variables `npm run token` needs: a bad PORT or WORKERS must not stop it from minting. */
const tokenVariables = /^(?:DATA_DIR|JWT_[A-Z_]+)$/;

/** Configuration for tools that only sign tokens: the JWT and data-directory variables, validated. */
export function loadTokenConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return loadConfig(Object.fromEntries(Object.entries(env).filter(([key]) => tokenVariables.test(key))));
}

/** Read and validate configuration; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const c = {} as { [K in keyof typeof schema]: SettingValue<(typeof schema)[K]> };
  const problems: string[] = [];
  for (const [key, setting] of Object.entries(schema) as [keyof typeof schema, Setting<unknown>][]) {
    const value = env[key];
    const given = value === undefined || value === "" ? undefined : value;
    try {
      (c as Record<string, unknown>)[key] = setting.parse(given);
    } catch (error) {
      if (!(error instanceof SettingError)) throw error;
      // The connection string may carry a password: name the variable, never echo it.
      const shown = key === "DATABASE_URL" ? "<hidden>" : JSON.stringify(given ?? "");
      problems.push(`${key}=${shown}: ${error.message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join("; ")}`);
  if (c.JWT_ALGORITHM !== "HS256" && !c.JWT_PUBLIC_KEY_FILE && !c.JWT_JWKS_FILE && !c.IDENTITY_ENDPOINT) {
    throw new ConfigError(
      `invalid configuration: JWT_ALGORITHM=${c.JWT_ALGORITHM} needs JWT_PUBLIC_KEY_FILE or JWT_JWKS_FILE`,
    );
  }
  const dataDir = path.resolve(c.DATA_DIR);
  return {
    host: c.HOST,
    port: c.PORT,
    dataDir,
    databaseFile: path.resolve(c.DATABASE_FILE ?? path.join(dataDir, "jobs.db")),
    databaseBusyTimeoutMs: c.DATABASE_BUSY_TIMEOUT_MS,
    databaseCacheMb: c.DATABASE_CACHE_MB,
    databaseReadWorkers: c.DATABASE_READ_WORKERS,
    databaseReadWorkerHeapMb: c.DATABASE_READ_WORKER_HEAP_MB,
    databaseReadWorkerIdleMs: c.DATABASE_READ_WORKER_IDLE_SECONDS * 1000,
    databaseReadWorkerIdleKeep: c.DATABASE_READ_WORKER_IDLE_KEEP,
    postgres: c.DATABASE_URL
      ? {
          url: c.DATABASE_URL,
          poolSize: c.DATABASE_POOL_SIZE,
          statementTimeoutMs: c.DATABASE_STATEMENT_TIMEOUT_MS,
          connectTimeoutMs: c.DATABASE_CONNECT_TIMEOUT_MS,
        }
      : null,
    workers: c.WORKERS === "auto" ? os.availableParallelism() : c.WORKERS,
    jwt: {
      algorithm: c.JWT_ALGORITHM,
      secretFile: path.resolve(c.JWT_SECRET_FILE ?? path.join(dataDir, "jwt-secret")),
      publicKeyFile: c.JWT_PUBLIC_KEY_FILE && path.resolve(c.JWT_PUBLIC_KEY_FILE),
      jwksFile: c.JWT_JWKS_FILE && path.resolve(c.JWT_JWKS_FILE),
      privateKeyFile: c.JWT_PRIVATE_KEY_FILE && path.resolve(c.JWT_PRIVATE_KEY_FILE),
    },
    maxBodyBytes: c.MAX_BODY_BYTES,
    maxPageSize: c.MAX_PAGE_SIZE,
    maxUnpagedRows: Math.max(c.MAX_UNPAGED_ROWS, c.MAX_PAGE_SIZE),
    maxTimeoutMs: c.MAX_TIMEOUT_MS,
    wireUnary: c.WIRE_UNARY,
    wireStream: c.WIRE_STREAM,
    shutdownGraceMs: c.SHUTDOWN_GRACE_MS,
    logLevel: c.LOG_LEVEL,
    corsAllowedOrigins: c.CORS_ALLOWED_ORIGINS.split(",")
      .map((origin) => origin.trim())
      .filter((origin) => origin !== ""),
    identity: c.IDENTITY_ENDPOINT
      ? {
          endpoint: c.IDENTITY_ENDPOINT,
          keyTtlMs: c.IDENTITY_KEY_TTL_SECONDS * SECOND,
          timeoutMs: c.IDENTITY_TIMEOUT_MS,
          token: c.IDENTITY_TOKEN,
        }
      : undefined,
    metrics: { ownPort: c.METRICS_PORT, jobCountsMaxAgeMs: c.JOB_COUNTS_MAX_AGE_SECONDS * SECOND },
    lifecycle: {
      duplicateWindowMs: c.JOB_DUPLICATE_WINDOW_SECONDS * SECOND,
      reaperIntervalMs: c.JOB_REAPER_INTERVAL_SECONDS * SECOND,
      heartbeatTimeoutMs: c.JOB_HEARTBEAT_TIMEOUT_SECONDS * SECOND,
      pendingTimeoutMs: c.JOB_PENDING_TIMEOUT_SECONDS * SECOND,
      cancelGraceMs: c.JOB_CANCEL_GRACE_SECONDS * SECOND,
      retentionMs: c.JOB_RETENTION_DAYS * DAY,
      tombstoneMs: c.JOB_TOMBSTONE_DAYS * DAY,
      changeFeedMs: c.JOB_CHANGE_FEED_HOURS * HOUR,
      retentionIntervalMs: c.JOB_RETENTION_INTERVAL_SECONDS * SECOND,
      housekeepingBatchSize: c.JOB_HOUSEKEEPING_BATCH_SIZE,
    },
    watch: {
      heartbeatMs: Math.round(c.WATCH_HEARTBEAT_SECONDS * SECOND),
      bufferEvents: c.WATCH_BUFFER_EVENTS,
      maxInitial: c.WATCH_MAX_INITIAL,
      pollIntervalMs: c.WATCH_POLL_MS,
      batchSize: c.WATCH_BATCH_SIZE,
      waitDefaultSeconds: Math.min(c.WAIT_DEFAULT_SECONDS, c.WAIT_MAX_SECONDS),
      waitMaxSeconds: c.WAIT_MAX_SECONDS,
    },
    limits: limitsFromEnv(c),
  };
}
