/**
 * PostgreSQL for tests, through the `psql` client on 127.0.0.1:5432 (PGHOST/PGPORT/PGUSER/PGDATABASE
 * override). Under CI=true an unreachable server fails the run; elsewhere the caller skips and says why.
 */
import { spawnSync } from "node:child_process";

const env = {
  ...process.env,
  PGHOST: process.env.PGHOST ?? "127.0.0.1",
  PGPORT: process.env.PGPORT ?? "5432",
  PGUSER: process.env.PGUSER ?? "postgres",
  PGDATABASE: process.env.PGDATABASE ?? "test",
};

/** Why PostgreSQL cannot be used here, or null when it can. Throws under CI=true. */
export function postgresUnavailable(): string | null {
  const probe = spawnSync("psql", ["-XAtc", "select 1"], { env, encoding: "utf8", timeout: 10_000 });
  if (probe.status === 0 && probe.stdout.trim() === "1") return null;
  const reason = `PostgreSQL not reachable at ${env.PGHOST}:${env.PGPORT} as ${env.PGUSER}: ${
    probe.error?.message ?? probe.stderr.trim()
  }`;
  if (process.env.CI === "true") throw new Error(reason);
  return reason;
}

/** A SQL string literal (standard_conforming_strings: only quotes are doubled). */
export function sqlLiteral(text: string): string {
  if (text.includes("\0")) throw new Error("PostgreSQL text cannot hold NUL");
  return `'${text.replaceAll("'", "''")}'`;
}

/** Run a script; returns its unaligned tuple output lines. Throws with psql's error. */
export function psql(script: string): string[] {
  const run = spawnSync("psql", ["-XAt", "-v", "ON_ERROR_STOP=1", "-f", "-"], {
    env,
    input: script,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    timeout: 60_000,
  });
  if (run.status !== 0) throw new Error(`psql failed: ${run.stderr || run.error?.message}`);
  return run.stdout.split("\n").filter((line) => line !== "");
}
