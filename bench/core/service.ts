/**
 * The service under test, as `npm start` runs it: the compiled build (`npm run build`, tsconfig.build.json)
 * in its own process, pinned to the server CPU, with its housekeeping off.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { CannotMeasure } from "./errors.js";
import { type Child, freePort, type Pinning, REPO_ROOT, startNode, waitHttpOk } from "./proc.js";

/** What `npm start` runs after `npm run build`. */
const SERVICE_ENTRY = "dist/src/main.js";

/**
 * How `npm start` runs the service (package.json's `start` script): the environment it sets on the
 * command line (e.g. glibc's malloc arenas) and the node flags (e.g. the young generation's size), so
 * the benchmark measures the runtime settings production uses.
 */
export function startCommand(): { env: Record<string, string>; flags: string[] } {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as {
    scripts: Record<string, string>;
  };
  const start = pkg.scripts.start ?? "";
  const match = new RegExp(
    `(?:^|&&|;)\\s*((?:[A-Z_][A-Z0-9_]*=\\S+\\s+)*)node((?:\\s+--\\S+)*)\\s+${SERVICE_ENTRY.replaceAll(".", "\\.")}\\b`,
  ).exec(start);
  if (!match)
    throw new CannotMeasure(`package.json's start script does not run node ${SERVICE_ENTRY}: ${start}`);
  const env: Record<string, string> = {};
  for (const assignment of (match[1] ?? "").split(/\s+/).filter(Boolean)) {
    const eq = assignment.indexOf("=");
    env[assignment.slice(0, eq)] = assignment.slice(eq + 1);
  }
  return { env, flags: (match[2] ?? "").split(/\s+/).filter(Boolean) };
}

/** Configuration the benchmark sets itself: inherited values of these would change what is measured. */
const CONFIG_KEYS = [
  "JOB_REAPER_INTERVAL_SECONDS",
  "JOB_RETENTION_INTERVAL_SECONDS",
  "HOST",
  "PORT",
  "DATA_DIR",
  "DATABASE_FILE",
  "DATABASE_URL",
  "WORKERS",
  "JWT_ALGORITHM",
  "JWT_SECRET_FILE",
  "JWT_PUBLIC_KEY_FILE",
  "JWT_JWKS_FILE",
  "JWT_PRIVATE_KEY_FILE",
  "LOG_LEVEL",
];

/** Compile the service as `npm start` does, so the benchmark measures the production build. */
export function buildService(): void {
  try {
    execFileSync(
      process.execPath,
      [`${REPO_ROOT}/node_modules/typescript/bin/tsc`, "-p", "tsconfig.build.json"],
      { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
  } catch (error) {
    const out = error as { stdout?: Buffer; stderr?: Buffer };
    throw new CannotMeasure(
      `the service does not build: ${String(out.stdout ?? "")}${String(out.stderr ?? "")}`,
    );
  }
}

export interface RealServer {
  readonly child: Child;
  /** `http://127.0.0.1:port`: HTTP/1.1 and h2c on the same port. */
  readonly baseUrl: string;
}

export interface StartServerOptions {
  readonly dataDir: string;
  readonly dbFile: string;
  readonly pinning: Pinning;
  /** Extra environment (e.g. a limit or a wire switch under test); wins over the defaults. */
  readonly env?: Record<string, string>;
  /** Node flags after `npm start`'s own (e.g. `--cpu-prof`; a later V8 flag wins over an earlier one). */
  readonly nodeFlags?: readonly string[];
  /** The checkout whose build runs (another worktree, built, for an A/B run); unset: this one. */
  readonly root?: string;
}

export async function startRealServer(options: StartServerOptions): Promise<RealServer> {
  const port = await freePort();
  const start = startCommand();
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of CONFIG_KEYS) delete env[key];
  Object.assign(env, start.env, {
    HOST: "127.0.0.1",
    PORT: String(port),
    DATA_DIR: options.dataDir,
    DATABASE_FILE: options.dbFile,
    JWT_ALGORITHM: "HS256",
    LOG_LEVEL: "warn",
    // Housekeeping off: the seeded jobs are dated before the real clock, so the reaper would rewrite
    // thousands of them (and retention purge them) in the middle of the measurements.
    JOB_REAPER_INTERVAL_SECONDS: "0",
    JOB_RETENTION_INTERVAL_SECONDS: "0",
    ...options.env,
  });
  const child = startNode(path.join(options.root ?? REPO_ROOT, SERVICE_ENTRY), [], {
    cpu: options.pinning.serverCpu,
    env,
    name: "job service",
    nodeFlags: [...start.flags, ...(options.nodeFlags ?? [])],
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitHttpOk(`${baseUrl}/healthz`, child, 60_000);
  } catch (error) {
    await child.stop();
    throw new CannotMeasure(`the service did not start: ${(error as Error).message}`);
  }
  return { child, baseUrl };
}
