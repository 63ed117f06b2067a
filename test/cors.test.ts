/**
 * CORS for the browser console and any page on another origin: the preflight a browser sends before a
 * Connect, gRPC-Web or REST call with a `token` header, and the headers of the actual answer.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./support/server.js";

const ORIGIN = "https://console.example.com";

function preflight(url: string, path: string, origin = ORIGIN) {
  return fetch(`${url}${path}`, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type,connect-protocol-version,token,x-grpc-web",
    },
  });
}

const list = (header: string | null) => (header ?? "").split(",").map((s) => s.trim().toLowerCase());

describe("default: every origin (`*`)", () => {
  let server: TestServer;
  let token: string;
  beforeAll(async () => {
    server = await startTestServer();
    token = await server.token("DOMAIN_ADMIN");
  });
  afterAll(() => server.close());

  it.each(["/spaceone.api.identity.v2.Job/list", "/identity/v2/job/list", "/identity/job/list"])(
    "preflight of %s allows POST and the token header",
    async (path) => {
      const res = await preflight(server.url, path);
      expect(res.status).toBe(204);
      expect(res.headers.get("access-control-allow-origin")).toBe("*");
      expect(list(res.headers.get("access-control-allow-methods"))).toEqual(
        expect.arrayContaining(["post", "get"]),
      );
      expect(list(res.headers.get("access-control-allow-headers"))).toEqual(
        expect.arrayContaining([
          "content-type",
          "connect-protocol-version",
          "token",
          "x-grpc-web",
          "authorization",
        ]),
      );
      expect(Number(res.headers.get("access-control-max-age"))).toBeGreaterThan(0);
    },
  );

  it("the actual Connect call answers with the origin allowed and the status headers exposed", async () => {
    const res = await fetch(`${server.url}/spaceone.api.identity.v2.Job/get`, {
      method: "POST",
      headers: { origin: ORIGIN, "content-type": "application/json", token },
      body: JSON.stringify({ job_id: "job-a01" }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(list(res.headers.get("access-control-expose-headers"))).toEqual(
      expect.arrayContaining([
        "grpc-status",
        "grpc-message",
        "grpc-status-details-bin",
        "x-spaceone-error-code",
      ]),
    );
    expect(((await res.json()) as { job_id: string }).job_id).toBe("job-a01");
  });

  it("an error from REST keeps the CORS headers, so the page can read it", async () => {
    const res = await fetch(`${server.url}/identity/v2/job/get`, {
      method: "POST",
      headers: { origin: ORIGIN, "content-type": "application/json", token },
      body: JSON.stringify({ job_id: "job-nope" }),
    });
    expect(res.status).toBe(404);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("calls without an Origin (curl, services) are answered as before; `*` costs them one header", async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect([res.status, res.headers.get("access-control-allow-origin")]).toEqual([200, "*"]);
    const grpcLike = await fetch(`${server.url}/identity/v2/job/get`, {
      method: "POST",
      headers: { "content-type": "application/json", token },
      body: JSON.stringify({ job_id: "job-a01" }),
    });
    expect(grpcLike.status).toBe(200);
  });
});

describe("CORS_ALLOWED_ORIGINS: a list", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { CORS_ALLOWED_ORIGINS: `${ORIGIN}, https://other.example.com` } });
  });
  afterAll(() => server.close());

  it("echoes an allowed origin with Vary: Origin", async () => {
    const res = await preflight(server.url, "/identity/v2/job/list");
    expect(res.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(list(res.headers.get("vary"))).toContain("origin");
  });

  it("gives another origin no allow-origin header (the browser then blocks the call)", async () => {
    const res = await preflight(server.url, "/identity/v2/job/list", "https://evil.example.com");
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });
});
