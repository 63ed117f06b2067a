/**
 * `GET /readyz`: 200 `ready` when this process should get traffic, else 503 with the reason (draining,
 * database unreachable, schema not migrated). Unauthenticated, like `/healthz`, and never cached.
 * `/healthz` stays the liveness probe: it answers as long as the process can serve HTTP at all, so a
 * database outage makes the pod unready, not restarted.
 */
import type { NodeHandler } from "../server.js";
import type { HealthState } from "./health-state.js";

export function withReadyz(state: HealthState, next: NodeHandler): NodeHandler {
  return (req, res) => {
    const path = (req.url ?? "").split("?")[0];
    if (path !== "/readyz" || (req.method !== "GET" && req.method !== "HEAD")) {
      next(req, res);
      return;
    }
    void state.readiness().then((readiness) => {
      const body = readiness.ready ? "ready" : `not ready: ${readiness.reason}`;
      res.writeHead(readiness.ready ? 200 : 503, {
        "content-type": "text/plain; charset=utf-8",
        "cache-control": "no-store",
      });
      res.end(req.method === "HEAD" ? "" : body);
    });
  };
}
