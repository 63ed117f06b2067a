/** Single requests from the orchestrator: capturing response bytes, validating, sequential latency. */
import http from "node:http";
import http2 from "node:http2";

export interface H1Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A keep-alive agent with one socket: sequential requests reuse one connection. */
export function keepAliveAgent(): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: 1 });
}

export function h1Post(
  url: string,
  headers: Record<string, string>,
  body: string | Buffer,
  agent?: http.Agent,
): Promise<H1Response> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: "POST", headers: { ...headers, "content-length": String(Buffer.byteLength(body)) }, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.setTimeout(120_000, () => req.destroy(new Error(`timeout: POST ${url}`)));
    req.end(body);
  });
}

export interface H2Response {
  status: number;
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  body: Buffer;
}

export async function h2Post(
  origin: string,
  path: string,
  headers: Record<string, string>,
  body: Uint8Array,
): Promise<H2Response> {
  const session = http2.connect(origin);
  try {
    return await new Promise<H2Response>((resolve, reject) => {
      session.once("error", reject);
      const req = session.request({ ":method": "POST", ":path": path, ...headers });
      let status = 0;
      let resHeaders: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      req.on("response", (h) => {
        resHeaders = h;
        status = Number(h[":status"]);
      });
      req.on("trailers", (t) => {
        trailers = t;
      });
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("error", reject);
      req.on("close", () => resolve({ status, headers: resHeaders, trailers, body: Buffer.concat(chunks) }));
      req.end(Buffer.from(body));
    });
  } finally {
    session.close();
  }
}

/** grpc-status of a response: from the trailers, or from the headers of a trailers-only response. */
export function grpcStatusOf(r: H2Response): { status: string | undefined; message: string } {
  const status = r.trailers["grpc-status"] ?? r.headers["grpc-status"];
  const message = r.trailers["grpc-message"] ?? r.headers["grpc-message"];
  return {
    status: status === undefined ? undefined : String(status),
    message: message === undefined ? "" : decodeURIComponent(String(message)),
  };
}
