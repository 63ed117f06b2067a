/** Times and durations for people: `3m ago`, `in 2h`, `1m 23s`; ISO-8601 stays in json/yaml. */
import prettyMs from "pretty-ms";

export function relativeTime(iso: string | undefined, now: number): string {
  if (!iso) return "";
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const seconds = Math.round((now - at) / 1000);
  const text = shortDuration(Math.abs(seconds));
  if (text === "0s") return "now";
  return seconds >= 0 ? `${text} ago` : `in ${text}`;
}

/** Largest two units, kubectl-style: `45s`, `3m10s`, `2h5m`, `3d4h`. */
export function shortDuration(totalSeconds: number): string {
  const s = Math.floor(totalSeconds);
  const units: [string, number][] = [
    ["d", 86_400],
    ["h", 3_600],
    ["m", 60],
    ["s", 1],
  ];
  const parts: string[] = [];
  let rest = s;
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0 || (parts.length > 0 && parts.length < 2)) {
      if (n > 0) parts.push(`${n}${name}`);
      rest -= n * size;
    }
    if (parts.length === 2) break;
  }
  return parts.length === 0 ? "0s" : parts.join("");
}

export function humanDuration(seconds: number | undefined): string {
  if (seconds === undefined || seconds === null || !Number.isFinite(seconds)) return "";
  // Whole seconds: a job's duration in milliseconds is noise.
  if (seconds < 60) return `${Math.round(seconds)}s`;
  return prettyMs(seconds * 1000, { secondsDecimalDigits: 0, unitCount: 2 });
}
