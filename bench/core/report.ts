/** The results: a table on the terminal, `latest.json` and `latest.md`. */
import fs from "node:fs";
import path from "node:path";
import { type Figure, fmt, round, targetText } from "./figure.js";
import type { LoadResult } from "./load-result.js";
import type { machineInfo } from "./proc.js";

export interface RunRecord {
  /** e.g. "real server / Connect JSON HTTP/1.1" */
  label: string;
  result: LoadResult;
  /** Server CPU time per request (µs), from /proc; null where unavailable. */
  serverCpuUsPerRequest: number | null;
  /** Server CPU use over the load generator's life (warm-up included), % of one core. */
  serverCpuPct: number | null;
}

export interface Results {
  version: 1;
  generated_at: string;
  mode: "quick" | "full";
  machine: ReturnType<typeof machineInfo>;
  settings: Record<string, unknown>;
  figures: Figure[];
  runs: {
    label: string;
    rps: number | null;
    p50_ms: number | null;
    p99_ms: number | null;
    ok: number;
    errors: number;
    error_samples: string[];
    server_cpu_us_per_request: number | null;
    server_cpu_pct: number | null;
    generator_cpu_pct: number | null;
    generator: string;
  }[];
  notes: string[];
}

function metText(f: Figure): string {
  if (f.status !== "measured") return f.status;
  if (f.met === null) return "";
  return f.met ? "yes" : "NO";
}

function rows(figures: readonly Figure[]): string[][] {
  return figures.map((f) => [
    f.name,
    f.value === null ? "-" : fmt(f.value),
    f.unit,
    f.baseline === null ? "-" : `${fmt(f.baseline)}${f.baseline_name ? ` (${f.baseline_name})` : ""}`,
    f.ratio === null ? "-" : `${fmt(f.ratio)} x`,
    targetText(f.target),
    metText(f),
  ]);
}

const HEADER = ["figure", "value", "unit", "baseline", "ratio", "target", "met?"];

export function formatTable(figures: readonly Figure[]): string {
  const all = [HEADER, ...rows(figures)];
  const widths = HEADER.map((_, i) => Math.min(70, Math.max(...all.map((r) => (r[i] ?? "").length))));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(HEADER), widths.map((w) => "-".repeat(w)).join("  "), ...rows(figures).map(line)].join("\n");
}

function mdEscape(s: string): string {
  return s.replaceAll("|", "\\|");
}

export function formatMarkdown(results: Results): string {
  const m = results.machine;
  const out: string[] = [];
  out.push(`# Benchmark results (${results.mode})`, "");
  out.push(`Generated ${results.generated_at} by \`npm run bench\`.`, "");
  out.push(
    `Machine: ${m.cpu_model}, ${m.cores} cores, ${m.memory_gb} GB, Node ${m.node}, ${m.platform}. ` +
      `Pinning: ${m.pinning.enabled ? "yes" : "no"} (${m.pinning.note}).`,
    "",
  );
  out.push(`Settings: \`${JSON.stringify(results.settings)}\``, "");
  out.push(`| ${HEADER.join(" | ")} |`, `|${HEADER.map(() => "---").join("|")}|`);
  for (const r of rows(results.figures)) out.push(`| ${r.map(mdEscape).join(" | ")} |`);
  out.push("", "## Load runs", "");
  out.push(
    "| run | req/s | p50 ms | p99 ms | ok | errors | server CPU µs/req | server CPU % | generator CPU % | generator |",
    "|---|---|---|---|---|---|---|---|---|---|",
  );
  for (const r of results.runs) {
    out.push(
      `| ${mdEscape(r.label)} | ${fmt(r.rps)} | ${fmt(r.p50_ms)} | ${fmt(r.p99_ms)} | ${r.ok} | ${r.errors}${
        r.error_samples.length ? ` (${mdEscape(r.error_samples.join("; "))})` : ""
      } | ${fmt(r.server_cpu_us_per_request)} | ${fmt(r.server_cpu_pct)} | ${fmt(r.generator_cpu_pct)} | ${r.generator} |`,
    );
  }
  const noted = results.figures.filter((f) => f.note);
  if (noted.length > 0) {
    out.push("", "## Notes on figures", "");
    for (const f of noted) out.push(`- \`${f.name}\`: ${f.note}`);
  }
  if (results.notes.length > 0) {
    out.push("", "## Run notes", "");
    for (const n of results.notes) out.push(`- ${n}`);
  }
  return `${out.join("\n")}\n`;
}

export function runRecordToJson(r: RunRecord): Results["runs"][number] {
  return {
    label: r.label,
    rps: round(r.result.rps, 1),
    p50_ms: round(r.result.p50Ms, 3),
    p99_ms: round(r.result.p99Ms, 3),
    ok: r.result.ok,
    errors: r.result.errors,
    error_samples: r.result.errorSamples,
    server_cpu_us_per_request: round(r.serverCpuUsPerRequest, 1),
    server_cpu_pct: round(r.serverCpuPct, 0),
    generator_cpu_pct: round(r.result.generatorCpuPct, 0),
    generator: r.result.generator,
  };
}

export function writeResults(dir: string, results: Results): { json: string; md: string } {
  fs.mkdirSync(dir, { recursive: true });
  const json = path.join(dir, "latest.json");
  const md = path.join(dir, "latest.md");
  fs.writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
  fs.writeFileSync(md, formatMarkdown(results));
  return { json, md };
}
