import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { base64url, exportJWK, exportPKCS8, exportSPKI, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ensureLocalSecret, type JwtConfig, KeyError, readSecret } from "../src/auth/keys.js";
import { authenticate, createTokenVerifier, signToken, type TokenVerifier } from "../src/auth/token.js";
import { loadConfig } from "../src/config.js";
import { SpaceOneError } from "../src/errors.js";

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "auth-test-"));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function jwtConfig(overrides: Partial<JwtConfig>): { jwt: JwtConfig } {
  return {
    jwt: {
      algorithm: "HS256",
      secretFile: path.join(dir, "jwt-secret"),
      publicKeyFile: undefined,
      jwksFile: undefined,
      privateKeyFile: undefined,
      ...overrides,
    },
  };
}

function write(name: string, content: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

const now = () => Math.floor(Date.now() / 1000);

/** Claims of a valid access token, to be varied one at a time by the rejection tests. */
function baseClaims(): Record<string, unknown> {
  return { did: "domain-1", rol: "DOMAIN_ADMIN", typ: "ACCESS_TOKEN", ver: "2.0", sub: "user-1" };
}

async function rejection(outcome: unknown): Promise<SpaceOneError> {
  const error = await Promise.resolve(outcome).then(
    () => {
      throw new Error("expected the token to be rejected");
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SpaceOneError);
  const spaceOneError = error as SpaceOneError;
  expect(spaceOneError.code).toBe("ERROR_AUTHENTICATE_FAILURE");
  expect(spaceOneError.status).toBe("unauthenticated");
  return spaceOneError;
}

async function expectRejected(verifier: TokenVerifier, token: string, reason: string): Promise<void> {
  const error = await rejection(verifier.verify(token));
  expect(error.message).toBe(`Authenticate failure. (message = ${reason})`);
}

describe("HS256 secret file", () => {
  it("is created once with mode 0600 and then reused", () => {
    const config = jwtConfig({ secretFile: path.join(dir, "nested", "deeper", "secret") });
    expect(ensureLocalSecret(config)).toBe(true);
    const first = fs.readFileSync(config.jwt.secretFile, "utf8");
    expect(first.trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(fs.statSync(config.jwt.secretFile).mode & 0o777).toBe(0o600);

    expect(ensureLocalSecret(config)).toBe(false);
    expect(fs.readFileSync(config.jwt.secretFile, "utf8")).toBe(first);
    expect(Buffer.from(readSecret(config)).toString("utf8")).toBe(first.trim());
  });

  it("refuses a short secret without echoing it", () => {
    const config = jwtConfig({ secretFile: write("short-secret", "hunter2-is-short\n") });
    expect(() => readSecret(config)).toThrow(KeyError);
    expect(() => readSecret(config)).not.toThrow(/hunter2/);
    expect(() => ensureLocalSecret(config)).toThrow(/at least 32/);
  });

  it("reports a missing secret file by path", async () => {
    const config = jwtConfig({ secretFile: path.join(dir, "does-not-exist") });
    await expect(createTokenVerifier(config)).rejects.toThrow(/does-not-exist does not exist/);
  });
});

describe("HS256 tokens", () => {
  const config = () => jwtConfig({ secretFile: path.join(dir, "hs-secret") });
  let verifier: TokenVerifier;
  beforeAll(async () => {
    ensureLocalSecret(config());
    verifier = await createTokenVerifier(config());
  });
  const secret = () => readSecret(config());

  it("remembers a verified token only until it expires, and never a failed one", async () => {
    const token = await signToken(config(), { domainId: "domain-1", role: "DOMAIN_ADMIN", ttlSeconds: 60 });
    const first = await verifier.verify(token);
    // Served from the cache at once: the same object, not a promise.
    expect(verifier.verify(token)).toBe(first);
    vi.useFakeTimers({ now: Date.now() + 61_000, toFake: ["Date"] });
    try {
      await expectRejected(verifier, token, "token expired.");
    } finally {
      vi.useRealTimers();
    }
    const forged = `${token.slice(0, -6)}AAAAAA`;
    await expectRejected(verifier, forged, "invalid token signature.");
    await expectRejected(verifier, forged, "invalid token signature.");
  });

  it("answers at once only for a token the cache still holds (evicted by count or never kept by size)", async () => {
    const sign = (domainId: string) =>
      signToken(config(), { domainId, role: "DOMAIN_ADMIN", ttlSeconds: 60 });
    const one = await createTokenVerifier({
      ...config(),
      limits: { tokenCache: { maxEntries: 1, maxBytes: 1 << 20 } },
    });
    const [a, b] = [await sign("domain-a"), await sign("domain-b")];
    const first = await one.verify(a);
    expect(one.verify(a)).toBe(first);
    expect(one.verify(a)).toBe(first); // the same token twice in a row
    await one.verify(b); // evicts a
    expect(one.verify(a)).toBeInstanceOf(Promise);
    expect(await one.verify(a)).toEqual(first);
    expect(one.verify(b)).toBeInstanceOf(Promise); // evicted by a
    const tiny = await createTokenVerifier({
      ...config(),
      limits: { tokenCache: { maxEntries: 10, maxBytes: 64 } },
    });
    await tiny.verify(a); // too big to be kept
    expect(tiny.verify(a)).toBeInstanceOf(Promise);
    expect(await tiny.verify(a)).toMatchObject({ domainId: "domain-a" });
  });

  it("round-trips a workspace owner token", async () => {
    const token = await signToken(config(), {
      domainId: "domain-1",
      role: "WORKSPACE_OWNER",
      workspaceId: "workspace-1",
      ttlSeconds: 600,
      permissions: ["identity:Job.read", " ", "identity:Job.write"],
      subject: "alice",
    });
    expect(await verifier.verify(token)).toEqual({
      tokenType: "ACCESS_TOKEN",
      issuedAs: "ACCESS_TOKEN",
      owner: "USER",
      audience: "alice",
      role: "WORKSPACE_OWNER",
      domainId: "domain-1",
      workspaceId: "workspace-1",
      permissions: ["identity:Job.read", "identity:Job.write"],
      subject: "alice",
    });
  });

  it("sets the identity claims, exp = iat + ttl, and a random jti", async () => {
    const sign = () => signToken(config(), { domainId: "domain-1", role: "DOMAIN_ADMIN", ttlSeconds: 90 });
    const [a, b] = [await sign(), await sign()];
    const claims = JSON.parse(Buffer.from(a.split(".")[1] as string, "base64url").toString("utf8"));
    expect(claims).toMatchObject({ did: "domain-1", rol: "DOMAIN_ADMIN", typ: "ACCESS_TOKEN", ver: "2.0" });
    expect(claims).not.toHaveProperty("wid");
    expect(claims).not.toHaveProperty("permissions");
    expect(claims.exp - claims.iat).toBe(90);
    expect(Math.abs(claims.iat - now())).toBeLessThanOrEqual(2);
    expect(typeof claims.sub).toBe("string");
    const other = JSON.parse(Buffer.from(b.split(".")[1] as string, "base64url").toString("utf8"));
    expect(claims.jti).toMatch(/^[0-9a-f]{32}$/);
    expect(other.jti).not.toBe(claims.jti);
    const header = JSON.parse(Buffer.from(a.split(".")[0] as string, "base64url").toString("utf8"));
    expect(header.alg).toBe("HS256");
  });

  it("maps user_id when there is no sub, and defaults permissions to []", async () => {
    const token = await new SignJWT({ ...baseClaims(), sub: undefined, user_id: "bob" })
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime(now() + 60)
      .sign(secret());
    expect(await verifier.verify(token)).toMatchObject({
      subject: "bob",
      permissions: [],
      workspaceId: null,
    });
  });

  it("rejects an expired token", async () => {
    const token = await new SignJWT(baseClaims())
      .setProtectedHeader({ alg: "HS256" })
      .setIssuedAt(now() - 120)
      .setExpirationTime(now() - 60)
      .sign(secret());
    await expectRejected(verifier, token, "token expired.");
  });

  it("rejects a token signed with another secret", async () => {
    const token = await new SignJWT(baseClaims())
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime(now() + 60)
      .sign(new TextEncoder().encode("x".repeat(64)));
    await expectRejected(verifier, token, "invalid token signature.");
  });

  it("rejects a token whose payload was changed after signing", async () => {
    const token = await signToken(config(), { domainId: "domain-1", role: "DOMAIN_ADMIN", ttlSeconds: 60 });
    const [header, payload, signature] = token.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    const forged = base64url.encode(JSON.stringify({ ...claims, did: "domain-victim" }));
    await expectRejected(verifier, `${header}.${forged}.${signature}`, "invalid token signature.");
  });

  it("rejects alg none", async () => {
    const header = base64url.encode(JSON.stringify({ alg: "none", typ: "JWT" }));
    const payload = base64url.encode(JSON.stringify({ ...baseClaims(), exp: now() + 600 }));
    await expectRejected(verifier, `${header}.${payload}.`, "failed to decode token.");
  });

  it("rejects another HMAC algorithm even with the right secret", async () => {
    // Only the algorithm pin stops this one: the key itself would verify HS384/HS512 just as well.
    for (const alg of ["HS384", "HS512"]) {
      const token = await new SignJWT(baseClaims())
        .setProtectedHeader({ alg })
        .setExpirationTime(now() + 60)
        .sign(secret());
      await expectRejected(verifier, token, "failed to decode token.");
    }
  });

  it("rejects a token without exp", async () => {
    const token = await new SignJWT(baseClaims()).setProtectedHeader({ alg: "HS256" }).sign(secret());
    await expectRejected(verifier, token, "token has no expiry.");
  });

  it.each([
    ["a wrong ver", { ver: "1.0" }, "invalid token version."],
    ["no ver", { ver: undefined }, "invalid token version."],
    ["an unknown role", { rol: "SUPER_ADMIN" }, "invalid role type."],
    ["an access token without a role", { rol: undefined }, "empty role_type provided."],
    ["an access token without did", { did: undefined }, "empty domain_id provided."],
    ["an access token with an empty did", { did: "  " }, "empty domain_id provided."],
    ["a refresh token", { typ: "REFRESH_TOKEN" }, "a refresh token cannot call APIs."],
    ["an unknown token type", { typ: "ID_TOKEN" }, "invalid token type."],
    ["no token type", { typ: undefined }, "invalid token type."],
    ["a workspace role without wid", { rol: "WORKSPACE_MEMBER" }, "empty workspace_id provided."],
    // "*" marks domain-level jobs; as a token's workspace it would reach them (issue 9.7).
    ["an owner token with wid *", { rol: "WORKSPACE_OWNER", wid: "*" }, "invalid workspace_id."],
    ["a member token with wid *", { rol: "WORKSPACE_MEMBER", wid: " * " }, "invalid workspace_id."],
    ["a system token with wid *", { typ: "SYSTEM_TOKEN", rol: undefined, wid: "*" }, "invalid workspace_id."],
    ["a non-string did", { did: 42 }, "invalid domain_id."],
    ["non-string permissions", { permissions: ["a", 1] }, "invalid permissions."],
    [
      "a blank permission (a prefix of every permission)",
      { permissions: ["identity:Job.read", " "] },
      "invalid permissions.",
    ],
  ])("rejects %s", async (_name, change, reason) => {
    const token = await new SignJWT({ ...baseClaims(), ...change })
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime(now() + 60)
      .sign(secret());
    await expectRejected(verifier, token, reason);
  });

  it("rejects empty and malformed tokens", async () => {
    await expectRejected(verifier, "", "empty token provided.");
    await expectRejected(verifier, "   ", "empty token provided.");
    await expectRejected(verifier, "not-a-jwt", "failed to decode token.");
    await expectRejected(verifier, "a.b.c", "failed to decode token.");
    await expectRejected(verifier, "x".repeat(20_000), "failed to decode token.");
  });

  it("accepts a system token without domain or role", async () => {
    const token = await new SignJWT({ typ: "SYSTEM_TOKEN", ver: "2.0" })
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime(now() + 60)
      .sign(secret());
    expect(await verifier.verify(token)).toMatchObject({
      tokenType: "SYSTEM_TOKEN",
      role: null,
      domainId: null,
    });
  });

  it("refuses to sign scope combinations that make no sense", async () => {
    await expect(
      signToken(config(), { domainId: "domain-1", role: "WORKSPACE_OWNER", ttlSeconds: 60 }),
    ).rejects.toThrow(/needs a workspace/);
    await expect(
      signToken(config(), {
        domainId: "domain-1",
        role: "WORKSPACE_MEMBER",
        workspaceId: " ",
        ttlSeconds: 60,
      }),
    ).rejects.toThrow(/needs a workspace/);
    await expect(
      signToken(config(), {
        domainId: "domain-1",
        role: "DOMAIN_ADMIN",
        workspaceId: "ws-1",
        ttlSeconds: 60,
      }),
    ).rejects.toThrow(/must not carry a workspace/);
    await expect(
      signToken(config(), {
        domainId: "domain-1",
        role: "WORKSPACE_OWNER",
        workspaceId: "*",
        ttlSeconds: 60,
      }),
    ).rejects.toThrow(/"\*" is not a workspace/);
    await expect(signToken(config(), { domainId: "", role: "DOMAIN_ADMIN", ttlSeconds: 60 })).rejects.toThrow(
      /domain id/,
    );
    await expect(signToken(config(), { domainId: "d", role: "DOMAIN_ADMIN", ttlSeconds: 0 })).rejects.toThrow(
      /ttl/,
    );
  });
});

describe("RS256 and ES256 tokens", () => {
  for (const algorithm of ["RS256", "ES256"] as const) {
    it(`${algorithm}: round-trips with a PEM key pair`, async () => {
      const { publicKey, privateKey } = await generateKeyPair(algorithm, { extractable: true });
      const config = jwtConfig({
        algorithm,
        publicKeyFile: write(`${algorithm}-public.pem`, await exportSPKI(publicKey)),
        privateKeyFile: write(`${algorithm}-private.pem`, await exportPKCS8(privateKey)),
      });
      const verifier = await createTokenVerifier(config);
      const token = await signToken(config, {
        domainId: "domain-2",
        role: "WORKSPACE_MEMBER",
        workspaceId: "workspace-9",
        ttlSeconds: 60,
      });
      expect(JSON.parse(Buffer.from(token.split(".")[0] as string, "base64url").toString()).alg).toBe(
        algorithm,
      );
      expect(await verifier.verify(token)).toMatchObject({
        tokenType: "ACCESS_TOKEN",
        role: "WORKSPACE_MEMBER",
        domainId: "domain-2",
        workspaceId: "workspace-9",
      });

      // A token from another key pair of the same kind must fail.
      const other = await generateKeyPair(algorithm);
      const forged = await new SignJWT(baseClaims())
        .setProtectedHeader({ alg: algorithm })
        .setExpirationTime(now() + 60)
        .sign(other.privateKey);
      await expectRejected(verifier, forged, "invalid token signature.");
    });
  }

  it("rejects HS256 tokens, alg none and the public key used as an HMAC secret", async () => {
    const { publicKey } = await generateKeyPair("RS256", { extractable: true });
    const pem = await exportSPKI(publicKey);
    const verifier = await createTokenVerifier(
      jwtConfig({ algorithm: "RS256", publicKeyFile: write("rs.pem", pem) }),
    );

    const hsToken = await new SignJWT(baseClaims())
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime(now() + 60)
      .sign(new TextEncoder().encode("y".repeat(64)));
    await expectRejected(verifier, hsToken, "failed to decode token.");

    // Algorithm confusion: an attacker knows the public key and uses it as the HMAC secret.
    const confused = await new SignJWT(baseClaims())
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime(now() + 60)
      .sign(new TextEncoder().encode(pem));
    await expectRejected(verifier, confused, "failed to decode token.");

    const none = `${base64url.encode(JSON.stringify({ alg: "none" }))}.${base64url.encode(
      JSON.stringify({ ...baseClaims(), exp: now() + 60 }),
    )}.`;
    await expectRejected(verifier, none, "failed to decode token.");
  });

  it("rejects an ES256 token at an RS256 verifier", async () => {
    const rs = await generateKeyPair("RS256", { extractable: true });
    const es = await generateKeyPair("ES256");
    const verifier = await createTokenVerifier(
      jwtConfig({ algorithm: "RS256", publicKeyFile: write("rs2.pem", await exportSPKI(rs.publicKey)) }),
    );
    const token = await new SignJWT(baseClaims())
      .setProtectedHeader({ alg: "ES256" })
      .setExpirationTime(now() + 60)
      .sign(es.privateKey);
    await expectRejected(verifier, token, "failed to decode token.");
  });

  it("verifies against a JWKS file, picking the key by kid or trying each", async () => {
    const signer = await generateKeyPair("RS256", { extractable: true });
    const unrelated = await generateKeyPair("RS256", { extractable: true });
    const jwks = {
      keys: [
        { ...(await exportJWK(unrelated.publicKey)), kid: "old", alg: "RS256", use: "sig" },
        { ...(await exportJWK(signer.publicKey)), kid: "current", alg: "RS256", use: "sig" },
      ],
    };
    const config = jwtConfig({
      algorithm: "RS256",
      jwksFile: write("jwks.json", JSON.stringify(jwks)),
      privateKeyFile: write("jwks-private.pem", await exportPKCS8(signer.privateKey)),
    });
    const verifier = await createTokenVerifier(config);

    const token = await signToken(config, { domainId: "domain-3", role: "DOMAIN_ADMIN", ttlSeconds: 60 });
    expect(JSON.parse(Buffer.from(token.split(".")[0] as string, "base64url").toString()).kid).toBe(
      "current",
    );
    expect(await verifier.verify(token)).toMatchObject({ domainId: "domain-3", role: "DOMAIN_ADMIN" });

    // No kid: both keys match the algorithm, so each is tried.
    const noKid = await new SignJWT(baseClaims())
      .setProtectedHeader({ alg: "RS256" })
      .setExpirationTime(now() + 60)
      .sign(signer.privateKey);
    expect(await verifier.verify(noKid)).toMatchObject({ domainId: "domain-1" });

    // A key that is in no set fails, with or without a kid.
    const stranger = await generateKeyPair("RS256");
    for (const header of [{ alg: "RS256" }, { alg: "RS256", kid: "current" }]) {
      const forged = await new SignJWT(baseClaims())
        .setProtectedHeader(header)
        .setExpirationTime(now() + 60)
        .sign(stranger.privateKey);
      await rejection(verifier.verify(forged));
    }
  });

  it("reports unusable key files without their contents", async () => {
    const secretish = "SUPERSECRETMATERIAL";
    await expect(
      createTokenVerifier(
        jwtConfig({ algorithm: "RS256", jwksFile: write("bad.json", `{"keys": ${secretish}`) }),
      ),
    ).rejects.toThrow(KeyError);
    await expect(
      createTokenVerifier(
        jwtConfig({ algorithm: "RS256", jwksFile: write("bad2.json", `{"keys": ${secretish}`) }),
      ),
    ).rejects.not.toThrow(new RegExp(secretish));
    await expect(
      createTokenVerifier(jwtConfig({ algorithm: "ES256", publicKeyFile: write("bad.pem", secretish) })),
    ).rejects.toThrow(/bad\.pem is not a PEM SPKI/);

    // An RSA key configured for ES256 is refused, naming the file only.
    const rs = await generateKeyPair("RS256", { extractable: true });
    const pkcs8 = await exportPKCS8(rs.privateKey);
    const config = jwtConfig({
      algorithm: "ES256",
      publicKeyFile: write("rsa-for-es.pem", await exportSPKI(rs.publicKey)),
      privateKeyFile: write("rsa-private-for-es.pem", pkcs8),
    });
    await expect(createTokenVerifier(config)).rejects.toThrow(/rsa-for-es\.pem is not a PEM SPKI.*P-256 EC/);
    const signError = await signToken(config, { domainId: "d", role: "DOMAIN_ADMIN", ttlSeconds: 60 }).catch(
      (e: Error) => e,
    );
    expect(signError).toBeInstanceOf(KeyError);
    expect((signError as Error).message).toMatch(/rsa-private-for-es\.pem/);
    expect((signError as Error).message).not.toContain(pkcs8.split("\n")[1]);
  });

  it("needs a private key to sign RS256 tokens", async () => {
    const { publicKey } = await generateKeyPair("RS256", { extractable: true });
    const config = jwtConfig({
      algorithm: "RS256",
      publicKeyFile: write("pub-only.pem", await exportSPKI(publicKey)),
    });
    await expect(signToken(config, { domainId: "d", role: "DOMAIN_ADMIN", ttlSeconds: 60 })).rejects.toThrow(
      /JWT_PRIVATE_KEY_FILE/,
    );
  });
});

describe("authenticate (headers)", () => {
  let config: { jwt: JwtConfig };
  let verifier: TokenVerifier;
  beforeAll(async () => {
    config = loadConfig({ DATA_DIR: path.join(dir, "headers-data") });
    ensureLocalSecret(config);
    verifier = await createTokenVerifier(config);
  });

  const accessToken = () =>
    signToken(config, { domainId: "domain-a", role: "WORKSPACE_OWNER", workspaceId: "ws-a", ttlSeconds: 60 });
  const systemToken = () =>
    signToken(config, {
      domainId: "domain-sys",
      role: "DOMAIN_ADMIN",
      ttlSeconds: 60,
      tokenType: "SYSTEM_TOKEN",
    });

  it("reads the token from the `token` header", async () => {
    const principal = await authenticate(verifier, new Headers({ token: await accessToken() }));
    expect(principal).toMatchObject({ domainId: "domain-a", workspaceId: "ws-a", role: "WORKSPACE_OWNER" });
  });

  it("reads the token from Authorization: Bearer, any case", async () => {
    for (const scheme of ["Bearer", "bearer", "BEARER"]) {
      const headers = new Headers({ authorization: `${scheme} ${await accessToken()}` });
      expect((await authenticate(verifier, headers)).domainId).toBe("domain-a");
    }
  });

  it("reads each Authorization value as its own, also when they alternate", async () => {
    const token = await accessToken();
    const values = [
      `Bearer ${token}`,
      "Basic dXNlcjpwYXNz",
      `bearer  ${token} `,
      "Bearer",
      `Bearer ${token}`,
    ];
    for (const value of [...values, ...values]) {
      const outcome = authenticate(verifier, new Headers({ authorization: value }));
      if (value.startsWith("Basic") || value === "Bearer") {
        expect((await rejection(outcome)).message).toContain("empty token provided.");
      } else {
        expect((await outcome).domainId).toBe("domain-a");
      }
    }
  });

  it("prefers `token` over Authorization", async () => {
    const headers = new Headers({ token: await accessToken(), authorization: "Bearer garbage" });
    expect((await authenticate(verifier, headers)).domainId).toBe("domain-a");
  });

  it("reports a missing token", async () => {
    for (const headers of [new Headers(), new Headers({ authorization: "Basic dXNlcjpwYXNz" })]) {
      const error = await rejection(authenticate(verifier, headers));
      expect(error.message).toContain("empty token provided.");
    }
  });

  it("scopes a system token by x_domain_id / x_workspace_id", async () => {
    const headers = new Headers({
      token: await systemToken(),
      x_domain_id: "domain-target",
      x_workspace_id: "ws-target",
    });
    expect(await authenticate(verifier, headers)).toMatchObject({
      tokenType: "SYSTEM_TOKEN",
      domainId: "domain-target",
      workspaceId: "ws-target",
    });
    const dashed = new Headers({ token: await systemToken(), "x-domain-id": "domain-dashed" });
    expect(await authenticate(verifier, dashed)).toMatchObject({
      domainId: "domain-dashed",
      workspaceId: null,
    });
    const none = new Headers({ token: await systemToken() });
    expect((await authenticate(verifier, none)).domainId).toBe("domain-sys");
  });

  it("ignores x_domain_id and x_workspace_id on an access token", async () => {
    const headers = new Headers({
      token: await accessToken(),
      x_domain_id: "domain-other",
      "x-domain-id": "domain-other",
      x_workspace_id: "ws-other",
    });
    expect(await authenticate(verifier, headers)).toMatchObject({
      domainId: "domain-a",
      workspaceId: "ws-a",
    });
  });
});
