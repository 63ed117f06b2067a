/**
 * A small stand-in for SpaceONE identity: the `Domain.get_public_key` rpc from the vendored upstream
 * proto (proto/spaceone/api/identity/v2/domain.proto), served over gRPC (h2c) with connect-node. Each
 * domain has a JWK the test sets, rotates or removes; `calls` counts fetches; `close()` takes it down.
 */
import http2 from "node:http2";
import type net from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { JWK } from "jose";
import { Domain } from "../../gen/spaceone/api/identity/v2/domain_pb.js";

export interface IdentityStandIn {
  readonly url: string;
  /** The JWK answered for a domain (public part only); undefined answers NOT_FOUND. */
  setKey(domainId: string, jwk: JWK | undefined): void;
  /** `get_public_key` calls answered so far, per domain. */
  calls(domainId: string): number;
  close(): Promise<void>;
}

export async function startIdentityStandIn(): Promise<IdentityStandIn> {
  const keys = new Map<string, JWK>();
  const calls = new Map<string, number>();
  const handler = connectNodeAdapter({
    routes: (router) =>
      router.service(Domain, {
        get_public_key(req) {
          calls.set(req.domainId, (calls.get(req.domainId) ?? 0) + 1);
          const jwk = keys.get(req.domainId);
          // Upstream answers an unknown domain with ERROR_NOT_FOUND (gRPC NOT_FOUND).
          if (!jwk) throw new ConnectError(`ERROR_NOT_FOUND: domain ${req.domainId}`, Code.NotFound);
          return { domainId: req.domainId, publicKey: JSON.stringify(jwk) };
        },
      }),
  });
  const server = http2.createServer(handler);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    setKey: (domainId, jwk) => (jwk ? keys.set(domainId, jwk) : keys.delete(domainId)),
    calls: (domainId) => calls.get(domainId) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  };
}
