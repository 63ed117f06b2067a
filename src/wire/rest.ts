/**
 * SpaceONE REST aliases on top of the Connect handler.
 *
 * The routes come from the proto's `google.api.http` annotations (read at run time from the generated
 * descriptors, so they cannot drift from the proto), plus the console-api-v2 spelling without the
 * version segment (`/identity/v2/job/list` and `/identity/job/list`, docs/compatibility.md, "Paths"). This
 * layer resolves a REST path to its method and refuses what is not a REST call (unknown path under a
 * route's prefix, a method other than POST, a body that is not JSON, a declared oversize body); the unary
 * path (unary/handler.ts) runs the method and writes the answer: the message as Connect JSON, or
 * SpaceONE's `{"detail": {"code": "ERROR_X", "message": "..."}}` with the console-api-v2 HTTP status
 * (docs/compatibility.md, "Errors"), encoded once from the error.
 */
import type { OutgoingHttpHeaders } from "node:http";
import { type DescMethod, type DescService, getOption } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { http as httpRule } from "../../gen/google/api/annotations_pb.js";
import { show } from "../errors.js";
import { type RestErrorBody, restErrorOf } from "./errors.js";
import type { NodeHandler, NodeRequest, NodeResponse } from "./server.js";

/** A handler that may decline a request by calling `next()`. */
export type NodeMiddleware = (req: NodeRequest, res: NodeResponse, next: () => void) => void;

/** An API version path segment such as `v2` or `v1beta1`. */
const versionSegment = /^v\d+(?:(?:alpha|beta)\d*)?$/;

/**
 * REST path → method for every unary rpc of the given services with a `post` http rule whose body is `*`
 * and whose path has no `{template}` variables (all SpaceONE rules have this shape; others are skipped,
 * since this layer only forwards whole JSON bodies). Each path also gets its console-api-v2 alias with
 * the version segment dropped. Pass every service the Connect router serves: paths under a route's first
 * segment (`/identity/`) that are not in the table get a REST 404. Throws if two methods claim a path.
 */
export function restRoutes(...services: DescService[]): Map<string, DescMethod> {
  const routes = new Map<string, DescMethod>();
  const add = (path: string, method: DescMethod) => {
    const existing = routes.get(path);
    if (existing !== undefined && existing !== method) {
      throw new Error(
        `REST path ${path} is claimed by both ${procedurePath(existing)} and ${procedurePath(method)}`,
      );
    }
    routes.set(path, method);
  };
  for (const method of services.flatMap((service) => service.methods)) {
    if (method.methodKind !== "unary") continue;
    const rule = getOption(method, httpRule);
    for (const r of [rule, ...rule.additionalBindings]) {
      if (r.pattern.case !== "post" || r.body !== "*" || r.pattern.value.includes("{")) continue;
      const path = r.pattern.value;
      add(path, method);
      const segments = path.split("/");
      // ["", "identity", "v2", "job", "list"] → "/identity/job/list"
      if (segments.length > 3 && versionSegment.test(segments[2] ?? "")) {
        add([...segments.slice(0, 2), ...segments.slice(3)].join("/"), method);
      }
    }
  }
  return routes;
}

/** The Connect/gRPC path of a method: `/spaceone.api.identity.v2.Job/list`. */
export function procedurePath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

export interface RestHandlerOptions {
  readonly routes: ReadonlyMap<string, DescMethod>;
  /** Runs the method and writes its answer (the unary path's `rest`). */
  readonly serve: (req: NodeRequest, res: NodeResponse, method: DescMethod) => void;
  /** Same limit as the unary path's `readMaxBytes`: lets a declared oversized body be refused up front. */
  readonly maxBodyBytes: number;
}

/**
 * A middleware answering the REST routes and, with a REST 404, unknown paths under their first segment
 * (`/identity/...`); everything else goes to `next()`.
 */
