/**
 * The signed-in token: in sessionStorage only (gone when the tab closes, never in a URL, a cookie or
 * a log), with its decoded claims for the header. Components subscribe to changes.
 */
import { decodeToken, normalizeToken, type TokenClaims } from "./lib/jwt.js";

const KEY = "job-ui.token";

type Listener = () => void;
const listeners = new Set<Listener>();
/** Why the last session ended (shown on the sign-in form), e.g. the token expired. */
let endedBecause = "";

function read(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export const session = {
  token: read,
  claims(): TokenClaims | null {
    const token = read();
    if (!token) return null;
    try {
      return decodeToken(token);
    } catch {
      return null;
    }
  },
  signIn(raw: string): void {
    sessionStorage.setItem(KEY, normalizeToken(raw));
    endedBecause = "";
    for (const l of listeners) l();
  },
  signOut(reason = ""): void {
    sessionStorage.removeItem(KEY);
    endedBecause = reason;
    for (const l of listeners) l();
  },
  endedBecause: () => endedBecause,
  subscribe(listener: Listener): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};
