/**
 * The web page (ui/, docs/ui.md): the files `npm run build` writes to `dist/ui`, served at `/ui/`, with
 * `/` redirecting there. Everything else goes to the next handler (REST, Connect, gRPC).
 *
 * Every answer under `/ui/` carries a strict Content-Security-Policy: scripts, styles and connections
 * only from this origin, nothing inline, no frames. The page needs nothing else (no CDN, no fonts), so
 * it works offline and an injected script has nowhere to load from or send to.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import type { NodeHandler, NodeRequest, NodeResponse } from "./server.js";

export const UI_PREFIX = "/ui/";

export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS = {
  "content-security-policy": UI_CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
} as const;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json",
};

/** Worth compressing; images are compressed already. */
const COMPRESSIBLE = new Set([".html", ".js", ".css", ".json", ".svg", ".txt", ".map"]);

/** The build's own files, never a user's: this bounds the in-memory cache. */
interface CachedFile {
  readonly mtimeMs: number;
  readonly body: Buffer;
  readonly gzip: Buffer | null;
}

export interface UiHandlerOptions {
  /** The built page (`dist/ui`). A missing folder is not an error: `/ui/` then says how to build it. */
  readonly dir: string;
}

/** `dist/ui` of the package this file belongs to (works from `src/` under tsx and from `dist/src/`). */
export function defaultUiDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, "package.json"))) return path.join(dir, "dist", "ui");
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve("dist", "ui");
    dir = parent;
  }
}

export function createUiHandler(options: UiHandlerOptions, next: NodeHandler): NodeHandler {
  const root = path.resolve(options.dir);
  const cache = new Map<string, CachedFile>();

  const load = (file: string): CachedFile | null => {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch {
      return null;
    }
    if (!stat.isFile()) return null;
    const cached = cache.get(file);
    if (cached && cached.mtimeMs === stat.mtimeMs) return cached;
    const body = fs.readFileSync(file);
    const entry: CachedFile = {
      mtimeMs: stat.mtimeMs,
      body,
      gzip: COMPRESSIBLE.has(path.extname(file)) && body.length > 512 ? gzipSync(body, { level: 9 }) : null,
    };
    cache.set(file, entry);
    return entry;
  };

  return (req, res) => {
    const url = req.url ?? "/";
    const pathname = url.split("?")[0] ?? "/";
    const query = url.slice(pathname.length);
    const readMethod = req.method === "GET" || req.method === "HEAD";
    if (pathname === "/" && readMethod) {
      res.writeHead(302, { location: UI_PREFIX, "cache-control": "no-store" });
      res.end();
      return;
    }
    if (pathname === "/ui") {
      res.writeHead(301, { location: UI_PREFIX + query });
      res.end();
      return;
    }
    if (!pathname.startsWith(UI_PREFIX)) {
      next(req, res);
      return;
    }
    if (!readMethod) {
      plain(res, 405, "Only GET and HEAD are allowed here.\n", { allow: "GET, HEAD" });
      return;
    }
    const relative = safeRelativePath(pathname.slice(UI_PREFIX.length));
    if (relative === null) {
      plain(res, 400, "Bad path.\n");
      return;
    }
    let file = relative === "" ? null : load(path.join(root, relative));
    let isIndex = false;
    // The page routes on its own paths (/ui/history, /ui/jobs/<id>): anything without a file
    // extension is the page; a missing asset is a plain 404, not HTML a script tag would choke on.
    if (file === null && path.extname(relative) === "") {
      file = load(path.join(root, "index.html"));
      isIndex = true;
      if (file === null) {
        plain(
          res,
          404,
          "The web page is not built. Run `npm run build` (or `npm start`, which builds it).\n",
        );
        return;
      }
    }
    if (file === null) {
      plain(res, 404, "Not found.\n");
      return;
    }
    const ext = isIndex ? ".html" : path.extname(relative);
    const gzip = file.gzip !== null && acceptsGzip(req);
    const body = gzip && file.gzip ? file.gzip : file.body;
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      "content-type": CONTENT_TYPES[ext] ?? "application/octet-stream",
      "content-length": String(body.length),
      // Vite names assets by content hash: they never change. The HTML names the current ones.
      "cache-control": relative.startsWith("assets/") ? "public, max-age=31536000, immutable" : "no-cache",
      vary: "accept-encoding",
      ...(gzip ? { "content-encoding": "gzip" } : {}),
    });
    if (req.method === "HEAD") res.end();
    else res.end(body);
  };
}

/**
 * The URL path below /ui/ as a relative file path, or null if it tries to leave the folder (`..`,
 * encoded slashes or backslashes, NUL) or is not valid percent-encoding.
 */
export function safeRelativePath(raw: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return null;
  }
  if (decoded.includes("\0") || decoded.includes("\\")) return null;
  const segments = decoded.split("/");
  if (segments.some((s) => s === ".." || s === ".")) return null;
  return segments.filter((s) => s !== "").join("/");
}

function acceptsGzip(req: NodeRequest): boolean {
  const header = req.headers["accept-encoding"];
  const value = Array.isArray(header) ? header.join(",") : (header ?? "");
  return value.split(",").some((part) => {
    const [coding = "", ...params] = part.split(";").map((p) => p.trim().toLowerCase());
    if (coding !== "gzip") return false;
    const q = params.find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

function plain(res: NodeResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  const body = Buffer.from(text);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    ...headers,
    "content-type": "text/plain; charset=utf-8",
    "content-length": String(body.length),
    "cache-control": "no-store",
  });
  res.end(body);
}
