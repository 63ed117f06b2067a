/**
 * The watch cursor on the wire: an opaque string for a change-feed position. It is `w1.` plus the
 * position in base 36, so clients cannot mistake it for a job count or do arithmetic on it, and a
 * later format can change the prefix. Every instance on one database reads the same cursors.
 */
import { errors } from "../../errors.js";
import type { ChangeCursor } from "../../storage/store.js";

const PREFIX = "w1.";
const BODY = /^[0-9a-z]{1,13}$/;

export function encodeCursor(position: ChangeCursor): string {
  return `${PREFIX}${position.toString(36)}`;
}

/** The position a cursor names; `field` is the request field it came from, for the error. */
export function decodeCursor(text: string, field: string): ChangeCursor {
  const body = text.startsWith(PREFIX) ? text.slice(PREFIX.length) : "";
  const position = BODY.test(body) ? Number.parseInt(body, 36) : Number.NaN;
  if (!Number.isSafeInteger(position)) {
    throw errors.invalidParameter(
      field,
      "not a cursor this service issued; use the cursor of a watch event or of a list answer",
    );
  }
  return position;
}
