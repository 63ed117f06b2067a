/** Times, durations and counts as people read them. Pure: every function takes "now" and a locale. */

const UNITS: readonly [Intl.RelativeTimeFormatUnit, number][] = [
  ["year", 365 * 86_400],
  ["month", 30 * 86_400],
  ["week", 7 * 86_400],
  ["day", 86_400],
  ["hour", 3_600],
  ["minute", 60],
  ["second", 1],
];

/** "3 minutes ago", "in 2 hours", "now"; "" for an absent time. */
export function relativeTime(iso: string, now: Date, locale?: string): string {
  if (!iso) return "";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const seconds = Math.round((t - now.getTime()) / 1000);
  if (Math.abs(seconds) < 5) return "just now";
  const format = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size || unit === "second") {
      return format.format(Math.trunc(seconds / size), unit);
    }
  }
  return "";
}

/** The full local date and time (for a tooltip or the detail view). */
export function localTime(iso: string, locale?: string): string {
  if (!iso) return "";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return new Date(t).toLocaleString(locale, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    timeZoneName: "short",
  });
}

/** 0.4 -> "0.4 s", 42 -> "42 s", 3725 -> "1 h 2 min", 90061 -> "1 d 1 h"; two units at most. */
export function humanDuration(seconds: number | undefined | null): string {
  if (seconds === undefined || seconds === null || !Number.isFinite(seconds) || seconds < 0) return "";
  if (seconds < 10) return `${Math.round(seconds * 10) / 10} s`;
  const s = Math.round(seconds);
  const parts: [number, string][] = [
    [Math.floor(s / 86_400), "d"],
    [Math.floor((s % 86_400) / 3_600), "h"],
    [Math.floor((s % 3_600) / 60), "min"],
    [s % 60, "s"],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  return parts
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, unit]) => `${n} ${unit}`)
    .join(" ");
}

export function formatCount(n: number, locale?: string): string {
  return new Intl.NumberFormat(locale).format(n);
}

/** Records per second, "1.2k/s", "35/s", "0.5/s". */
export function formatRate(perSecond: number | null): string {
  if (perSecond === null || !Number.isFinite(perSecond) || perSecond <= 0) return "";
  if (perSecond >= 1000) return `${Math.round(perSecond / 100) / 10}k/s`;
  if (perSecond >= 10) return `${Math.round(perSecond)}/s`;
  return `${Math.round(perSecond * 10) / 10}/s`;
}

/** "42.5 %" for a progress value; "" when absent. */
export function formatPercent(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return "";
  return `${Math.round(value * 10) / 10} %`;
}
