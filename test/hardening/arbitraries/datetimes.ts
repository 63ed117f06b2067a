/**
 * Datetime operands in the many spellings ISO-8601 allows (and dateutil's isoparse, upstream's parser,
 * reads): with or without `T`, seconds and fractions (1-9 digits, `.` or `,`), `Z`, `±HH:MM`, `±HHMM`,
 * `±HH` or no zone (UTC); and timediff expressions with every allowed spacing.
 */
import fc from "fast-check";
import { INSTANTS } from "./values.js";

const pad = (n: number, width = 2) => String(Math.abs(n)).padStart(width, "0");

function spell(
  ms: number,
  style: number,
  offsetMinutes: number,
  zoneStyle: number,
  fraction: string,
): string {
  const local = new Date(ms + offsetMinutes * 60_000);
  const date = `${local.getUTCFullYear()}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}`;
  const hm = `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}`;
  const sec = pad(local.getUTCSeconds());
  const sign = offsetMinutes < 0 ? "-" : "+";
  const oh = pad(Math.trunc(Math.abs(offsetMinutes) / 60));
  const om = pad(Math.abs(offsetMinutes) % 60);
  const zones = ["Z", `${sign}${oh}:${om}`, `${sign}${oh}${om}`, "", om === "00" ? `${sign}${oh}` : "Z"];
  const zone = offsetMinutes === 0 && zoneStyle === 3 ? "" : (zones[zoneStyle] as string);
  // A zone-less spelling is UTC: only use it when no offset was applied.
  const z = zone === "" && offsetMinutes !== 0 ? "Z" : zone;
  switch (style) {
    case 0:
      return date; // date only: midnight UTC
    case 1:
      return `${date}T${hm}${z}`;
    case 2:
      return `${date}T${hm}:${sec}${z}`;
    case 3:
      return `${date} ${hm}:${sec}${fraction}${z}`;
    default:
      return `${date}T${hm}:${sec}${fraction}${z}`;
  }
}

/** One instant from the pool, spelt some valid ISO-8601 way. */
export const isoArb: fc.Arbitrary<string> = fc
  .record({
    ms: fc.constantFrom(...INSTANTS),
    style: fc.integer({ min: 0, max: 4 }),
    offset: fc.constantFrom(0, 0, 540, -330, 60, -600, 345),
    zoneStyle: fc.integer({ min: 0, max: 4 }),
    separator: fc.constantFrom(".", ".", ","),
    digits: fc.integer({ min: 1, max: 9 }),
    extra: fc.constantFrom("", "9", "123456", "000000"),
  })
  .map(({ ms, style, offset, zoneStyle, separator, digits, extra }) => {
    const millis = String(((ms % 1000) + 1000) % 1000).padStart(3, "0");
    const fraction = `${separator}${`${millis}${extra}`.slice(0, Math.max(digits, 1))}`;
    return spell(ms, style, offset, zoneStyle, fraction);
  });

const sp = fc.constantFrom("", "", " ");

/** `now`, `now/d`, `now/w`, `now/m`, optionally `± N unit`, with at most one space around each part. */
export const timediffArb: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom("now", "now/d", "now/w", "now/m"),
    fc.option(
      fc.tuple(
        sp,
        fc.constantFrom("+", "-"),
        sp,
        fc.integer({ min: 0, max: 400 }),
        sp,
        fc.constantFrom("s", "m", "h", "d", "w"),
      ),
      { nil: undefined },
    ),
  )
  .map(([base, shift]) => (shift === undefined ? base : base + shift.join("")));
