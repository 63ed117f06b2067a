/**
 * JWT key material, from the files named in `Config["jwt"]`.
 *
 * HS256 uses a shared secret kept in a file (created on first start by `ensureLocalSecret`); RS256 and
 * ES256 verify with a PEM public key or a JWKS file, and only the token CLI needs the private key.
 *
 * Nothing here ever puts key material in an error message: errors name the file and the problem only.
 * Parser errors are not chained as `cause` either, because some (JSON.parse) quote the input they choke on.
 */
import { randomBytes, webcrypto } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import {
  type CryptoKey,
  createLocalJWKSet,
  exportJWK,
  importPKCS8,
  importSPKI,
  importX509,
  type JSONWebKeySet,
  type JWK,
  type JWTVerifyGetKey,
} from "jose";
import type { Config } from "../config.js";

export type JwtConfig = Config["jwt"];
export type JwtAlgorithm = JwtConfig["algorithm"];

/** Key material could not be read or is unusable. The message names the file, never its content. */
export class KeyError extends Error {
  override readonly name = "KeyError";
}

/**
 * RFC 7518 §3.2: an HMAC key must be at least as long as the hash output (32 bytes for SHA-256).
 * A shorter secret is brute-forceable offline from any one token, so it is refused rather than used.
 */
export const MIN_SECRET_BYTES = 32;

/** Bytes of randomness in a generated secret (stored as base64url text: 43 characters). */
const GENERATED_SECRET_BYTES = 32;

/**
 * Make sure the HS256 secret file exists, creating a fresh random one if it does not.
 * Returns true when this call created it.
 *
 * `flag: "wx"` (O_CREAT|O_EXCL) means two processes starting at once cannot overwrite each other's
 * secret: the loser gets EEXIST and reads the winner's file. Mode 0600 keeps other users out.
 */
export function ensureLocalSecret(config: { readonly jwt: JwtConfig }): boolean {
  const file = config.jwt.secretFile;
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const secret = randomBytes(GENERATED_SECRET_BYTES).toString("base64url");
  try {
    fs.writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: "wx" });
    return true;
  } catch (error) {
    if (!isErrno(error, "EEXIST")) throw fileError(file, "cannot create the JWT secret file", error);
  }
  // Another process may have created the file a moment ago and not written it yet: give it a moment.
  for (let attempt = 0; attempt < 20 && fs.statSync(file).size === 0; attempt++) sleepSync(10);
  readSecret(config);
  return false;
}

/**
 * The HS256 key: the secret file's text, trimmed, as UTF-8 bytes. Using the text itself (not its
 * base64url decoding) means a secret shared with another issuer works whatever its encoding.
 */
export function readSecret(config: { readonly jwt: JwtConfig }): Uint8Array {
  const file = config.jwt.secretFile;
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8").trim();
  } catch (error) {
    if (isErrno(error, "ENOENT")) {
      throw new KeyError(`JWT secret file ${file} does not exist (it is created on first start)`);
    }
    throw fileError(file, "cannot read the JWT secret file", error);
  }
  const bytes = new TextEncoder().encode(text);
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new KeyError(
      `JWT secret file ${file} holds ${bytes.length} bytes; HS256 needs at least ${MIN_SECRET_BYTES}`,
    );
  }
  return bytes;
}

/** What `jwtVerify` accepts as a key: an HMAC secret, one public key, or a key set. */
export type VerificationKey = Uint8Array | CryptoKey | JWTVerifyGetKey;

/** The key that verifies tokens for the configured algorithm. */
export async function loadVerificationKey(config: { readonly jwt: JwtConfig }): Promise<VerificationKey> {
  const jwt = config.jwt;
  if (jwt.algorithm === "HS256") {
    // Imported once: jose re-imports raw secret bytes on every verification (about half its cost).
    return webcrypto.subtle.importKey("raw", readSecret(config), { name: "HMAC", hash: "SHA-256" }, false, [
      "verify",
    ]);
  }
  if (jwt.publicKeyFile && jwt.jwksFile) {
    throw new KeyError("set only one of JWT_PUBLIC_KEY_FILE and JWT_JWKS_FILE");
  }
  if (jwt.publicKeyFile) return importPublicKey(jwt.publicKeyFile, jwt.algorithm);
  if (jwt.jwksFile) return createLocalJWKSet(readJwks(jwt.jwksFile));
  throw new KeyError(`JWT_ALGORITHM=${jwt.algorithm} needs JWT_PUBLIC_KEY_FILE or JWT_JWKS_FILE`);
}

