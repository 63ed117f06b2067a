/**
 * The server's command line, as a new user meets it: `npm start -- --help` prints the usage and does not
 * start a server; a stray argument or a bad variable stops it with a message saying what to fix.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "..");

function start(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, ["--import", "tsx", "src/main.ts", ...args], {
    cwd: root,
    env: { ...process.env, PORT: "0", DATA_DIR: path.join(root, "test-data-never-created"), ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("npm start arguments and variables", () => {
  it("--help prints the variables and exits 0 without serving", () => {
    const run = start(["--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("usage: npm start");
    for (const name of ["PORT", "WORKERS", "CORS_ALLOWED_ORIGINS", "IDENTITY_ENDPOINT"]) {
      expect(run.stdout).toContain(`  ${name}\n`);
    }
    expect(run.stderr).not.toContain("listening");
  });

  it("a stray argument is refused with exit 2", () => {
    const run = start(["--port", "3"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unexpected argument "--port"');
  });

  it("WORKERS=zero says what it expects", () => {
    const run = start([], { WORKERS: "zero" });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('WORKERS="zero": expected a whole number from 1 to 64, or auto');
  });
});
