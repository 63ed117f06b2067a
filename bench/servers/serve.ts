/**
 * What the bench's own `node:http` servers (bare.ts, bare-writes.ts, floor-get.ts) share: one whole
 * answer with its length, a request body read whole, and a stop on SIGTERM/SIGINT.
 */
import type http from "node:http";

/** One whole answer: status, type, declared length, body. */
export function answer(
  res: http.ServerResponse,
  status: number,
  body: Buffer | string,
  contentType = "application/json",
): void {
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

/** The request's body, whole, to `done` once it has ended. */
export function readBody(req: http.IncomingMessage, done: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => done(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
}

/** Run `close` and exit on SIGTERM or SIGINT (how the bench stops its servers). */
export function stopOnSignal(close: () => void): void {
  const stop = () => {
    close();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
