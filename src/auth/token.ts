/**
 * JWT verification and signing (docs/compatibility.md, "Tokens"), and finding the token in request headers.
 *
 * Verification pins the algorithm to the configured one, so `alg: none`, algorithm confusion (an RS256
 * public key used as an HS256 secret) and any other algorithm fail before a signature is even checked.
 * Every failure is `ERROR_AUTHENTICATE_FAILURE` with a short reason; reasons never echo the token.
 */
import { randomBytes } from "node:crypto";
import { type JWTPayload, type JWTVerifyResult, errors as jose, jwtVerify, SignJWT } from "jose";
import { LRUCache } from "lru-cache";
import type { IdentityConfig } from "../config.js";
import { errors, SpaceOneError } from "../errors.js";
import { identityKeyFetcher, identityKeys } from "./identity-keys.js";
import { type JwtConfig, loadSigningKey, loadVerificationKey, type VerificationKey } from "./keys.js";
import {
  CALLER_TOKEN_TYPES,
  type CallerTokenType,
  type Principal,
  ROLE_TYPES,
  type RoleType,
} from "./principal.js";

/** Token types a call may carry, and `signToken` mints. */
export const TOKEN_TYPES = CALLER_TOKEN_TYPES;
export type TokenType = CallerTokenType;

/** Who a token is issued to (`own`), as identity writes it. */
export const OWNER_TYPES = ["USER", "APP"] as const;
export type OwnerType = (typeof OWNER_TYPES)[number];

/** The `ver` claim python-core accepts. */
export const TOKEN_VERSION = "2.0";

/** Roles whose token is scoped to one workspace, so it must carry `wid` (docs/compatibility.md, "Roles and scoping"). */
/** The workspace id of domain-level jobs; never a workspace a token may name. */
const DOMAIN_WORKSPACE_ID = "*";

const WORKSPACE_ROLES: ReadonlySet<RoleType> = new Set(["WORKSPACE_OWNER", "WORKSPACE_MEMBER"]);

/**
 * Longer strings are refused before parsing: real tokens are well under 4 KiB, and this bounds the
 * work an unauthenticated caller can make us do.
 */
const MAX_TOKEN_LENGTH = 16_384;

export interface TokenVerifier {
  /** The pinned algorithm, or "identity" when keys come from the identity service (RS256/ES256). */
  readonly algorithm: JwtConfig["algorithm"] | "identity";
  /**
   * Verify a raw JWT and map its claims; rejects with ERROR_AUTHENTICATE_FAILURE. A token already
   * verified is answered at once (the principal, not a promise): the unary path then runs its call
   * without a turn of the microtask queue for authentication.
   */
  verify(token: string): Principal | Promise<Principal>;
}

/**
 * Load the verification key once and return a verifier. For HS256 the secret file must already exist:
 * start-up calls `ensureLocalSecret` first, so a verifier never invents a key nobody else knows.
 * Throws KeyError when the key material is missing or unusable.
 */
/** Bounds of the verified-token cache (TOKEN_CACHE_ENTRIES, TOKEN_CACHE_BYTES; docs/limits.md). */
export interface TokenCacheLimits {
  readonly maxEntries: number;
  readonly maxBytes: number;
}

export const defaultTokenCacheLimits: TokenCacheLimits = { maxEntries: 10_000, maxBytes: 16 * 1024 * 1024 };

export async function createTokenVerifier(config: {
  readonly jwt: JwtConfig;
  readonly identity?: IdentityConfig | undefined;
  readonly limits?: { readonly tokenCache: TokenCacheLimits };
}): Promise<TokenVerifier> {
  const cache = config.limits?.tokenCache ?? defaultTokenCacheLimits;
  if (config.identity) {
    const keys = identityKeys(identityKeyFetcher(config.identity), { ttlMs: config.identity.keyTtlMs });
    return createVerifierWithKey(keys, IDENTITY_ALGORITHMS, "identity", cache);
  }
  const algorithm = config.jwt.algorithm;
  return createVerifierWithKey(await loadVerificationKey(config), [algorithm], algorithm, cache);
}

/**
 * Identity's keys are asymmetric: a public key must never be usable as an HMAC secret, so HS256 is
 * not among the algorithms accepted with them.
 */
const IDENTITY_ALGORITHMS = ["RS256", "ES256"];