export interface SigningKey {
  readonly key: Uint8Array | CryptoKey;
  /**
   * `kid` to put in the token header: set when a JWKS is configured and one of its keys with a
   * `kid` is the public half of the private key, so verifiers with several keys pick the right one.
   */
  readonly kid: string | undefined;
}

/** The key the token CLI signs with: the HS256 secret, or the RS256/ES256 private key. */
export async function loadSigningKey(config: { readonly jwt: JwtConfig }): Promise<SigningKey> {
  const jwt = config.jwt;
  if (jwt.algorithm === "HS256") return { key: readSecret(config), kid: undefined };
  if (!jwt.privateKeyFile) {
    throw new KeyError(
      `JWT_ALGORITHM=${jwt.algorithm} signs with a private key: set JWT_PRIVATE_KEY_FILE to a PEM (PKCS#8) file`,
    );
  }
  const pem = readText(jwt.privateKeyFile, "private key");
  let key: CryptoKey;
  try {
    key = await importPKCS8(pem, jwt.algorithm, { extractable: true });
  } catch {
    throw new KeyError(
      `${jwt.privateKeyFile} is not a PEM PKCS#8 ("BEGIN PRIVATE KEY") ${keyKind(jwt.algorithm)} private key`,
    );
  }
  const kid = jwt.jwksFile ? await findKid(key, readJwks(jwt.jwksFile)) : undefined;
  return { key, kid };
}

async function importPublicKey(file: string, algorithm: JwtAlgorithm): Promise<CryptoKey> {
  const pem = readText(file, "public key");
  try {
    // A certificate is accepted too: it is how many identity providers publish their key.
    return pem.includes("-----BEGIN CERTIFICATE-----")
      ? await importX509(pem, algorithm)
      : await importSPKI(pem, algorithm);
  } catch {
    throw new KeyError(
      `${file} is not a PEM SPKI ("BEGIN PUBLIC KEY") or X.509 ${keyKind(algorithm)} public key`,
    );
  }
}

function readJwks(file: string): JSONWebKeySet {
  const text = readText(file, "JWKS");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new KeyError(`${file} is not valid JSON (expected a JWKS: {"keys": [...]})`);
  }
  if (
    typeof value !== "object" ||
    value === null ||
    !Array.isArray((value as { keys?: unknown }).keys) ||
    (value as { keys: unknown[] }).keys.length === 0
  ) {
    throw new KeyError(`${file} is not a JWKS: expected {"keys": [...]} with at least one key`);
  }
  return value as JSONWebKeySet;
}

/** The `kid` of the JWKS entry whose public components match the private key, if exactly one does. */
async function findKid(privateKey: CryptoKey, jwks: JSONWebKeySet): Promise<string | undefined> {
  const own = await exportJWK(privateKey);
  const matches = jwks.keys.filter((jwk: JWK) => typeof jwk.kid === "string" && samePublicKey(own, jwk));
  return matches.length === 1 ? matches[0]?.kid : undefined;
}

function samePublicKey(a: JWK, b: JWK): boolean {
  if (a.kty !== b.kty) return false;
  if (a.kty === "RSA") return a.n === b.n && a.e === b.e;
  if (a.kty === "EC") return a.crv === b.crv && a.x === b.x && a.y === b.y;
  return false;
}

function readText(file: string, what: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (error) {
    if (isErrno(error, "ENOENT")) throw new KeyError(`JWT ${what} file ${file} does not exist`);
    throw fileError(file, `cannot read the JWT ${what} file`, error);
  }
}

function keyKind(algorithm: JwtAlgorithm): string {
  return algorithm === "ES256" ? "P-256 EC" : "RSA";
}

/** File-system errors carry only the path and the errno code, never file contents. */
function fileError(file: string, what: string, error: unknown): KeyError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? "unknown error";
  return new KeyError(`${what} ${file}: ${code}`);
}

function isErrno(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === code;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
