/**
 * How quiet the machine was: the CPU time the hypervisor gave to other guests while a scenario ran
 * ("steal", the eighth number of each `cpu` line of /proc/stat). A run on a machine shared with busy
 * neighbours reads slower and, for a service that touches more memory than its baseline, with a higher
 * ratio (docs/benchmarks.md, the first paragraph); this lets a results file say which runs were quiet.
 */
import fs from "node:fs";

/** One `cpu` line of /proc/stat: every tick it counts, and the stolen ones. */
export interface CpuTicks {
  readonly cpu: string;
  readonly total: number;
  readonly steal: number;
}

/** The `cpu` lines of a /proc/stat text (the aggregate `cpu` first, then `cpu0`, `cpu1`...). */
export function parseProcStat(text: string): CpuTicks[] {
  const out: CpuTicks[] = [];
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    const name = fields[0];
    if (name === undefined || !/^cpu\d*$/.test(name)) continue;
    // user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is already in user.
    const ticks = fields.slice(1, 9).map(Number);
    if (ticks.length < 8 || ticks.some((t) => !Number.isFinite(t))) continue;
    out.push({ cpu: name, total: ticks.reduce((a, b) => a + b, 0), steal: ticks[7] as number });
  }
  return out;
}

/** This machine's ticks now, or null where there is no /proc/stat. */
export function readCpuTicks(): CpuTicks[] | null {
  try {
    return parseProcStat(fs.readFileSync("/proc/stat", "utf8"));
  } catch {
    return null;
  }
}

/** The aggregate's share of ticks stolen between two readings (0..1), or null when it cannot tell. */
export function stealShare(
  before: readonly CpuTicks[] | null,
  after: readonly CpuTicks[] | null,
): number | null {
  const a = before?.find((t) => t.cpu === "cpu");
  const b = after?.find((t) => t.cpu === "cpu");
  if (a === undefined || b === undefined || b.total <= a.total) return null;
  return (b.steal - a.steal) / (b.total - a.total);
}