/** A verifier over any key or key resolver, pinned to `algorithms`. */
function createVerifierWithKey(
  key: VerificationKey,
  algorithms: readonly string[],
  name: TokenVerifier["algorithm"],
  cache: TokenCacheLimits,
): TokenVerifier {
  const verified = new VerifiedTokens(cache);
  return {
    algorithm: name,
    verify(token: string): Principal | Promise<Principal> {
      if (typeof token !== "string" || token.trim() === "")
        return Promise.reject(fail("empty token provided."));
      if (token.length > MAX_TOKEN_LENGTH) return Promise.reject(fail("failed to decode token."));
      const raw = token.trim();
      return verified.get(raw, Date.now()) ?? verifyNew(raw);
    },
  };

  async function verifyNew(raw: string): Promise<Principal> {
    let result: JWTVerifyResult;
    try {
      result = await verifyWithKey(raw, key, algorithms);
    } catch (error) {
      // The key source's own answers (identity unreachable: unavailable; unknown domain) pass as they are.
      if (error instanceof SpaceOneError) throw error;
      throw fail(reasonFor(error));
    }
    const principal = principalFromClaims(result.payload);
    verified.set(raw, principal, result.payload);
    return principal;
  }
}

/**
 * Tokens already verified, by their exact bytes, until they expire: signature checks are most of the
 * per-call cost of authentication, and a client sends the same token on every call. Only successes are
 * kept (a forged token is checked every time), and an entry is never used at or after the token's `exp`
 * or before its `nbf`, so the cache answers exactly as a fresh verification would. A least-recently-used
 * cache bounded by entries and by bytes (the token text counts twice: key and UTF-16), so many distinct
 * long tokens evict old ones instead of growing the heap.
 */
interface VerifiedEntry {
  readonly principal: Principal;
  readonly notBeforeMs: number;
  readonly expiresMs: number;
}

class VerifiedTokens {
  private readonly entries: LRUCache<string, VerifiedEntry>;

  constructor(limits: TokenCacheLimits) {
    this.entries = new LRUCache({
      max: limits.maxEntries,
      maxSize: limits.maxBytes,
      sizeCalculation: (entry, token) => token.length * 2 + principalBytes(entry.principal),
    });
  }

  /**
   * The token of the last `get` or `set` and its entry: the LRU's most recent one, so a call with the
   * same token as the one before (a client's calls in a row) skips `LRUCache.get` and its recency
   * bookkeeping, which would leave the order as it is.
   */
  private lastToken: string | undefined;
  private lastEntry: VerifiedEntry | undefined;

  get(token: string, nowMs: number): Principal | undefined {
    const entry = token === this.lastToken ? this.lastEntry : this.entries.get(token);
    if (!entry) return undefined;
    if (nowMs >= entry.expiresMs || nowMs < entry.notBeforeMs) {
      this.entries.delete(token);
      this.lastToken = this.lastEntry = undefined;
      return undefined;
    }
    this.lastToken = token;
    this.lastEntry = entry;
    return entry.principal;
  }

  set(token: string, principal: Principal, claims: { exp?: number; nbf?: number }): void {
    if (typeof claims.exp !== "number") return;
    const entry = {
      principal,
      notBeforeMs: typeof claims.nbf === "number" ? claims.nbf * 1000 : 0,
      expiresMs: claims.exp * 1000,
    };
    this.entries.set(token, entry);
    // An entry too big for the cache's byte bound is not kept: neither is it here.
    const kept = this.entries.has(token);
    this.lastToken = kept ? token : undefined;
    this.lastEntry = kept ? entry : undefined;
  }
}

/** A principal's approximate heap size: its strings (UTF-16) plus a fixed overhead per object. */
function principalBytes(principal: Principal): number {
  let bytes = 256;
  for (const value of Object.values(principal)) {
    if (typeof value === "string") bytes += value.length * 2;
    else if (Array.isArray(value)) for (const item of value) bytes += 16 + String(item).length * 2;
  }
  return bytes;
}

/**
 * The caller of a request, from its headers. The token is the raw JWT in `token` (gRPC metadata, or
 * the same-named HTTP header) or else `Authorization: Bearer <jwt>`.
 *
 * System tokens (other microservices) name the domain and workspace they act for in `x_domain_id` /
 * `x_workspace_id`. Access tokens ignore those headers: a user must not be able to re-scope themselves.
 * At once for a token already verified (as `verify`); every refusal is a rejected promise.
 */
export function authenticate(verifier: TokenVerifier, headers: Headers): Principal | Promise<Principal> {
  const token = tokenFromHeaders(headers);
  if (token === null) return Promise.reject(fail("empty token provided."));
  const principal = verifier.verify(token);
  return principal instanceof Promise
    ? principal.then((verified) => scoped(verified, headers))
    : scoped(principal, headers);
}

function scoped(principal: Principal, headers: Headers): Principal {
  if (principal.tokenType !== "SYSTEM_TOKEN") return principal;
  return {
    ...principal,
    domainId: headerValue(headers, "x_domain_id", "x-domain-id") ?? principal.domainId,
    workspaceId: headerValue(headers, "x_workspace_id", "x-workspace-id") ?? principal.workspaceId,
  };
}

