/**
 * Requests refused before any method runs, answered in the protocol the caller speaks.
 *
 * connect-node answers an unknown path, a Connect `GET` on a method with side effects and an unknown
 * content type with a bare HTTP status and no body. A gRPC client then reports a transport failure
 * instead of UNIMPLEMENTED, and a person with curl learns nothing. Here:
 * - unknown method, gRPC: HTTP 200 with `grpc-status: 12` (UNIMPLEMENTED) in the trailers; gRPC-Web the
 *   same in headers; Connect (a `/package.Service/Method` path): 404 with a Connect error body
 *   `{"code": "unimplemented"}`; anything else goes to the REST 404 (`fallback`).
 * - Connect `GET` on a method with side effects: 405 with `Allow: POST` and a Connect error body.
 * - no or an unknown content type on a method's path: 415 with a Connect error body listing the
 *   accepted types.
 */
import type { DescMethod } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { show } from "../errors.js";
import { minimalPercentEncode } from "./errors.js";
import type { NodeHandler, NodeRequest, NodeResponse } from "./server.js";

/** What connect-node decodes, by protocol; the text of the 415 answer. */
const acceptedTypes = [
  "application/json",
  "application/proto",
  "application/connect+json",
  "application/connect+proto",
  "application/grpc",
  "application/grpc+proto",
  "application/grpc+json",
  "application/grpc-web",
  "application/grpc-web+proto",
  "application/grpc-web+json",
];
const accepted = new Set(acceptedTypes);

/** `/package.Service/Method`: the path shape of Connect, gRPC and gRPC-Web calls. */
const procedurePathShape = /^\/[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)+\/[A-Za-z_][\w]*$/;

function mediaType(req: NodeRequest): string {
  const header = req.headers["content-type"];
  return (typeof header === "string" ? header : "").split(";")[0]?.trim().toLowerCase() ?? "";
}

function pathOf(req: NodeRequest): string {
  return (req.url ?? "").split("?")[0] ?? "";
}

/** connect-node's `fallback`: a path no method has. REST-looking calls go to `restNotFound`. */
export function unknownMethodHandler(restNotFound: NodeHandler): NodeHandler {
  return (req, res) => {
    const type = mediaType(req);
    const path = pathOf(req);
    const message = `unknown method ${show(path, 200)}`;
    if (type.startsWith("application/grpc-web")) {
      res.writeHead(200, {
        "content-type": type,
        "grpc-status": "12",
        "grpc-message": minimalPercentEncode(message),
      });
      res.end();
    } else if (type.startsWith("application/grpc")) {
      writeGrpcStatus(res, type, 12, message);
    } else if (procedurePathShape.test(path) && (accepted.has(type) || isConnectGet(req))) {
      writeConnectError(res, 404, "unimplemented", message);
    } else {
      restNotFound(req, res);
    }
  };
}

/**
 * In front of connect-node: refuse what it would refuse with an empty body, on the paths it serves.
 * `methods` maps each request path (`/pkg.Service/method`) to its method.
 */
export function withProtocolRefusals(
  methods: ReadonlyMap<string, DescMethod>,
  next: NodeHandler,
): NodeHandler {
  return (req, res) => {
    const method = methods.get(pathOf(req));
    if (method === undefined) {
      next(req, res);
      return;
    }
    if (req.method === "GET") {
      if (method.idempotency !== MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS) {
        writeConnectError(
          res,
          405,
          "unimplemented",
          `${method.parent.name}.${method.name} has side effects or is not marked free of them: call it with POST`,
          { allow: "POST" },
        );
        return;
      }
      next(req, res);
      return;
    }
    const type = mediaType(req);
    if (!accepted.has(type)) {
      writeConnectError(
        res,
        415,
        "invalid_argument",
        `content type ${type === "" ? "missing" : show(type, 100)}: accepted are ${acceptedTypes.join(", ")}`,
        { "accept-post": acceptedTypes.join(", ") },
      );
      return;
    }
    next(req, res);
  };
}

function isConnectGet(req: NodeRequest): boolean {
  return req.method === "GET" && /[?&]connect=v1(?:&|$)/.test(req.url ?? "");
}

function writeConnectError(
  res: NodeResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  const body = Buffer.from(JSON.stringify({ code, message }));
  res.writeHead(status, {
    ...headers,
    "content-type": "application/json",
    "content-length": String(body.length),
  });
  res.end(body);
}

/** A gRPC answer with no messages: headers, then the status in trailers. */
function writeGrpcStatus(res: NodeResponse, type: string, status: number, message: string): void {
  res.writeHead(200, { "content-type": type });
  if ("addTrailers" in res) {
    res.addTrailers({ "grpc-status": String(status), "grpc-message": minimalPercentEncode(message) });
  }
  res.end();
}
