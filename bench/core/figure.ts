/**
 * The figure record written to `latest.json`: a value, the baseline measured in the same run, their ratio
 * and the target it is held to; and the number formatting of the reports.
 */

/** A target on the ratio to the baseline, or on the value itself. */
export interface Target {
  readonly on: "ratio" | "value";
  readonly op: ">=" | "<=";
  readonly threshold: number;
}

export interface Figure {
  /** Stable identifier (tests and tooling look figures up by it). */
  name: string;
  /** What it measures, for people. */
  title: string;
  /** null when the figure could not be measured (see `note`). */
  value: number | null;
  unit: string;
  /** The same measurement on the baseline, in the same run; null when there is none. */
  baseline: number | null;
  /** What the baseline is. */
  baseline_name: string | null;
  /**
   * value / baseline; null when either is missing. For a paired figure, the median of the pairs' own
   * ratios (each service run over the baseline run right beside it), which drift between pairs leaves alone.
   */
  ratio: number | null;
  target: Target | null;
  /** Whether the target is met; null without a target or without a value. */
  met: boolean | null;
  /** "measured" or "not measurable yet" / "not measurable". */
  status: "measured" | "not measurable yet" | "not measurable";
  note?: string;
}

export function figure(init: {
  name: string;
  title: string;
  value: number | null;
  unit: string;
  baseline?: number | null;
  baselineName?: string | null;
  target?: Target | null;
  note?: string;
  status?: Figure["status"];
  /** The median of paired ratios, instead of value / baseline (value and baseline: the pairs' medians). */
  pairedRatio?: number | null;
}): Figure {
  const value = finiteOrNull(init.value);
  const baseline = finiteOrNull(init.baseline ?? null);
  const ratio =
    init.pairedRatio !== undefined
      ? value !== null && baseline !== null
        ? finiteOrNull(init.pairedRatio)
        : null
      : value !== null && baseline !== null && baseline !== 0
        ? value / baseline
        : null;
  const target = init.target ?? null;
  let met: boolean | null = null;
  if (target !== null) {
    const subject = target.on === "ratio" ? ratio : value;
    if (subject !== null)
      met = target.op === ">=" ? subject >= target.threshold : subject <= target.threshold;
  }
  const out: Figure = {
    name: init.name,
    title: init.title,
    value,
    unit: init.unit,
    baseline,
    baseline_name: init.baselineName ?? null,
    ratio,
    target,
    met,
    status: init.status ?? (value === null ? "not measurable" : "measured"),
  };
  if (init.note !== undefined) out.note = init.note;
  return out;
}

function finiteOrNull(v: number | null): number | null {
  return v !== null && Number.isFinite(v) ? v : null;
}

export function targetText(t: Target | null): string {
  if (t === null) return "";
  const n = t.on === "ratio" ? `${t.threshold} x` : `${t.threshold}`;
  return `${t.on === "ratio" ? "ratio" : "value"} ${t.op} ${n}`;
}

export function round(n: number | null, digits = 2): number | null {
  if (n === null || !Number.isFinite(n)) return null;
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Human formatting: 3 significant digits, thousands kept whole. */
export function fmt(n: number | null): string {
  if (n === null || !Number.isFinite(n)) return "-";
  const abs = Math.abs(n);
  if (abs >= 1000) return Math.round(n).toLocaleString("en-US");
  if (abs >= 100) return n.toFixed(0);
  if (abs >= 10) return n.toFixed(1);
  if (abs >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}
