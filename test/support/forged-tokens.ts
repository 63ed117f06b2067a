/**
 * Tokens an attacker (or a broken client) might present to an HS256 server: a wrong secret, an
 * expired one, other algorithms (HS512 with the real secret, RS256, `none`), a system token naming no
 * domain, odd roles. Each is built with jose directly, bypassing `signToken`'s own refusals, so the
 * verifier and the scoping are what get tested.
 */
import { randomBytes } from "node:crypto";
import { generateKeyPair, type JWTPayload, SignJWT } from "jose";
import { readSecret } from "../../src/auth/keys.js";
import type { Config } from "../../src/config.js";

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

function claims(extra: JWTPayload = {}): JWTPayload {
  return { did: "domain-a", rol: "DOMAIN_ADMIN", typ: "ACCESS_TOKEN", ver: "2.0", ...extra };
}

type SigningKey = Parameters<SignJWT["sign"]>[0];

async function sign(payload: JWTPayload, key: SigningKey, alg: string, expiresIn = "10m") {
  return new SignJWT(payload)
    .setProtectedHeader({ alg })
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(key);
}

export interface ForgedTokens {
  /** Must be refused as unauthenticated. */
  readonly refused: Readonly<Record<string, string>>;
  /** Signed correctly, but with a role that may call nothing (permission_denied). */
  readonly powerless: Readonly<Record<string, string>>;
  /** A correctly signed SYSTEM_TOKEN without `did`: it names no domain. */
  readonly systemWithoutDomain: string;
}

export async function forgeTokens(config: Pick<Config, "jwt">): Promise<ForgedTokens> {
  const secret = readSecret(config);
  const { privateKey } = await generateKeyPair("RS256");
  const good = await sign(claims(), secret, "HS256");
  const [head, body] = good.split(".");
  const tampered = await sign(claims({ did: "domain-b" }), secret, "HS256");
  return {
    refused: {
      "wrong secret": await sign(claims(), randomBytes(32), "HS256"),
      "signature of another token": `${head}.${body}.${tampered.split(".")[2]}`,
      "payload swapped under a valid signature": `${head}.${base64url(claims({ did: "domain-b" }))}.${good.split(".")[2]}`,
      expired: await new SignJWT(claims())
        .setProtectedHeader({ alg: "HS256" })
        .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
        .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
        .sign(secret),
      "no expiry": await new SignJWT(claims()).setProtectedHeader({ alg: "HS256" }).sign(secret),
      "HS512 with the real secret": await sign(claims(), new Uint8Array([...secret, ...secret]), "HS512"),
      "RS256 on an HS256 verifier": await sign(claims(), privateKey, "RS256"),
      "alg none": `${base64url({ alg: "none", typ: "JWT" })}.${base64url({ ...claims(), exp: Math.floor(Date.now() / 1000) + 600 })}.`,
      "wrong version": await sign(claims({ ver: "1.0" }), secret, "HS256"),
      "workspace role without wid": await sign(claims({ rol: "WORKSPACE_OWNER" }), secret, "HS256"),
      garbage: "not.a.jwt",
    },
    powerless: {
      "USER role": await sign(claims({ rol: "USER" }), secret, "HS256"),
      "SYSTEM_ADMIN role": await sign(claims({ rol: "SYSTEM_ADMIN" }), secret, "HS256"),
      "permissions without identity:Job": await sign(
        claims({ permissions: ["inventory:Server.read"] }),
        secret,
        "HS256",
      ),
    },
    systemWithoutDomain: await sign(
      { typ: "SYSTEM_TOKEN", ver: "2.0", rol: "DOMAIN_ADMIN" },
      secret,
      "HS256",
    ),
  };
}
