/**
 * Token keys from the SpaceONE identity service, per domain.
 *
 * In a SpaceONE installation every domain signs its own tokens, and services ask identity for the
 * domain's public key: `Domain.get_public_key {domain_id}` answers the JWK as JSON text in `public_key`.
 * The token's `did` claim picks the domain (read before the signature is checked, only to choose the
 * key; a token that lies about its domain fails the signature check with that domain's key).
 *
 * Keys are cached per domain for `ttlMs`. A token whose `kid` the cached keys do not have makes one
 * refetch (the domain rotated its key), at most once per `refreshIntervalMs` per domain so forged kids
 * cannot flood identity. Concurrent requests for one domain share one fetch. A failed fetch is
 * `unavailable` and is not cached: a token is never accepted because identity could not be asked. An
 * unknown domain (identity says not found / invalid) is an authentication failure.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  base64url,
  type CompactJWSHeaderParameters,
  createLocalJWKSet,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWK,
  type JWTVerifyGetKey,
  errors as jose,
} from "jose";
import { Domain } from "../../gen/spaceone/api/identity/v2/domain_pb.js";
import type { IdentityConfig } from "../config.js";
import { errors } from "../errors.js";

/** Returns the domain's key as identity sends it: JWK (or JWKS) JSON text. */
export type DomainKeyFetcher = (domainId: string) => Promise<string>;

export interface IdentityKeyOptions {
  readonly ttlMs: number;
  /** Least time between two fetches for one domain caused by an unknown `kid` (default 1 s). */
  readonly refreshIntervalMs?: number;
  readonly now?: () => number;
}

/** The gRPC client of identity's `Domain.get_public_key`. */
export function identityKeyFetcher(config: IdentityConfig): DomainKeyFetcher {
  const client = createClient(Domain, createGrpcTransport({ baseUrl: config.endpoint }));
  const headers = config.token ? { token: config.token } : undefined;
  return async (domainId) => {
    const answer = await client.get_public_key({ domainId }, { timeoutMs: config.timeoutMs, headers });
    return answer.publicKey;
  };
}

interface Entry {
  readonly keys: JWTVerifyGetKey;
  readonly fetchedAt: number;
}

/** A jose key resolver over per-domain keys from `fetch`. */
export function identityKeys(fetch: DomainKeyFetcher, options: IdentityKeyOptions): JWTVerifyGetKey {
  const now = options.now ?? Date.now;
  const refreshIntervalMs = options.refreshIntervalMs ?? 1000;
  const cache = new Map<string, Entry>();
  const inflight = new Map<string, Promise<Entry>>();

  const load = (domainId: string): Promise<Entry> => {
    let pending = inflight.get(domainId);
    if (pending === undefined) {
      pending = fetchEntry(fetch, domainId, now).finally(() => inflight.delete(domainId));
      inflight.set(domainId, pending);
      void pending.then(
        (entry) => cache.set(domainId, entry),
        () => undefined,
      );
    }
    return pending;
  };

  return async (header: CompactJWSHeaderParameters, token: FlattenedJWSInput) => {
    const domainId = domainOf(token);
    let entry = cache.get(domainId);
    if (entry === undefined || now() - entry.fetchedAt >= options.ttlMs) entry = await load(domainId);
    try {
      return await entry.keys(header, token);
    } catch (error) {
      const rotated =
        error instanceof jose.JWKSNoMatchingKey &&
        header.kid !== undefined &&
        now() - entry.fetchedAt >= refreshIntervalMs;
      if (!rotated) throw error;
      return (await load(domainId)).keys(header, token);
    }
  };
}

async function fetchEntry(fetch: DomainKeyFetcher, domainId: string, now: () => number): Promise<Entry> {
  let text: string;
  try {
    text = await fetch(domainId);
  } catch (error) {
    const code = error instanceof ConnectError ? error.code : undefined;
    if (code === Code.NotFound || code === Code.InvalidArgument) {
      throw errors.authenticateFailure("unknown domain.");
    }
    throw errors.unavailable("identity service did not answer for the token's domain key");
  }
  return { keys: createLocalJWKSet(parseKeys(text)), fetchedAt: now() };
}

/** identity's `public_key`: one JWK (upstream) or a JWKS. Never echoed in errors. */
function parseKeys(text: string): JSONWebKeySet {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw errors.unavailable("identity answered a public key that is not JSON");
  }
  if (typeof value === "object" && value !== null && Array.isArray((value as JSONWebKeySet).keys)) {
    return value as JSONWebKeySet;
  }
  if (typeof value === "object" && value !== null && typeof (value as JWK).kty === "string") {
    const jwk = value as JWK;
    // Only the public half is ever used, whatever identity sent.
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicPart } = jwk;
    return { keys: [publicPart] };
  }
  throw errors.unavailable("identity answered a public key that is not a JWK");
}

/** `did` of a token whose signature is not checked yet: only used to choose the key. */
function domainOf(token: FlattenedJWSInput): string {
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder().decode(base64url.decode(token.payload)));
  } catch {
    throw errors.authenticateFailure("failed to decode token.");
  }
  const did = (claims as { did?: unknown } | null)?.did;
  if (typeof did !== "string" || did.trim() === "")
    throw errors.authenticateFailure("empty domain_id provided.");
  return did.trim();
}
