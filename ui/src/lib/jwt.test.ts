import { describe, expect, it } from "vitest";
import { decodeToken, normalizeToken, TokenFormatError, tokenProblem } from "./jwt.js";

const b64 = (value: unknown) =>
  btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify(value))))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
const jwt = (payload: unknown) => `${b64({ alg: "HS256" })}.${b64(payload)}.c2ln`;
const NOW = new Date("2026-06-15T12:00:00.000Z");
const exp = (date: string) => Date.parse(date) / 1000;

describe("token claims", () => {
  it("reads domain, workspace, role, type, permissions, subject and expiry", () => {
    const claims = decodeToken(
      jwt({
        did: "domain-1",
        wid: "ws-1",
        rol: "WORKSPACE_OWNER",
        typ: "ACCESS_TOKEN",
        permissions: ["identity:Job"],
        sub: "u1",
        exp: exp("2026-06-15T13:00:00Z"),
      }),
    );
    expect(claims).toEqual({
      domainId: "domain-1",
      workspaceId: "ws-1",
      role: "WORKSPACE_OWNER",
      tokenType: "ACCESS_TOKEN",
      permissions: ["identity:Job"],
      subject: "u1",
      expiresAt: new Date("2026-06-15T13:00:00Z"),
    });
  });

  it("accepts a pasted 'Bearer ' prefix and surrounding blanks, and non-ASCII claims", () => {
    const token = jwt({ did: "dömain", rol: "DOMAIN_ADMIN", exp: 1 });
    expect(decodeToken(`  Bearer ${token}\n`).domainId).toBe("dömain");
    expect(normalizeToken(`Bearer ${token} `)).toBe(token);
  });

  it("an unknown role reads as none", () => {
    expect(decodeToken(jwt({ rol: "ROOT", exp: 1 })).role).toBeNull();
  });

  const malformed: [string, string, RegExp][] = [
    ["empty", "  ", /Paste a token/],
    ["one part", "abc", /not a JWT/],
    ["four parts", "a.b.c.d", /not a JWT/],
    ["characters outside base64url", "a.b+c.d", /not a JWT/],
    ["a payload that is not JSON", `${b64({})}.bm90IGpzb24.x`, /cannot be read/],
    ["a payload that is a list", `${b64({})}.${b64([1])}.x`, /not a JSON object/],
    ["something very long", "a".repeat(20_000), /too long/],
  ];
  for (const [name, token, message] of malformed) {
    it(`refuses ${name} with a clear message`, () => {
      expect(() => decodeToken(token)).toThrow(TokenFormatError);
      expect(() => decodeToken(token)).toThrow(message);
    });
  }

  it("an expired token, one without exp, and one without a domain are problems; a good one is not", () => {
    const base = { did: "d", rol: "DOMAIN_ADMIN", typ: "ACCESS_TOKEN" };
    expect(tokenProblem(decodeToken(jwt({ ...base, exp: exp("2026-06-15T11:59:59Z") })), NOW)).toMatch(
      /expired at/,
    );
    expect(tokenProblem(decodeToken(jwt(base)), NOW)).toMatch(/no expiry/);
    expect(
      tokenProblem(decodeToken(jwt({ ...base, did: undefined, exp: exp("2026-06-16T00:00:00Z") })), NOW),
    ).toMatch(/no domain/);
    expect(tokenProblem(decodeToken(jwt({ ...base, exp: exp("2026-06-16T00:00:00Z") })), NOW)).toBeNull();
  });
});