export function createRestHandler(options: RestHandlerOptions): NodeMiddleware {
  const { routes: targets, serve, maxBodyBytes } = options;
  const prefixes = new Set<string>();
  for (const path of targets.keys()) prefixes.add(`/${path.split("/")[1]}/`);
  return (req, res, next) => {
    const url = req.url ?? "";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    const target = targets.get(path);
    if (target === undefined) {
      if ([...prefixes].some((prefix) => path.startsWith(prefix))) {
        writeRestError(res, 404, "ERROR_UNSUPPORTED_API", `Unsupported API. (path = ${show(path, 100)})`);
      } else {
        next();
      }
      return;
    }
    if (req.method !== "POST") {
      writeRestError(
        res,
        405,
        "ERROR_METHOD_NOT_ALLOWED",
        `Method is not allowed. (method = ${show(req.method ?? "", 20)}, allowed = POST)`,
        { allow: "POST" },
      );
      return;
    }
    const contentType = req.headers["content-type"];
    if (!isJsonOrMissing(contentType)) {
      writeRestError(
        res,
        415,
        "ERROR_UNSUPPORTED_MEDIA_TYPE",
        `Content type is not supported. (content_type = ${show(contentType ?? "", 100)}, supported = application/json)`,
      );
      return;
    }
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > maxBodyBytes) {
      const { status, body } = restErrorOf(
        new ConnectError(
          `message size ${declared} is larger than configured readMaxBytes ${maxBodyBytes}`,
          Code.ResourceExhausted,
        ),
      );
      writeRestError(res, status, body.detail.code, body.detail.message);
      return;
    }
    serve(req, res, target);
  };
}

export interface AppHandlerOptions {
  /** The connect-node adapter (create it with `fallback: notFoundHandler`). */
  readonly connectHandler: NodeHandler;
  /** From `createRestHandler`. */
  readonly rest: NodeMiddleware;
}

/**
 * The whole app: `GET /healthz` (liveness: no auth, no data), then REST, then Connect/gRPC/gRPC-Web.
 * Health comes first so a probe never touches auth or storage.
 */
export function createAppHandler(options: AppHandlerOptions): NodeHandler {
  const { connectHandler, rest } = options;
  return (req, res) => {
    if ((req.url ?? "").split("?")[0] === "/healthz" && (req.method === "GET" || req.method === "HEAD")) {
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
      res.end(req.method === "HEAD" ? "" : "ok");
      return;
    }
    rest(req, res, () => connectHandler(req, res));
  };
}

/**
 * For connect-node's `fallback` option: a path that is neither an RPC nor a REST route. A 404 is also
 * what gRPC clients map to UNIMPLEMENTED; the body is the REST error shape, for people using curl.
 */
export const notFoundHandler = (req: { url?: string | undefined }, res: ErrorResponse): void => {
  const path = (req.url ?? "").split("?")[0] ?? "";
  writeRestError(res, 404, "ERROR_UNSUPPORTED_API", `Unsupported API. (path = ${show(path, 100)})`);
};

/** What writing an error needs; both node response kinds, and connect-node's patched type, fit. */
export interface ErrorResponse {
  writeHead(status: number, headers?: OutgoingHttpHeaders): unknown;
  end(chunk: Uint8Array): unknown;
}

/** Write a REST error body: `{"detail": {"code", "message"}}`. */
export function writeRestError(
  res: ErrorResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  const body: RestErrorBody = { detail: { code, message } };
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    ...headers,
    "content-type": "application/json",
    "content-length": String(bytes.length),
  });
  res.end(bytes);
}

/**
 * Content types whose body is read as the JSON request message. Besides `application/json`, the types
 * clients send when the user did not pick one: `curl -d '{...}'` sends `application/x-www-form-urlencoded`
 * and `fetch(url, {body: string})` sends `text/plain;charset=UTF-8`. console-api-v2 (FastAPI
 * `request.json()`) reads any body as JSON, so these one-liners work there too. Anything else (protobuf,
 * multipart, XML...) is a client mistake: 415. Auth travels in headers, which a cross-site form cannot
 * set, so accepting the "simple" types opens no CSRF hole.
 */
const jsonBodyTypes = new Set(["application/json", "application/x-www-form-urlencoded", "text/plain"]);

/** A JSON-bodied type (optionally `charset=utf-8`), or no content type at all (also read as JSON). */
export function isJsonOrMissing(contentType: string | undefined): boolean {
  if (contentType === undefined || contentType.trim() === "") return true;
  const [type = "", ...params] = contentType.split(";").map((part) => part.trim().toLowerCase());
  if (!jsonBodyTypes.has(type)) return false;
  return params.every((param) => param === "" || /^charset="?utf-?8"?$/.test(param));
}