/**
 * The last `Authorization` value read and its token: a client sends the same one on every call, and
 * the pattern below is matched once for it, not per call.
 */
let lastAuthorization: string | undefined;
let lastBearer: string | null = null;

/** The raw JWT from `token`, else from `Authorization: Bearer`; null when neither is present. */
export function tokenFromHeaders(headers: Headers): string | null {
  const raw = headers.get("token")?.trim();
  if (raw) return raw;
  const authorization = headers.get("authorization");
  if (authorization === null) return null;
  if (authorization !== lastAuthorization) {
    lastBearer = /^\s*bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] ?? null;
    lastAuthorization = authorization;
  }
  return lastBearer;
}

export interface TokenClaims {
  readonly domainId: string;
  readonly role: RoleType;
  /** Required for WORKSPACE_OWNER / WORKSPACE_MEMBER; refused for DOMAIN_ADMIN. */
  readonly workspaceId?: string | undefined;
  readonly ttlSeconds: number;
  readonly tokenType?: TokenType | undefined;
  /** Omitted or empty: no `permissions` claim, i.e. the role check alone applies (managed roles). */
  readonly permissions?: readonly string[] | undefined;
  /** `sub`; defaults to "token-cli" so audit logs show where the token came from. */
  readonly subject?: string | undefined;
  /** `own`: APP for CLIENT_SECRET by default, else USER. Not set on system tokens. */
  readonly owner?: OwnerType | undefined;
  /** `aud`: the user or app id; defaults to the subject. */
  readonly audience?: string | undefined;
}

/**
 * Sign a token the way identity issues them (`ver: "2.0"`, `did`, `wid`, `rol`, `typ`, `exp`, `jti`),
 * with the configured algorithm. Refuses claim combinations the verifier or the scoping would reject or
 * misread, so a token that signs is a token that works. Throws Error/KeyError on bad input.
 */
export async function signToken(config: { readonly jwt: JwtConfig }, claims: TokenClaims): Promise<string> {
  const tokenType = claims.tokenType ?? "ACCESS_TOKEN";
  if (!TOKEN_TYPES.includes(tokenType)) throw new Error(`unknown token type ${JSON.stringify(tokenType)}`);
  if (!ROLE_TYPES.includes(claims.role)) {
    throw new Error(`unknown role ${JSON.stringify(claims.role)}; expected one of ${ROLE_TYPES.join(", ")}`);
  }
  if (typeof claims.domainId !== "string" || claims.domainId.trim() === "") {
    throw new Error("a domain id is required");
  }
  const workspaceId = claims.workspaceId?.trim() || undefined;
  if (workspaceId === DOMAIN_WORKSPACE_ID) {
    throw new Error('"*" is not a workspace: it marks domain-level jobs; give a real workspace id');
  }
  if (WORKSPACE_ROLES.has(claims.role) && workspaceId === undefined) {
    throw new Error(`role ${claims.role} needs a workspace id`);
  }
  if (claims.role === "DOMAIN_ADMIN" && workspaceId !== undefined) {
    throw new Error("role DOMAIN_ADMIN is domain-wide and must not carry a workspace id");
  }
  if (!Number.isSafeInteger(claims.ttlSeconds) || claims.ttlSeconds <= 0) {
    throw new Error("ttl must be a positive whole number of seconds");
  }
  const permissions = (claims.permissions ?? []).map((p) => p.trim()).filter((p) => p !== "");

  const owner = claims.owner ?? (tokenType === "CLIENT_SECRET" ? "APP" : "USER");
  if (!OWNER_TYPES.includes(owner))
    throw new Error(`unknown owner ${JSON.stringify(owner)}; expected USER or APP`);
  const subject = claims.subject?.trim() || "token-cli";
  const payload: JWTPayload = {
    did: claims.domainId.trim(),
    rol: claims.role,
    typ: tokenType,
    ver: TOKEN_VERSION,
  };
  if (tokenType !== "SYSTEM_TOKEN") {
    payload.own = owner;
    payload.aud = claims.audience?.trim() || subject;
  }
  if (workspaceId !== undefined) payload.wid = workspaceId;
  if (permissions.length > 0) payload.permissions = permissions;

  const { key, kid } = await loadSigningKey(config);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(payload)
    .setProtectedHeader(
      kid === undefined ? { alg: config.jwt.algorithm } : { alg: config.jwt.algorithm, kid },
    )
    .setSubject(subject)
    .setIssuedAt(now)
    .setExpirationTime(now + claims.ttlSeconds)
    .setJti(randomBytes(16).toString("hex"))
    .sign(key);
}

