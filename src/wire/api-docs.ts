/**
 * `GET /openapi.json` (the generated OpenAPI document, gen/openapi/openapi.json) and `GET /docs`, a
 * reference page rendered by Swagger UI from the npm package `swagger-ui-dist`, served from
 * node_modules by this process: no CDN, the page works offline. A strict Content-Security-Policy
 * (scripts and styles from this origin only; Swagger UI sets inline styles on elements).
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import openapi from "../../gen/openapi/openapi.json" with { type: "json" };
import type { NodeRequest, NodeResponse } from "./server.js";

type Middleware = (req: NodeRequest, res: NodeResponse, next: () => void) => void;

export const OPENAPI_PATH = "/openapi.json";
export const DOCS_PATH = "/docs";

const swaggerDir = path.dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));

/** The renderer's files we serve, and their types; nothing else under /docs/ is read from disk. */
const assets: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "favicon-32x32.png": "image/png",
};

const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${openapi.info.title}</title>
<link rel="stylesheet" href="${DOCS_PATH}/swagger-ui.css">
<link rel="icon" type="image/png" href="${DOCS_PATH}/favicon-32x32.png">
</head>
<body>
<div id="docs"></div>
<script src="${DOCS_PATH}/swagger-ui-bundle.js"></script>
<script src="${DOCS_PATH}/init.js"></script>
</body>
</html>
`;

const init = `window.ui = SwaggerUIBundle({
  url: ${JSON.stringify(OPENAPI_PATH)},
  dom_id: "#docs",
  deepLinking: true,
  validatorUrl: null,
  tryItOutEnabled: false,
  persistAuthorization: false
});
`;

const csp = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const openapiBytes = Buffer.from(JSON.stringify(openapi));

export function apiDocsMiddleware(): Middleware {
  // Read per request, not held: the renderer is ~1.9 MB that only a person opening /docs needs, and
  // browsers cache it for an hour (docs/benchmarks.md "Memory").
  const asset = (name: string) => readFile(path.join(swaggerDir, name));
  return (req, res, next) => {
    const url = (req.url ?? "").split("?")[0] ?? "";
    if (url !== OPENAPI_PATH && url !== DOCS_PATH && !url.startsWith(`${DOCS_PATH}/`)) return next();
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(res, req.method, 405, "text/plain; charset=utf-8", Buffer.from("method not allowed\n"), {
        allow: "GET, HEAD",
      });
      return;
    }
    if (url === OPENAPI_PATH) {
      send(res, req.method, 200, "application/json", openapiBytes, { "access-control-allow-origin": "*" });
      return;
    }
    if (url === DOCS_PATH || url === `${DOCS_PATH}/`) {
      send(res, req.method, 200, "text/html; charset=utf-8", Buffer.from(page), {
        "content-security-policy": csp,
      });
      return;
    }
    const name = url.slice(DOCS_PATH.length + 1);
    if (name === "init.js") {
      send(res, req.method, 200, "text/javascript; charset=utf-8", Buffer.from(init));
      return;
    }
    const type = Object.hasOwn(assets, name) ? assets[name] : undefined;
    if (type === undefined) {
      send(res, req.method, 404, "text/plain; charset=utf-8", Buffer.from("not found\n"));
      return;
    }
    asset(name).then(
      (bytes) => send(res, req.method, 200, type, bytes, { "cache-control": "public, max-age=3600" }),
      () => send(res, req.method, 500, "text/plain; charset=utf-8", Buffer.from("renderer missing\n")),
    );
  };
}

function send(
  res: NodeResponse,
  method: string | undefined,
  status: number,
  type: string,
  body: Buffer,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...headers,
    "content-type": type,
    "content-length": String(body.length),
    "x-content-type-options": "nosniff",
  });
  if (method === "HEAD") res.end();
  else res.end(body);
}
