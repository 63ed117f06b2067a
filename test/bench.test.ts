/**
 * The benchmark runs end to end on a tiny data set and writes a well-formed results file. No timing is
 * asserted (machines are shared and noisy): only that every figure is there with the right shape.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "job-bench-test-"));

afterAll(() => {
  fs.rmSync(outDir, { recursive: true, force: true });
});

function runBench(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "bench/run.ts", ...args], {
      cwd: repoRoot,
      env: process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (c: Buffer) => {
      output += c.toString("utf8");
    });
    child.stderr.on("data", (c: Buffer) => {
      output += c.toString("utf8");
    });
    child.on("exit", (code) => resolve({ code, output }));
  });
}

const EXPECTED = [
  "get.connect_json_h1.rps",
  "get.connect_json_h1.p50_ms",
  "get.connect_json_h1.p99_ms",
  "get.connect_proto_h2c.rps",
  "get.connect_proto_h2c.p50_ms",
  "get.connect_proto_h2c.p99_ms",
  "get.grpc.rps",
  "get.grpc.p50_ms",
  "get.grpc.p99_ms",
  "get.grpc.rps_vs_bare",
  "list.p50_ms",
  "list.service_p50_ms",
  "stat.group_by_status.p50_ms",
  "stat.failures_per_plugin_per_day.p50_ms",
  "lifecycle.progress_writes_per_s",
  "scaling.list_p50.largest_vs_smallest",
  "scaling.stat_p50.largest_vs_smallest",
  "server.peak_rss_mb",
];

/** Figures that must have a value on any machine (the others may be "not measurable yet"). */
const ALWAYS_MEASURED = [
  "get.connect_json_h1.rps",
  "get.connect_proto_h2c.rps",
  "get.grpc.rps",
  "get.grpc.rps_vs_bare",
  "list.p50_ms",
  "scaling.list_p50.largest_vs_smallest",
];

const isNumberOrNull = (v: unknown) => v === null || (typeof v === "number" && Number.isFinite(v));

describe("npm run bench -- --quick on a tiny data set", () => {
  it("measures every figure and writes latest.json and latest.md", { timeout: 180_000 }, async () => {
    const { code, output } = await runBench([
      "--quick",
      "--jobs",
      "500",
      "--duration",
      "0.5",
      "--warmup",
      "0.2",
      "--connections",
      "8",
      "--writers",
      "2",
      "--out",
      outDir,
    ]);
    expect(code, output.slice(-4000)).toBe(0);
    expect(output).toMatch(/pinning: (yes|no)/);

    const results = JSON.parse(fs.readFileSync(path.join(outDir, "latest.json"), "utf8")) as {
      mode: string;
      machine: Record<string, unknown> & { pinning: Record<string, unknown> };
      figures: Record<string, unknown>[];
      runs: Record<string, unknown>[];
    };
    expect(results.mode).toBe("quick");
    expect(typeof results.machine.cpu_model).toBe("string");
    expect(typeof results.machine.cores).toBe("number");
    expect(typeof results.machine.node).toBe("string");
    expect(typeof results.machine.pinning.enabled).toBe("boolean");
    expect(Array.isArray(results.figures)).toBe(true);

    for (const f of results.figures) {
      expect(typeof f.name, JSON.stringify(f)).toBe("string");
      expect(typeof f.unit, JSON.stringify(f)).toBe("string");
      expect(isNumberOrNull(f.value), JSON.stringify(f)).toBe(true);
      expect(isNumberOrNull(f.baseline), JSON.stringify(f)).toBe(true);
      expect(isNumberOrNull(f.ratio), JSON.stringify(f)).toBe(true);
      expect(f.met === null || typeof f.met === "boolean", JSON.stringify(f)).toBe(true);
      expect(["measured", "not measurable yet", "not measurable"]).toContain(f.status);
      if (f.value === null) expect(f.status, JSON.stringify(f)).not.toBe("measured");
      if (typeof f.value === "number" && typeof f.baseline === "number" && f.baseline !== 0) {
        expect(typeof f.ratio, JSON.stringify(f)).toBe("number");
      }
      if (f.target !== null) {
        const t = f.target as Record<string, unknown>;
        expect(["ratio", "value"]).toContain(t.on);
        expect([">=", "<="]).toContain(t.op);
        expect(typeof t.threshold).toBe("number");
      }
    }
    const names = results.figures.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of EXPECTED) expect(names, name).toContain(name);
    for (const name of ALWAYS_MEASURED) {
      const f = results.figures.find((x) => x.name === name);
      expect(f?.status, name).toBe("measured");
      expect(typeof f?.value, name).toBe("number");
      expect(typeof f?.baseline, name).toBe("number");
    }
    for (const r of results.runs) {
      expect(typeof r.label).toBe("string");
      expect((r.ok as number) > 0).toBe(true);
    }

    const md = fs.readFileSync(path.join(outDir, "latest.md"), "utf8");
    expect(md).toContain("| figure | value | unit | baseline | ratio | target | met? |");
    expect(md).toContain("get.grpc.rps");
  });

  it("refuses a bad option without measuring anything", { timeout: 60_000 }, async () => {
    const { code, output } = await runBench(["--jobs", "nope", "--out", outDir]);
    expect(code).toBe(2);
    expect(output).toContain("--jobs must be a number");
  });
});
