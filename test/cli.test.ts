/** The token and seed CLIs, run as a user would: `npx tsx src/cli/<name>.ts` in a fresh DATA_DIR. */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTokenVerifier } from "../src/auth/token.js";
import { loadConfig } from "../src/config.js";
import { openDatabase } from "../src/storage/database.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
let dataDir: string;

beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "cli-test-"));
});
afterAll(() => {
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** The environment of the CLI: only DATA_DIR configures it, whatever the outer shell has set. */
function env(): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith("JWT_") && key !== "DATABASE_FILE"),
  );
  return { ...clean, DATA_DIR: dataDir };
}

function run(script: string, args: string[]) {
  const result = spawnSync("npx", ["tsx", `src/cli/${script}.ts`, ...args], {
    cwd: repo,
    env: env(),
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("npm run token", () => {
  it("prints exactly one JWT line that the service verifies", async () => {
    const result = run("token", ["--domain", "d1", "--role", "WORKSPACE_OWNER", "--workspace", "w1"]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/);
    // The secret was created on first use, private to its owner.
    const config = loadConfig({ DATA_DIR: dataDir });
    expect(fs.statSync(config.jwt.secretFile).mode & 0o777).toBe(0o600);

    const verifier = await createTokenVerifier(config);
    expect(await verifier.verify(result.stdout.trim())).toMatchObject({
      tokenType: "ACCESS_TOKEN",
      role: "WORKSPACE_OWNER",
      domainId: "d1",
      workspaceId: "w1",
    });

    const payload = JSON.parse(Buffer.from(result.stdout.split(".")[1] as string, "base64url").toString());
    expect(payload.exp - payload.iat).toBe(86_400);
  });

  it("defaults to a domain admin of the first seeded domain, and mints system tokens", async () => {
    const verifier = await createTokenVerifier(loadConfig({ DATA_DIR: dataDir }));
    const plain = run("token", []);
    expect(plain.status).toBe(0);
    expect(await verifier.verify(plain.stdout.trim())).toMatchObject({
      role: "DOMAIN_ADMIN",
      domainId: "domain-seed0001",
      workspaceId: null,
    });
    const system = run("token", [
      "--system",
      "--ttl",
      "60",
      "--permissions",
      "identity:Job.read,identity:Job",
    ]);
    expect(system.status).toBe(0);
    expect(await verifier.verify(system.stdout.trim())).toMatchObject({
      tokenType: "SYSTEM_TOKEN",
      permissions: ["identity:Job.read", "identity:Job"],
    });
  });

  it.each([
    [["--role", "WORKSPACE_OWNER"], /needs a workspace id/],
    // "*" marks domain-level jobs; a token naming it would reach them (issue 9.7).
    [["--role", "WORKSPACE_OWNER", "--workspace", "*"], /"\*" is not a workspace/],
    [["--role", "ROOT"], /--role must be one of/],
    [["--ttl", "-5"], /--ttl/],
    [["--bogus"], /Unknown option/],
  ])("exits 2 with a usage line for %j", (args, message) => {
    const result = run("token", args);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain("usage: npm run token");
  });
});

describe("npm run seed", () => {
  it("inserts, appends and resets", () => {
    const first = run("seed", ["--jobs", "500", "--seed", "3", "--reset"]);
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/^inserted 500 jobs across \d+ domains .* in \d+ ms into .*jobs\.db\n$/);

    // Without --reset the jobs are appended with new ids (no UNIQUE clash with the first batch).
    const second = run("seed", ["--jobs", "300", "--seed", "3"]);
    expect(second.status).toBe(0);
    const countRows = () => {
      const db = openDatabase({ file: path.join(dataDir, "jobs.db") });
      try {
        return db.prepare("SELECT COUNT(*) AS n, COUNT(DISTINCT job_id) AS ids FROM jobs").get();
      } finally {
        db.close();
      }
    };
    expect(countRows()).toEqual({ n: 800, ids: 800 });

    const reset = run("seed", ["--jobs", "100", "--reset"]);
    expect(reset.status).toBe(0);
    expect(countRows()).toEqual({ n: 100, ids: 100 });

    const bad = run("seed", ["--jobs", "many"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("usage: npm run seed");
  });
});
