/**
 * Token types and key sources over the wire. Apps call with CLIENT_SECRET tokens and python-core
 * accepts API_KEY too: every user-facing type works like an access token, a refresh token is refused,
 * and the caller's `own`/`aud` reach `canceled_by`. With IDENTITY_ENDPOINT set, each domain's key comes
 * from identity's `Domain.get_public_key` (a stand-in built from the upstream proto here).
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { exportJWK, type GenerateKeyPairResult, generateKeyPair, type JWK, SignJWT } from "jose";

type KeyPair = GenerateKeyPairResult;

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSecret } from "../src/auth/keys.js";
import { signToken } from "../src/auth/token.js";
import { type AppServer, startAppServer } from "./support/app-server.js";
import { type IdentityStandIn, startIdentityStandIn } from "./support/identity-stand-in.js";

const root = path.resolve(import.meta.dirname, "..");

async function rest(url: string, route: string, token: string, body: object) {
  const res = await fetch(`${url}${route}`, {
    method: "POST",
    headers: { "content-type": "application/json", token },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown> & { detail?: { code: string; message: string } },
  };
}

describe("token types (HS256, the server's own secret)", () => {
  let server: AppServer;
  beforeAll(async () => {
    server = await startAppServer();
  });
  afterAll(() => server.close());

  it.each(["ACCESS_TOKEN", "CLIENT_SECRET", "API_KEY"] as const)(
    "%s reads jobs like an access token",
    async (type) => {
      const token = await signToken(server.config, {
        domainId: "domain-a",
        role: "WORKSPACE_MEMBER",
        workspaceId: "workspace-1",
        ttlSeconds: 60,
        tokenType: type,
      });
      const answer = await rest(server.url, "/identity/v2/job/list", token, {
        query: { page: { limit: 1 } },
      });
      expect(answer.status).toBe(200);
      expect(answer.body.total_count).toBeGreaterThan(0);
    },
  );

  it("a REFRESH_TOKEN is refused", async () => {
    const token = await new SignJWT({
      did: "domain-a",
      rol: "DOMAIN_ADMIN",
      typ: "REFRESH_TOKEN",
      ver: "2.0",
    })
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime("1m")
      .sign(readSecret(server.config));
    const answer = await rest(server.url, "/identity/v2/job/list", token, {});
    expect(answer.status).toBe(401);
    expect(answer.body.detail).toEqual({
      code: "ERROR_AUTHENTICATE_FAILURE",
      message: "Authenticate failure. (message = a refresh token cannot call APIs.)",
    });
  });

  it("an app's CLIENT_SECRET is recorded as the app in canceled_by", async () => {
    const worker = await server.token("DOMAIN_ADMIN", "domain-a", undefined, ["identity:Job.execute"]);
    const created = await rest(server.url, "/identity/v2/job/create", worker, {
      trusted_account_id: "ta-app",
      resource_group: "DOMAIN",
    });
    expect([created.status, created.body.detail]).toEqual([200, undefined]);
    const app = await signToken(server.config, {
      domainId: "domain-a",
      role: "DOMAIN_ADMIN",
      ttlSeconds: 60,
      tokenType: "CLIENT_SECRET",
      audience: "app-0123",
    });
    const canceled = await rest(server.url, "/identity/v2/job/cancel", app, { job_id: created.body.job_id });
    expect(canceled.status).toBe(200);
    expect(canceled.body.canceled_by).toBe("app:app-0123");
  });

  it("npm run token -- --type CLIENT_SECRET mints an app token, even with a bad PORT in the environment", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "src/cli/token.ts", "--type", "CLIENT_SECRET", "--audience", "app-9"],
      { cwd: root, env: { ...process.env, DATA_DIR: server.config.dataDir, PORT: "not-a-port" } },
    );
    const claims = JSON.parse(Buffer.from(stdout.trim().split(".")[1] as string, "base64url").toString());
    expect(claims).toMatchObject({ typ: "CLIENT_SECRET", own: "APP", aud: "app-9" });
  });
});

describe("per-domain keys from the identity service", () => {
  let identity: IdentityStandIn;
  let server: AppServer;
  const pairs: Record<string, KeyPair> = {};
  const jwk = async (kid: string): Promise<JWK> => {
    pairs[kid] ??= await generateKeyPair("RS256", { extractable: true });
    return { ...(await exportJWK((pairs[kid] as KeyPair).publicKey)), kid, alg: "RS256", use: "sig" };
  };
  const sign = async (kid: string | undefined, domainId: string) => {
    const pair = pairs[kid ?? "k1"] as KeyPair;
    return new SignJWT({
      did: domainId,
      rol: "DOMAIN_ADMIN",
      typ: "ACCESS_TOKEN",
      ver: "2.0",
      own: "USER",
      aud: "u-1",
    })
      .setProtectedHeader(kid ? { alg: "RS256", kid } : { alg: "RS256" })
      .setExpirationTime("5m")
      .setJti(Math.random().toString(36))
      .sign(pair.privateKey);
  };

  beforeAll(async () => {
    identity = await startIdentityStandIn();
    identity.setKey("domain-a", await jwk("k1"));
    server = await startAppServer({
      env: { IDENTITY_ENDPOINT: identity.url, IDENTITY_KEY_TTL_SECONDS: "2", IDENTITY_TIMEOUT_MS: "1000" },
    });
  });
  afterAll(async () => {
    await server.close();
    await identity.close();
  });

  it("verifies with the domain's key, fetched once and cached", async () => {
    identity.setKey("domain-a", await jwk("k1"));
    for (const kid of ["k1", undefined, "k1"]) {
      const answer = await rest(server.url, "/identity/v2/job/list", await sign(kid, "domain-a"), {});
      expect([answer.status, answer.body.total_count]).toEqual([200, expect.any(Number)]);
    }
    expect(identity.calls("domain-a")).toBe(1);
  });

  it("follows a rotation: a token with a new kid refetches the key; the old key stops working", async () => {
    identity.setKey("domain-r", await jwk("k1"));
    expect((await rest(server.url, "/identity/v2/job/list", await sign("k1", "domain-r"), {})).status).toBe(
      200,
    );
    identity.setKey("domain-r", await jwk("k2"));
    // An unknown kid refetches at most once a second per domain (forged kids cannot flood identity).
    await new Promise((r) => setTimeout(r, 1100));
    expect((await rest(server.url, "/identity/v2/job/list", await sign("k2", "domain-r"), {})).status).toBe(
      200,
    );
    expect(identity.calls("domain-r")).toBe(2);
    const old = await rest(server.url, "/identity/v2/job/list", await sign("k1", "domain-r"), {});
    expect(old.status).toBe(401);
  });

  it("a token signed by another key under the domain's kid fails its signature", async () => {
    identity.setKey("domain-i", await jwk("k1"));
    const impostor = await generateKeyPair("RS256");
    const token = await new SignJWT({ did: "domain-i", rol: "DOMAIN_ADMIN", typ: "ACCESS_TOKEN", ver: "2.0" })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setExpirationTime("5m")
      .sign(impostor.privateKey);
    const answer = await rest(server.url, "/identity/v2/job/list", token, {});
    expect([answer.status, answer.body.detail?.message]).toEqual([
      401,
      "Authenticate failure. (message = invalid token signature.)",
    ]);
  });

  it("a domain identity does not know is an authentication failure", async () => {
    const answer = await rest(server.url, "/identity/v2/job/list", await sign("k1", "domain-nobody"), {});
    expect([answer.status, answer.body.detail?.code]).toEqual([401, "ERROR_AUTHENTICATE_FAILURE"]);
  });

  it("identity down: unavailable, never a pass (a new domain, and a cached one past its TTL)", async () => {
    identity.setKey("domain-d", await jwk("k1"));
    expect((await rest(server.url, "/identity/v2/job/list", await sign("k1", "domain-d"), {})).status).toBe(
      200,
    );
    await identity.close();
    const fresh = await rest(server.url, "/identity/v2/job/list", await sign("k1", "domain-b"), {});
    expect([fresh.status, fresh.body.detail?.code]).toEqual([503, "ERROR_UNAVAILABLE"]);
    await new Promise((r) => setTimeout(r, 2100));
    const expired = await rest(server.url, "/identity/v2/job/list", await sign("k1", "domain-d"), {});
    expect([expired.status, expired.body.detail?.code]).toEqual([503, "ERROR_UNAVAILABLE"]);
  });
});
