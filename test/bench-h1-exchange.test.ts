/**
 * The writes load generator's HTTP/1.1 connection (bench/load/h1-exchange.ts): it must count an answer
 * only once it is whole, keep the connection for the next request, and fail (never hang or miscount)
 * on what it cannot read.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { H1Exchange } from "../bench/load/h1-exchange.js";

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/p/q?x=1`;
}

describe("H1Exchange", () => {
  it("sends the head, the headers and the body as given, and reads the status of each answer on one connection", async () => {
    const seen: { method?: string; url?: string; auth?: string; body: string; socket: unknown }[] = [];
    const url = await serve((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        seen.push({
          method: req.method,
          url: req.url,
          auth: req.headers.authorization,
          body,
          socket: req.socket,
        });
        res.writeHead(seen.length === 2 ? 404 : 200, { "content-length": "5" }).end("hello");
      });
    });
    const x = new H1Exchange(url, "POST", { authorization: "Bearer t" });
    expect(await x.send('{"a":"é"}')).toBe(200);
    expect(await x.send("{}")).toBe(404);
    expect(await x.send("")).toBe(200);
    x.close();
    expect(seen.map((s) => [s.method, s.url, s.auth, s.body])).toEqual([
      ["POST", "/p/q?x=1", "Bearer t", '{"a":"é"}'],
      ["POST", "/p/q?x=1", "Bearer t", "{}"],
      ["POST", "/p/q?x=1", "Bearer t", ""],
    ]);
    expect(new Set(seen.map((s) => s.socket)).size).toBe(1);
  });

  it("waits for an answer's whole body when it arrives in pieces", async () => {
    let finished = false;
    const url = await serve((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(201, { "content-length": "10" });
        res.write("12345");
        setTimeout(() => {
          finished = true;
          res.end("67890");
        }, 50);
      });
    });
    const x = new H1Exchange(url, "POST", {});
    expect(await x.send("x")).toBe(201);
    expect(finished).toBe(true);
    x.close();
  });

  it("fails an answer without a declared length rather than guessing where it ends", async () => {
    const url = await serve((req, res) => {
      req.resume();
      req.on("end", () => {
        res.write("chunked");
        res.end();
      });
    });
    const x = new H1Exchange(url, "POST", {});
    await expect(x.send("x")).rejects.toThrow("an answer without content-length");
    await expect(x.send("x")).rejects.toThrow("an answer without content-length");
  });

  it("fails when the server closes the connection before answering", async () => {
    const url = await serve((req) => {
      req.socket.destroy();
    });
    const x = new H1Exchange(url, "POST", {});
    await expect(x.send("x")).rejects.toThrow("connection closed");
  });
});
