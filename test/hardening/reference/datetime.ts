/**
 * The reference's own reading of datetime operands, from the spec (§2.2: ISO-8601 through dateutil's
 * isoparse; timediff as python-core's parse_timediff_query) and docs/decisions.md. Written apart from
 * `src/query/datetime.ts` on purpose: a shared mistake would hide itself. It only has to read the forms
 * the generators write, so it is a small hand parser rather than one regex.
 */

/** Milliseconds since the epoch for an ISO-8601 extended-format date or date-time; null if unreadable. */
export function referenceInstant(text: string): number | null {
  const s = text.trim();
  const date = /^(\d{4})-(\d{2})-(\d{2})/.exec(s);
  if (!date) return null;
  let rest = s.slice(10);
  const [year, month, day] = [Number(date[1]), Number(date[2]), Number(date[3])];
  let hour = 0;
  let minute = 0;
  let second = 0;
  let millis = 0;
  if (rest.startsWith("T") || rest.startsWith(" ")) {
    const time = /^[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?/.exec(rest);
    if (!time) return null;
    hour = Number(time[1]);
    minute = Number(time[2]);
    second = Number(time[3] ?? 0);
    // Sub-millisecond digits are cut, as Mongo's millisecond datetimes do with Python's microseconds.
    millis = Number((time[4] ?? "").padEnd(3, "0").slice(0, 3));
    rest = rest.slice(time[0].length);
  }
  let offsetMinutes = 0;
  if (rest === "Z") {
    rest = "";
  } else if (rest.startsWith("+") || rest.startsWith("-")) {
    const zone = /^([+-])(\d{2})(?::?(\d{2}))?$/.exec(rest);
    if (!zone) return null;
    offsetMinutes = (zone[1] === "-" ? -1 : 1) * (Number(zone[2]) * 60 + Number(zone[3] ?? 0));
    rest = "";
  }
  if (rest !== "") return null;
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  return utc - offsetMinutes * 60_000;
}

/** The storage and wire form of an instant. */
export function isoOf(ms: number): string {
  return new Date(ms).toISOString();
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * `now`, `now/d` (today 00:00 UTC), `now/w` (this week's Monday 00:00 UTC), `now/m` (the 1st, 00:00
 * UTC), then optionally a signed amount of a unit. Spaces are dropped before reading: the generators
 * only write spacings the spec allows.
 */
export function referenceTimediff(text: string, now: number): number | null {
  const compact = text.replace(/\s/g, "");
  const m = /^now(\/[dwm])?(?:([+-])(\d+)([smhdw]))?$/.exec(compact);
  if (!m) return null;
  const d = new Date(now);
  let base = now;
  const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  if (m[1] === "/d") base = day;
  if (m[1] === "/w") base = day - ((d.getUTCDay() + 6) % 7) * 86_400_000;
  if (m[1] === "/m") base = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  if (m[2] !== undefined) {
    const delta = Number(m[3]) * (UNIT_SECONDS[m[4] as string] as number) * 1000;
    base += m[2] === "-" ? -delta : delta;
  }
  return base;
}
