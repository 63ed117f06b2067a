/**
 * The ceiling for this runtime (its own process): bare `node:http` and `node:http2` servers that read
 * the request body and answer with the exact response bytes the real server gave for the same `get`
 * (captured by bench/run.ts). No routing, no decoding, no authentication, no database.
 *
 * Argument: path of a JSON file (`BareSpec`). HTTP/1.1 on `h1Port` (also answers GET /healthz),
 * h2c on `h2Port` (Connect binary by content type `application/proto`, gRPC by `application/grpc`).
 */
import fs from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import { answer, stopOnSignal } from "./serve.js";

export interface BareResponse {
  contentType: string;
  bodyBase64: string;
}

export interface BareSpec {
  h1Port: number;
  h2Port: number;
  json: BareResponse;
  proto: BareResponse;
  grpc: BareResponse;
}

const spec = JSON.parse(fs.readFileSync(process.argv[2] ?? "", "utf8")) as BareSpec;
const json = Buffer.from(spec.json.bodyBase64, "base64");
const proto = Buffer.from(spec.proto.bodyBase64, "base64");
const grpc = Buffer.from(spec.grpc.bodyBase64, "base64");

const h1 = http.createServer((req, res) => {
  if (req.method === "GET") {
    answer(res, 200, "ok", "text/plain");
    return;
  }
  req.on("data", () => {});
  req.on("end", () => {
    res.writeHead(200, { "content-type": spec.json.contentType, "content-length": json.length });
    res.end(json);
  });
});
h1.keepAliveTimeout = 65_000;

const h2 = http2.createServer({ settings: { maxConcurrentStreams: 256 } });
h2.on("stream", (stream, headers) => {
  const isGrpc = String(headers["content-type"] ?? "").startsWith("application/grpc");
  stream.on("data", () => {});
  stream.on("error", () => {});
  stream.on("end", () => {
    if (stream.destroyed) return;
    if (isGrpc) {
      stream.respond({ ":status": 200, "content-type": spec.grpc.contentType }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0", "grpc-message": "" }));
      stream.end(grpc);
    } else {
      stream.respond({
        ":status": 200,
        "content-type": spec.proto.contentType,
        "content-length": proto.length,
      });
      stream.end(proto);
    }
  });
});
h2.on("sessionError", () => {});

h1.listen(spec.h1Port, "127.0.0.1");
h2.listen(spec.h2Port, "127.0.0.1");

stopOnSignal(() => {
  h1.close();
  h2.close();
});
