/** The web page's static handler: redirects, the SPA fallback, path safety, compression, headers. */
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUiHandler, safeRelativePath, UI_CONTENT_SECURITY_POLICY } from "../src/wire/static-ui.js";

let dir: string;
let server: http.Server;
let base: string;

const INDEX = `<!doctype html><title>page</title>${"x".repeat(2000)}`;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "static-ui-"));
  fs.mkdirSync(path.join(dir, "assets"));
  fs.writeFileSync(path.join(dir, "index.html"), INDEX);
  fs.writeFileSync(path.join(dir, "assets", "app-abc.js"), `console.log(1);${" ".repeat(4000)}`);
  fs.writeFileSync(path.join(dir, "..", `${path.basename(dir)}-secret.txt`), "secret");
  const handler = createUiHandler({ dir }, (_req, res) => {
    res.writeHead(299);
    res.end("next");
  });
  server = http.createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(`${dir}-secret.txt`, { force: true });
});

/** A raw request (fetch would normalise `..` away before it reaches the server). */
function get(pathname: string, headers: Record<string, string> = {}, method = "GET") {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>(
    (resolve, reject) => {
      const req = http.request(`${base}${pathname}`, { method, headers, path: pathname }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      });
      req.on("error", reject);
      req.end();
    },
  );
}

describe("static web page handler", () => {
  it("redirects / and /ui to /ui/, and leaves other paths to the next handler", async () => {
    expect((await get("/")).headers.location).toBe("/ui/");
    expect((await get("/")).status).toBe(302);
    expect((await get("/ui?x=1")).headers.location).toBe("/ui/?x=1");
    expect((await get("/identity/v2/job/list")).status).toBe(299);
    expect((await get("/", {}, "POST")).status).toBe(299);
  });

  it("answers the page for its routes, with the CSP and no caching of the HTML", async () => {
    for (const route of ["/ui/", "/ui/history?status=FAILURE", "/ui/jobs/job-1"]) {
      const res = await get(route);
      expect(res.status, route).toBe(200);
      expect(res.body.toString()).toBe(INDEX);
      expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(res.headers["content-security-policy"]).toBe(UI_CONTENT_SECURITY_POLICY);
      expect(res.headers["x-content-type-options"]).toBe("nosniff");
      expect(res.headers["cache-control"]).toBe("no-cache");
    }
  });

  it("serves hashed assets as immutable, gzipped when asked", async () => {
    const plain = await get("/ui/assets/app-abc.js");
    expect(plain.headers["cache-control"]).toContain("immutable");
    expect(plain.headers["content-encoding"]).toBeUndefined();
    const gz = await get("/ui/assets/app-abc.js", { "accept-encoding": "br, gzip;q=0.8" });
    expect(gz.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(gz.body).equals(plain.body)).toBe(true);
    expect(gz.body.length).toBeLessThan(plain.body.length);
    expect(
      (await get("/ui/assets/app-abc.js", { "accept-encoding": "gzip;q=0" })).headers["content-encoding"],
    ).toBeUndefined();
  });

  it("a missing asset is a plain 404, not the page", async () => {
    const res = await get("/ui/assets/missing.js");
    expect(res.status).toBe(404);
    expect(res.headers["content-type"]).toContain("text/plain");
  });

  const escapes = [
    "/ui/../package.json",
    "/ui/..%2f..%2fetc%2fpasswd",
    "/ui/a%5c..%5c..%5cx",
    "/ui/%00",
    "/ui/%E0%A4%A",
  ];
  for (const attempt of escapes) {
    it(`refuses ${attempt} with 400`, async () => {
      const res = await get(attempt);
      expect(res.status).toBe(400);
      expect(res.body.toString()).not.toContain("secret");
    });
  }

  it("only GET and HEAD under /ui/", async () => {
    expect((await get("/ui/", {}, "POST")).status).toBe(405);
    const head = await get("/ui/", {}, "HEAD");
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
  });

  it("says how to build the page when it is not built", async () => {
    const handler = createUiHandler({ dir: path.join(dir, "nope") }, () => {});
    const res = {
      status: 0,
      body: "",
      writeHead(s: number) {
        this.status = s;
      },
      end(b?: Buffer) {
        this.body = String(b ?? "");
      },
    };
    handler({ url: "/ui/", method: "GET", headers: {} } as never, res as never);
    expect(res.status).toBe(404);
    expect(res.body).toContain("npm run build");
  });

  it("safeRelativePath keeps plain paths and refuses escapes", () => {
    expect(safeRelativePath("assets/a.js")).toBe("assets/a.js");
    expect(safeRelativePath("a//b/")).toBe("a/b");
    expect(safeRelativePath("a/../b")).toBeNull();
    expect(safeRelativePath("%2e%2e/x")).toBeNull();
    expect(safeRelativePath("%zz")).toBeNull();
  });
});
