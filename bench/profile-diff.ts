/**
 * `npx tsx bench/profile-diff.ts FLOOR.json... -- SERVICE.json...`: two sets of bench/profile.ts `--save`
 * runs (e.g. `--floor` and the service, alternated) side by side, µs per call by function: the median of
 * each set's runs, and the service's extra. Node's internals are listed by function, our code and the
 * libraries by area (their functions differ between the two servers), so the comparison reads as "what
 * the service makes Node do that the floor does not".
 */
import fs from "node:fs";

interface Saved {
  cpuUs: number;
  rps: number;
  byArea: Record<string, number>;
  byFunction: Record<string, number>;
}

const args = process.argv.slice(2);
const cut = args.indexOf("--");
if (cut < 1 || cut === args.length - 1) {
  process.stderr.write("usage: profile-diff.ts FLOOR.json... -- SERVICE.json...\n");
  process.exit(2);
}
const load = (files: string[]) => files.map((f) => JSON.parse(fs.readFileSync(f, "utf8")) as Saved);
const floor = load(args.slice(0, cut));
const service = load(args.slice(cut + 1));

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** Node internals and V8 builtins by function; everything else (ours, libraries, GC) by area. */
function rows(run: Saved): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, us] of Object.entries(run.byFunction)) {
    if (!/ node:|:0$/.test(key)) continue;
    out.set(key, (out.get(key) ?? 0) + us);
  }
  for (const [a, us] of Object.entries(run.byArea)) {
    if (a.startsWith("node internals") || a === "native / V8 builtins") continue;
    out.set(`[${a}]`, us);
  }
  return out;
}

const f = floor.map(rows);
const s = service.map(rows);
const keys = new Set([...f, ...s].flatMap((m) => [...m.keys()]));
const table = [...keys].map((k) => {
  const a = median(f.map((m) => m.get(k) ?? 0));
  const b = median(s.map((m) => m.get(k) ?? 0));
  return { k, a, b, d: b - a };
});
const fix = (x: number) => x.toFixed(2).padStart(7);
const log = (line: string) => process.stdout.write(`${line}\n`);
log(
  `CPU per call (median): floor ${fix(median(floor.map((r) => r.cpuUs)))} µs, service ${fix(median(service.map((r) => r.cpuUs)))} µs`,
);
log(`${"floor".padStart(7)} ${"service".padStart(7)} ${"extra".padStart(7)}  function or area`);
for (const r of table.sort((x, y) => Math.abs(y.d) - Math.abs(x.d))) {
  if (Math.abs(r.d) < 0.05 && r.a < 0.2) continue;
  log(`${fix(r.a)} ${fix(r.b)} ${fix(r.d)}  ${r.k}`);
}
