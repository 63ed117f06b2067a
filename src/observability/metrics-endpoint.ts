/**
 * `GET /metrics` in the Prometheus text format: as a middleware on the service's port, or on a port
 * of its own (`METRICS_PORT`) so the metrics need not be reachable by API clients.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Metrics } from "./metrics.js";
import type { NodeHandler } from "./observe-calls.js";

type Middleware = (
  req: Parameters<NodeHandler>[0],
  res: Parameters<NodeHandler>[1],
  next: () => void,
) => void;

export const METRICS_PATH = "/metrics";

export function metricsMiddleware(metrics: Metrics): Middleware {
  return (req, res, next) => {
    if ((req.url ?? "").split("?")[0] !== METRICS_PATH) return next();
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" });
      res.end("method not allowed\n");
      return;
    }
    metrics.scrape().then(
      (text) => {
        res.writeHead(200, { "content-type": metrics.registry.contentType, "cache-control": "no-store" });
        res.end(req.method === "HEAD" ? "" : text);
      },
      (err: unknown) => {
        res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
        res.end(`metrics collection failed: ${err instanceof Error ? err.message : String(err)}\n`);
      },
    );
  };
}

export interface MetricsServer {
  readonly url: string;
  close(): Promise<void>;
}

/** A plain HTTP/1.1 server answering only `GET /metrics` (everything else is 404). */
export function startMetricsServer(metrics: Metrics, host: string, port: number): Promise<MetricsServer> {
  const middleware = metricsMiddleware(metrics);
  const server = http.createServer((req, res) =>
    middleware(req, res, () => {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
      res.end("not found: metrics are at /metrics\n");
    }),
  );
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const address = server.address() as AddressInfo;
      const h = address.family === "IPv6" ? `[${address.address}]` : address.address;
      resolve({
        url: `http://${h}:${address.port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
