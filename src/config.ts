/**
 * Configuration from environment variables, validated once at start. A bad value stops the process
 * with a message naming the variable; nothing falls back silently. The README's table lists these.
 */
import path from "node:path";
import { z } from "zod";

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

const schema = z.object({
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: port.default(8080),
  DATA_DIR: z.string().min(1).default("data"),
  /** Defaults to `$DATA_DIR/jobs.db`. */
  DATABASE_FILE: z.string().min(1).optional(),
  /** HS256 (shared secret), RS256 or ES256 (public key). */
  JWT_ALGORITHM: z.enum(["HS256", "RS256", "ES256"]).default("HS256"),
  /** HS256 secret file; defaults to `$DATA_DIR/jwt-secret` (created with mode 0600 on first start). */
  JWT_SECRET_FILE: z.string().min(1).optional(),
  /** RS256/ES256: PEM public key (SPKI) or a JWKS JSON file. */
  JWT_PUBLIC_KEY_FILE: z.string().min(1).optional(),
  JWT_JWKS_FILE: z.string().min(1).optional(),
  /** RS256/ES256: PEM private key (PKCS#8), used only by `npm run token`. */
  JWT_PRIVATE_KEY_FILE: z.string().min(1).optional(),
  /** Largest request body accepted, after decompression (bytes). */
  MAX_BODY_BYTES: positiveInt.default(1_048_576),
  /** Largest `page.limit`, and the most rows a request without a page limit may return. */
  MAX_PAGE_SIZE: positiveInt.max(100_000).default(1000),
  /** Longest deadline a client may ask for, and the deadline of calls that ask for none (ms). */
  MAX_TIMEOUT_MS: positiveInt.default(30_000),
  /** How long SIGTERM/SIGINT waits for in-flight calls before closing connections (ms). */
  SHUTDOWN_GRACE_MS: positiveInt.default(10_000),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
});

export interface Config {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly databaseFile: string;
  readonly jwt: {
    readonly algorithm: "HS256" | "RS256" | "ES256";
    readonly secretFile: string;
    readonly publicKeyFile: string | undefined;
    readonly jwksFile: string | undefined;
    readonly privateKeyFile: string | undefined;
  };
  readonly maxBodyBytes: number;
  readonly maxPageSize: number;
  readonly maxTimeoutMs: number;
  readonly shutdownGraceMs: number;
  readonly logLevel: "debug" | "info" | "warn" | "error" | "silent";
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Read and validate configuration; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const keys = Object.keys(schema.shape) as (keyof typeof schema.shape)[];
  const input: Record<string, string> = {};
  for (const key of keys) {
    const value = env[key];
    if (value !== undefined && value !== "") input[key] = value;
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? "?");
      return `${name}=${JSON.stringify(input[name] ?? "")}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join("; ")}`);
  }
  const c = parsed.data;
  if (c.JWT_ALGORITHM !== "HS256" && !c.JWT_PUBLIC_KEY_FILE && !c.JWT_JWKS_FILE) {
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
    jwt: {
      algorithm: c.JWT_ALGORITHM,
      secretFile: path.resolve(c.JWT_SECRET_FILE ?? path.join(dataDir, "jwt-secret")),
      publicKeyFile: c.JWT_PUBLIC_KEY_FILE && path.resolve(c.JWT_PUBLIC_KEY_FILE),
      jwksFile: c.JWT_JWKS_FILE && path.resolve(c.JWT_JWKS_FILE),
      privateKeyFile: c.JWT_PRIVATE_KEY_FILE && path.resolve(c.JWT_PRIVATE_KEY_FILE),
    },
    maxBodyBytes: c.MAX_BODY_BYTES,
    maxPageSize: c.MAX_PAGE_SIZE,
    maxTimeoutMs: c.MAX_TIMEOUT_MS,
    shutdownGraceMs: c.SHUTDOWN_GRACE_MS,
    logLevel: c.LOG_LEVEL,
  };
}
