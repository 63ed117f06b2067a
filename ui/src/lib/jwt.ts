/**
 * What the page shows about the pasted token, read from the JWT payload. The page cannot verify the
 * signature (only the service holds the key): the first call does that, and a refused token is
 * reported with the service's reason. Reading the claims here gives who you are, the expiry, and a
 * clear message for a token that is malformed or already expired before anything is sent.
 */

export const ROLES = ["DOMAIN_ADMIN", "WORKSPACE_OWNER", "WORKSPACE_MEMBER", "USER", "SYSTEM_ADMIN"] as const;
export type Role = (typeof ROLES)[number];

export interface TokenClaims {
  readonly domainId: string | null;
  readonly workspaceId: string | null;
  readonly role: Role | null;
  readonly tokenType: string | null;
  /** Empty when the token carries no `permissions` claim (the role alone decides). */
  readonly permissions: readonly string[];
  readonly subject: string | null;
  /** From `exp`; null when the token has none (the service refuses such tokens). */
  readonly expiresAt: Date | null;
}

export class TokenFormatError extends Error {}

/** Longest token accepted, as the service (a real token is well under 4 KiB). */
export const MAX_TOKEN_LENGTH = 16_384;

export function decodeToken(raw: string): TokenClaims {
  const token = raw.trim().replace(/^bearer\s+/i, "");
  if (token === "") throw new TokenFormatError("Paste a token first.");
  if (token.length > MAX_TOKEN_LENGTH) throw new TokenFormatError("This is too long to be a token.");
  const parts = token.split(".");
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p)) || parts[1] === "") {
    throw new TokenFormatError(
      "This is not a JWT: a token has three dot-separated parts (header.payload.signature).",
    );
  }
  let payload: unknown;
  try {
    payload = JSON.parse(base64UrlDecode(parts[1] ?? ""));
  } catch {
    throw new TokenFormatError("The token's payload cannot be read: was it copied completely?");
  }
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    throw new TokenFormatError("The token's payload is not a JSON object.");
  }
  const claims = payload as Record<string, unknown>;
  const role = str(claims.rol);
  return {
    domainId: str(claims.did),
    workspaceId: str(claims.wid),
    role: role !== null && (ROLES as readonly string[]).includes(role) ? (role as Role) : null,
    tokenType: str(claims.typ),
    permissions: Array.isArray(claims.permissions)
      ? claims.permissions.filter((p): p is string => typeof p === "string")
      : [],
    subject: str(claims.sub) ?? str(claims.user_id),
    expiresAt: typeof claims.exp === "number" ? new Date(claims.exp * 1000) : null,
  };
}

/** The clean token to send (trimmed, without a pasted `Bearer ` prefix). */
export function normalizeToken(raw: string): string {
  return raw.trim().replace(/^bearer\s+/i, "");
}

/** Why this token cannot be used right now, or null. */
export function tokenProblem(claims: TokenClaims, now: Date): string | null {
  if (claims.expiresAt === null) return "This token has no expiry (exp); the service refuses such tokens.";
  if (claims.expiresAt.getTime() <= now.getTime()) {
    return `This token expired at ${claims.expiresAt.toLocaleString()}. Ask for a new one (npm run token).`;
  }
  if (claims.domainId === null && claims.tokenType !== "SYSTEM_TOKEN") {
    return "This token names no domain (did claim).";
  }
  return null;
}

function str(value: unknown): string | null {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : null;
}

function base64UrlDecode(part: string): string {
  const base64 = part
    .replace(/-/g, "+")
    .replace(/_/g, "/")
    .padEnd(Math.ceil(part.length / 4) * 4, "=");
  const binary = atob(base64);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
}
