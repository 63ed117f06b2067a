/**
 * Datetime values in queries: ISO-8601 strings (`datetime_*`, comparisons on datetime columns) and
 * SpaceONE's relative `timediff` syntax (python-core `utils.parse_timediff_query`). Both resolve to
 * the storage format, `YYYY-MM-DDTHH:MM:SS.mmmZ`, so the compiler compares text with text.
 *
 * Instants are bounded to years 0001-9999 (UTC): the storage text has four year digits, and
 * PostgreSQL's timestamptz has no year 0. A value outside is `invalid_argument` naming the request
 * path, so no database ever sees it (docs/limits.md).
 */
import { errors, show } from "../errors.js";

export const MIN_YEAR = 1;
export const MAX_YEAR = 9999;
/** The range as error messages say it. */
export const YEAR_RANGE = `${String(MIN_YEAR).padStart(4, "0")}-${MAX_YEAR}`;

/** The UTC instant of these fields; years 0-99 are years, not 1900-1999 as `Date.UTC` reads them. */
function utc(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): Date {
  const date = new Date(0);
  date.setUTCFullYear(y, mo, d);
  date.setUTCHours(h, mi, s, ms);
  return date;
}

/** True when the instant is one every database stores and compares: years 0001-9999 (UTC). */
export function inDatetimeRange(date: Date): boolean {
  const year = date.getUTCFullYear();
  return !Number.isNaN(date.getTime()) && year >= MIN_YEAR && year <= MAX_YEAR;
}

// ISO-8601 extended format as dateutil's isoparse (upstream) reads it: the fraction may use `,` (the
// ISO decimal sign) as well as `.`, and a zone may be `Z`, `±HH:MM`, `±HHMM` or just `±HH`.
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Parse an ISO-8601 datetime; a value without a zone is UTC (upstream uses naive UTC). Null if the
 * text or the calendar date is invalid; the year range is checked apart (`inDatetimeRange`).
 */
export function parseIsoDatetime(text: string): Date | null {
  const m = ISO.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h = "00", mi = "00", s = "00", frac = "", zone] = m;
  const ms = Number(`${frac}000`.slice(0, 3));
  const probe = utc(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  // Reject calendar overflow (2024-02-31 would otherwise roll into March).
  if (
    probe.getUTCFullYear() !== Number(y) ||
    probe.getUTCMonth() !== Number(mo) - 1 ||
    probe.getUTCDate() !== Number(d) ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s) > 59
  ) {
    return null;
  }
  let offsetMinutes = 0;
  if (zone && zone !== "Z") {
    const sign = zone.startsWith("-") ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    const oh = Number(digits.slice(0, 2));
    const om = Number(digits.slice(2, 4));
    if (oh > 23 || om > 59) return null;
    offsetMinutes = sign * (oh * 60 + om);
  }
  return new Date(probe.getTime() - offsetMinutes * 60_000);
}

/**
 * An ISO-8601 request value at `at` in the storage format, or `invalid_argument` naming `at`: not a
 * datetime, or outside years 0001-9999 (after its zone offset is applied).
 */
export function isoValueToStorage(value: string, at: string): string {
  const date = parseIsoDatetime(value);
  if (!date) throw errors.invalidParameter(at, `${show(value, 60)} is not an ISO-8601 datetime`);
  if (!inDatetimeRange(date))
    throw errors.invalidParameter(at, `${show(value, 60)} is outside years ${YEAR_RANGE} (UTC)`);
  return toStorage(date);
}

/** The storage and wire format of datetimes. */
export function toStorage(date: Date): string {
  return date.toISOString();
}

// now, now/d, now/w, now/m; then optionally [+-] N unit; at most one whitespace around each part.
const TIMEDIFF = /^now(?:\/([dwm]))?(?:\s?([+-])\s?(\d{1,9})\s?([smhdw]))?$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/**
 * Resolve a timediff expression against `now` (UTC). Null if the syntax is invalid; the result may
 * be outside years 0001-9999 (or not a valid Date at all): check it with `inDatetimeRange`.
 */
export function parseTimediff(text: string, now: Date): Date | null {
  const m = TIMEDIFF.exec(text.trim());
  if (!m) return null;
  const [, round, sign, amount, unit] = m;
  let base = new Date(now.getTime());
  if (round === "d") {
    base = new Date(Date.UTC(base.getUTCFullYear(), base.getUTCMonth(), base.getUTCDate()));
  } else if (round === "w") {
    const day = base.getUTCDay(); // 0 = Sunday; weeks start on Monday
    const back = (day + 6) % 7;
    base = new Date(Date.UTC(base.getUTCFullYear(), base.getUTCMonth(), base.getUTCDate() - back));
  } else if (round === "m") {
    base = new Date(Date.UTC(base.getUTCFullYear(), base.getUTCMonth(), 1));
  }
  if (sign && amount && unit) {
    const delta = Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
    base = new Date(base.getTime() + (sign === "-" ? -delta : delta));
  }
  return base;
}
