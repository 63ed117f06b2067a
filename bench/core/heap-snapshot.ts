/** Reading a V8 heap snapshot (`--heapsnapshot-signal`): self size and object count by kind and constructor. */
import fs from "node:fs";

export interface HeapSummary {
  /** MB by node kind (code, strings, objects...), largest first. */
  readonly byType: [string, number][];
  /** MB by constructor name, the 15 largest. */
  readonly byName: [string, number][];
  /** MB and object count by constructor name, every one (for diffing two snapshots). */
  readonly all: Map<string, { mb: number; count: number }>;
  readonly total: number;
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size by node kind and by constructor name (top ones), in MB. */
export function summarize(file: string): HeapSummary {
  const snap = JSON.parse(fs.readFileSync(file, "utf8")) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const iType = fields.indexOf("type");
  const iName = fields.indexOf("name");
  const iSize = fields.indexOf("self_size");
  const byType = new Map<string, number>();
  const byName = new Map<string, number>();
  const counts = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const size = snap.nodes[i + iSize] as number;
    const type = types[snap.nodes[i + iType] as number] ?? "?";
    const given = snap.strings[snap.nodes[i + iName] as number] ?? "?";
    // Objects by constructor, closures by function name (per-stream closures show who made them).
    const name =
      type === "object" || type === "native"
        ? given
        : type === "closure"
          ? `(closure ${given || "anonymous"})`
          : `(${type})`;
    total += size;
    byType.set(type, (byType.get(type) ?? 0) + size);
    byName.set(name, (byName.get(name) ?? 0) + size);
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const mb = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, v / 1048576] as [string, number]);
  const all = new Map([...byName].map(([k, v]) => [k, { mb: v / 1048576, count: counts.get(k) ?? 0 }]));
  return { byType: mb(byType), byName: mb(byName).slice(0, 15), all, total: total / 1048576 };
}