async function verifyWithKey(
  token: string,
  key: VerificationKey,
  algorithms: readonly string[],
): Promise<JWTVerifyResult> {
  const options = { algorithms: [...algorithms], requiredClaims: ["exp"] };
  try {
    // The overloads of jwtVerify are split by key kind; the union needs a branch to pick one.
    return typeof key === "function"
      ? await jwtVerify(token, key, options)
      : await jwtVerify(token, key, options);
  } catch (error) {
    // A JWKS with several keys of the right type and a token without `kid`: try each candidate.
    if (!(error instanceof jose.JWKSMultipleMatchingKeys)) throw error;
    for await (const candidate of error) {
      try {
        return await jwtVerify(token, candidate, options);
      } catch (inner) {
        if (!(inner instanceof jose.JWSSignatureVerificationFailed)) throw inner;
      }
    }
    throw new jose.JWSSignatureVerificationFailed();
  }
}

function reasonFor(error: unknown): string {
  if (error instanceof jose.JWTExpired) return "token expired.";
  if (error instanceof jose.JWTClaimValidationFailed && error.claim === "exp") return "token has no expiry.";
  if (error instanceof jose.JWTClaimValidationFailed && error.claim === "nbf") return "token not yet valid.";
  if (error instanceof jose.JWSSignatureVerificationFailed) return "invalid token signature.";
  return "failed to decode token.";
}

/** Check the claims python-core relies on and map them to a Principal. */
function principalFromClaims(claims: JWTPayload): Principal {
  if (claims.ver !== TOKEN_VERSION) throw fail("invalid token version.");

  const tokenType = claims.typ;
  if (tokenType === "REFRESH_TOKEN") throw fail("a refresh token cannot call APIs.");
  if (typeof tokenType !== "string" || !(TOKEN_TYPES as readonly string[]).includes(tokenType)) {
    throw fail("invalid token type.");
  }
  const isSystem = tokenType === "SYSTEM_TOKEN";

  const role = claims.rol;
  if (role !== undefined && (typeof role !== "string" || !(ROLE_TYPES as readonly string[]).includes(role))) {
    throw fail("invalid role type.");
  }

  const domainId = optionalString(claims.did, "domain_id");
  const workspaceId = optionalString(claims.wid, "workspace_id");
  // "*" is the workspace id of domain-level jobs, never a caller's workspace (issue 9.7).
  if (workspaceId === DOMAIN_WORKSPACE_ID) throw fail("invalid workspace_id.");

  if (!isSystem) {
    if (domainId === null) throw fail("empty domain_id provided.");
    // Without a role an access token can call nothing; refusing it here gives a clearer error.
    if (role === undefined) throw fail("empty role_type provided.");
    // A workspace-scoped role without `wid` would otherwise be scoped to nothing, or to everything.
    if (WORKSPACE_ROLES.has(role as RoleType) && workspaceId === null) {
      throw fail("empty workspace_id provided.");
    }
  }

  const permissions = claims.permissions;
  if (
    permissions !== undefined &&
    permissions !== null &&
    // A blank entry would be a prefix of every permission: refuse the token rather than guess.
    !(Array.isArray(permissions) && permissions.every((p) => typeof p === "string" && p.trim() !== ""))
  ) {
    throw fail("invalid permissions.");
  }

  const audience = firstString(claims.aud, Array.isArray(claims.aud) ? claims.aud[0] : undefined);
  return {
    tokenType: isSystem ? "SYSTEM_TOKEN" : "ACCESS_TOKEN",
    issuedAs: tokenType as TokenType,
    owner: optionalString(claims.own, "owner"),
    audience,
    role: (role as RoleType | undefined) ?? null,
    domainId,
    workspaceId,
    permissions: Object.freeze([...((permissions as string[] | null | undefined) ?? [])]),
    subject: firstString(claims.sub, claims.user_id, audience),
  };
}

/** A string claim, trimmed; absent/null/empty is null, any other type is a malformed token. */
function optionalString(value: unknown, name: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") throw fail(`invalid ${name}.`);
  const trimmed = value.trim();
  return trimmed === "" ? null : trimmed;
}

function firstString(...values: unknown[]): string | null {
  for (const value of values) if (typeof value === "string" && value !== "") return value;
  return null;
}

/** A header's trimmed value under the first of `names` that is present and non-empty. */
function headerValue(headers: Headers, ...names: string[]): string | null {
  for (const name of names) {
    const value = headers.get(name)?.trim();
    if (value) return value;
  }
  return null;
}

function fail(reason: string) {
  return errors.authenticateFailure(reason);
}
