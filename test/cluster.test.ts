/**
 * WORKERS=2: two server processes share the port and the WAL database. Both serve, writes stay
 * correct across processes (one job per idempotency key under concurrent retries landing on both
 * workers), and SIGTERM to the primary drains every worker and exits 0.
 */
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { ensureLocalSecret } from "../src/auth/keys.js";
import { signToken } from "../src/auth/token.js";
import { loadConfig } from "../src/config.js";
import { startChildServer } from "./support/child-server.js";

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "job-cluster-"));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

interface JobAnswer {
  job_id?: string;
  total_count?: number;
}

/** A POST on a fresh connection each time (no keep-alive), so the kernel spreads them over workers. */
function post(
  url: string,
  pathName: string,
  token: string,
  body: unknown,
): Promise<{ status: number; json: JobAnswer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}${pathName}`,
      {
        method: "POST",
        agent: false,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => {
          text += c.toString();
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as JobAnswer }));
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

/** User + system CPU ticks of a process. */
function cpuTicks(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return Number(fields[11]) + Number(fields[12]);
}

function childPids(pid: number): number[] {
  const text = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
  return text === "" ? [] : text.split(/\s+/).map(Number);
}

describe("cluster mode (WORKERS=2)", () => {
  it("serves from both workers, keeps writes correct, and drains on SIGTERM", async () => {
    const config = loadConfig({ DATA_DIR: dataDir });
    ensureLocalSecret(config);
    const admin = await signToken(config, { role: "DOMAIN_ADMIN", domainId: "domain-c", ttlSeconds: 600 });
    const system = await signToken(config, {
      role: "DOMAIN_ADMIN",
      domainId: "domain-c",
      ttlSeconds: 600,
      tokenType: "SYSTEM_TOKEN",
    });
    const server = await startChildServer(dataDir, { WORKERS: "2", LOG_LEVEL: "info" });
    try {
      // Both workers report listening.
      for (let i = 0; i < 100 && (server.log().match(/"msg":"listening"/g) ?? []).length < 2; i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect((server.log().match(/"msg":"listening"/g) ?? []).length).toBe(2);
      const pid = server.process.pid as number;
      const workers = childPids(pid);
      expect(workers).toHaveLength(2);
      const before = workers.map(cpuTicks);

      // Concurrent creates with one idempotency key, on fresh connections (spread over both workers),
      // plus other jobs with their own keys.
      const same = await Promise.all(
        Array.from({ length: 24 }, () =>
          post(server.url, "/identity/v2/job/create", system, {
            trusted_account_id: "ta-cluster",
            resource_group: "WORKSPACE",
            workspace_id: "ws-c",
            idempotency_key: "cluster-same-key",
          }),
        ),
      );
      expect(same.every((r) => r.status === 200)).toBe(true);
      expect(new Set(same.map((r) => r.json.job_id)).size).toBe(1);
      const distinct = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          post(server.url, "/identity/v2/job/create", system, {
            trusted_account_id: `ta-cluster-${i}`,
            resource_group: "WORKSPACE",
            workspace_id: "ws-c",
            idempotency_key: `cluster-key-${i}`,
          }),
        ),
      );
      expect(distinct.every((r) => r.status === 200)).toBe(true);
      for (let i = 0; i < 300; i += 30) {
        const reads = await Promise.all(
          Array.from({ length: 30 }, () =>
            post(server.url, "/identity/v2/job/list", admin, { query: { count_only: true } }),
          ),
        );
        for (const r of reads) expect(r.json.total_count).toBe(61);
      }
      // Both workers did work.
      const after = workers.map(cpuTicks);
      expect(after[0]).toBeGreaterThan(before[0] as number);
      expect(after[1]).toBeGreaterThan(before[1] as number);

      server.process.kill("SIGTERM");
      expect(await server.exited).toBe(0);
      expect(server.log()).toMatch(/"msg":"stopped"/);
      for (const worker of workers) expect(fs.existsSync(`/proc/${worker}`)).toBe(false);
    } finally {
      if (server.process.exitCode === null) server.process.kill("SIGKILL");
    }
    const db = new Database(config.databaseFile, { readonly: true });
    expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    expect((db.prepare("SELECT count(*) AS n FROM jobs").get() as { n: number }).n).toBe(61);
    db.close();
  });
});
