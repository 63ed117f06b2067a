import { describe, expect, it } from "vitest";
import { JOB_STATUSES } from "../src/catalogue/job-fields.js";
import {
  FIRST_SEED_DOMAIN,
  generateJobs,
  insertJobs,
  type SeedJob,
  seedWorld,
} from "../src/seed/generate.js";
import { openDatabase } from "../src/storage/database.js";

const NOW = new Date("2025-06-15T12:00:00.000Z");
const DAY_MS = 86_400_000;
const FINISHED = new Set(["SUCCESS", "FAILURE", "CANCELED"]);
const PLUGINS = new Set([
  "plugin-aws-cloud-service-inven-collector",
  "plugin-azure-inven-collector",
  "plugin-google-cloud-inven-collector",
  "plugin-oci-inven-collector",
  "plugin-alibaba-cloud-inven-collector",
]);

const generate = (count: number, seed = 42, extra: { firstIndex?: number; now?: Date } = {}) => [
  ...generateJobs({ count, seed, now: NOW, ...extra }),
];

describe("generateJobs", () => {
  it("is deterministic for a seed and `now`", () => {
    const a = generate(3000);
    expect(generate(3000)).toEqual(a);
    expect(a).toHaveLength(3000);
    const other = generate(3000, 43);
    expect(other.map((j) => j.job_id)).not.toEqual(a.map((j) => j.job_id));
    // `now` only moves the timestamps: same ids, same accounts.
    const later = generate(3000, 42, { now: new Date(NOW.getTime() + DAY_MS) });
    expect(later.map((j) => j.job_id)).toEqual(a.map((j) => j.job_id));
    expect(later.map((j) => j.trusted_account_id)).toEqual(a.map((j) => j.trusted_account_id));
  });

  it("gives consecutive batches (firstIndex) distinct ids in the same world", () => {
    const first = generate(2000);
    const second = generate(2000, 42, { firstIndex: 2000 });
    const all = generate(4000);
    expect([...first, ...second].map((j) => j.job_id)).toEqual(all.map((j) => j.job_id));
    const worldIds = new Set(
      seedWorld(42).flatMap((d) =>
        [...d.domainAccounts, ...d.workspaceAccounts].map((a) => a.trustedAccountId),
      ),
    );
    expect(first.every((j) => worldIds.has(j.trusted_account_id))).toBe(true);
    expect(second.every((j) => worldIds.has(j.trusted_account_id))).toBe(true);
  });

  describe("distribution of 20,000 jobs", () => {
    const jobs = generate(20_000);
    const byDomain = countBy(jobs, (j) => j.domain_id);

    it("puts about half the jobs in domain-seed0001, the largest domain", () => {
      const ranked = [...byDomain.entries()].sort((x, y) => y[1] - x[1]);
      expect(ranked[0]?.[0]).toBe(FIRST_SEED_DOMAIN);
      const share = (byDomain.get(FIRST_SEED_DOMAIN) ?? 0) / jobs.length;
      expect(share).toBeGreaterThan(0.45);
      expect(share).toBeLessThan(0.55);
      expect(byDomain.size).toBeGreaterThanOrEqual(3);
    });

    it("has 3-6 workspaces per domain and ~15% domain-level jobs stored with workspace '*'", () => {
      for (const domainId of byDomain.keys()) {
        const workspaces = new Set(
          jobs.filter((j) => j.domain_id === domainId && j.workspace_id !== "*").map((j) => j.workspace_id),
        );
        expect(workspaces.size).toBeGreaterThanOrEqual(3);
        expect(workspaces.size).toBeLessThanOrEqual(6);
        for (const w of workspaces) expect(w).toMatch(/^workspace-[0-9a-f]{12}$/);
      }
      for (const job of jobs) {
        expect(job.resource_group === "DOMAIN").toBe(job.workspace_id === "*");
      }
      const domainShare = jobs.filter((j) => j.resource_group === "DOMAIN").length / jobs.length;
      expect(domainShare).toBeGreaterThan(0.12);
      expect(domainShare).toBeLessThan(0.18);
    });

    it("ties each trusted account to one domain, workspace and plugin", () => {
      const seen = new Map<string, string>();
      for (const job of jobs) {
        expect(job.trusted_account_id).toMatch(/^ta-[0-9a-f]{12}$/);
        expect(PLUGINS.has(job.plugin_id as string)).toBe(true);
        const key = `${job.domain_id}|${job.workspace_id}|${job.plugin_id}`;
        expect(seen.get(job.trusted_account_id) ?? key).toBe(key);
        seen.set(job.trusted_account_id, key);
      }
      const perDomain = countBy([...seen.values()], (key) => key.split("|")[0] as string);
      for (const count of perDomain.values()) {
        expect(count).toBeGreaterThanOrEqual(30);
        expect(count).toBeLessThanOrEqual(50);
      }
    });

    it("has every status, mostly SUCCESS, unfinished ones only in the last half hour", () => {
      const byStatus = countBy(jobs, (j) => j.status);
      for (const status of JOB_STATUSES) expect(byStatus.get(status) ?? 0).toBeGreaterThan(0);
      expect((byStatus.get("SUCCESS") ?? 0) / jobs.length).toBeGreaterThan(0.75);
      expect((byStatus.get("FAILURE") ?? 0) / jobs.length).toBeGreaterThan(0.05);
      for (const job of jobs) {
        if (FINISHED.has(job.status)) continue;
        expect(NOW.getTime() - Date.parse(job.created_at)).toBeLessThanOrEqual(30 * 60_000);
      }
    });

    it("sets finished_at exactly on finished jobs and keeps timestamps ordered", () => {
      const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
      for (const job of jobs) {
        expect(job.finished_at !== null).toBe(FINISHED.has(job.status));
        for (const t of [job.created_at, job.updated_at, job.finished_at]) {
          if (t === null) continue;
          expect(t).toMatch(iso);
          expect(new Date(t).toISOString()).toBe(t);
          expect(Date.parse(t)).toBeLessThanOrEqual(NOW.getTime());
        }
        expect(job.updated_at >= job.created_at).toBe(true);
        if (job.finished_at !== null) {
          expect(job.finished_at >= job.created_at).toBe(true);
          expect(job.updated_at).toBe(job.finished_at);
        }
        if (job.status === "PENDING") expect(job.updated_at).toBe(job.created_at);
      }
      const created = jobs.map((j) => Date.parse(j.created_at));
      expect(Math.min(...created)).toBeGreaterThanOrEqual(NOW.getTime() - 190 * DAY_MS);
      expect(Math.min(...created)).toBeLessThan(NOW.getTime() - 150 * DAY_MS);
    });

    it("gives error messages to failures only, including identity's duplicate-job error", () => {
      for (const job of jobs) {
        expect(job.error_message !== null).toBe(job.status === "FAILURE");
      }
      const duplicates = jobs.filter((j) => j.error_message?.startsWith("The same job is already running."));
      expect(duplicates.length).toBeGreaterThan(0);
      for (const job of duplicates) {
        expect(job.error_message).toBe(
          `The same job is already running. (trusted_account_id = ${job.trusted_account_id})`,
        );
      }
      const messages = new Set(jobs.map((j) => j.error_message).filter((m) => m !== null));
      expect(messages.size).toBeGreaterThan(20);
    });

    it("stores options as JSON objects", () => {
      const providers = new Set<string>();
      for (const job of jobs) {
        const options = JSON.parse(job.options as string);
        expect(typeof options).toBe("object");
        expect(Array.isArray(options)).toBe(false);
        if ("provider" in options) {
          providers.add(options.provider);
          expect(options.regions.length).toBeGreaterThan(0);
          expect(options.sync_options).toHaveProperty("skip_project_group");
        }
      }
      expect(providers.size).toBeGreaterThanOrEqual(4);
    });

    it("gives unique job-<12 hex> ids", () => {
      for (const job of jobs) expect(job.job_id).toMatch(/^job-[0-9a-f]{12}$/);
      expect(new Set(jobs.map((j) => j.job_id)).size).toBe(jobs.length);
    });
  });

  it("describes the same world the jobs use", () => {
    const world = seedWorld(42);
    expect(world[0]?.domainId).toBe(FIRST_SEED_DOMAIN);
    for (const domain of world) {
      expect(domain.workspaceIds.length).toBeGreaterThanOrEqual(3);
      expect(domain.workspaceIds.length).toBeLessThanOrEqual(6);
      const accounts = domain.domainAccounts.length + domain.workspaceAccounts.length;
      expect(accounts).toBeGreaterThanOrEqual(36);
      expect(accounts).toBeLessThanOrEqual(44);
      expect(domain.domainAccounts.every((a) => a.workspaceId === "*")).toBe(true);
      expect(domain.workspaceAccounts.every((a) => domain.workspaceIds.includes(a.workspaceId))).toBe(true);
    }
  });

  it("generates 100,000 jobs in well under a few seconds", () => {
    const started = performance.now();
    let count = 0;
    for (const _ of generateJobs({ count: 100_000, seed: 7, now: NOW })) count++;
    expect(count).toBe(100_000);
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it("rejects a negative count", () => {
    expect(() => generate(-1)).toThrow(RangeError);
  });
});

describe("insertJobs", () => {
  it("inserts every generated row", () => {
    const db = openDatabase({ file: ":memory:" });
    try {
      const jobs = generate(5000);
      expect(insertJobs(db, jobs, 1234)).toBe(5000);
      expect(db.prepare("SELECT COUNT(*) AS n FROM jobs").get()).toEqual({ n: 5000 });
      const row = db.prepare("SELECT * FROM jobs WHERE job_id = ?").get(jobs[4321]?.job_id) as SeedJob & {
        seq: number;
      };
      // toMatchObject: migration 2 added lifecycle columns the seed leaves at their defaults.
      expect(row).toMatchObject({ ...jobs[4321], seq: 4322 });
      const statuses = db.prepare("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status").all() as {
        status: string;
        n: number;
      }[];
      const expected = countBy(jobs, (j) => j.status);
      for (const { status, n } of statuses) expect(n).toBe(expected.get(status));
    } finally {
      db.close();
    }
  });

  it("commits one transaction per batch: a failing batch rolls back alone", () => {
    const db = openDatabase({ file: ":memory:" });
    try {
      const jobs = generate(250);
      // Row 251 repeats a job id, so the third batch (rows 201-251) fails on the UNIQUE index.
      const rows = [...jobs, jobs[0] as SeedJob];
      expect(() => insertJobs(db, rows, 100)).toThrow(/UNIQUE/);
      expect(db.prepare("SELECT COUNT(*) AS n FROM jobs").get()).toEqual({ n: 200 });
      expect(db.inTransaction).toBe(false);
    } finally {
      db.close();
    }
  });

  it("streams rows without holding them (one transaction for everything with batch = Infinity)", () => {
    const db = openDatabase({ file: ":memory:" });
    try {
      let pulled = 0;
      const rows = (function* () {
        for (const job of generateJobs({ count: 3000, seed: 5, now: NOW })) {
          pulled++;
          yield job;
        }
      })();
      expect(insertJobs(db, rows, Number.POSITIVE_INFINITY)).toBe(3000);
      expect(pulled).toBe(3000);
      expect(db.prepare("SELECT COUNT(DISTINCT job_id) AS n FROM jobs").get()).toEqual({ n: 3000 });
    } finally {
      db.close();
    }
  });
});

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}
