/**
 * A TCP proxy in front of a server, for tests that drop a client's connection mid-stream: every
 * connection to `url` is piped to `target`; `cut()` resets every open connection on both sides (as a
 * restarted proxy or a lost network path does), and new connections are accepted again at once.
 */
import net from "node:net";

export interface TcpProxy {
  readonly url: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Reset (RST) every open connection, client and server side; returns how many were open. */
  cut(): number;
  close(): Promise<void>;
}

export function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<{ client: net.Socket; upstream: net.Socket }>();
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted++;
    const upstream = net.connect(target.port, target.host);
    const pair = { client, upstream };
    open.add(pair);
    const drop = () => {
      open.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        get accepted() {
          return accepted;
        },
        cut() {
          const pairs = [...open];
          open.clear();
          for (const { client, upstream } of pairs) {
            client.resetAndDestroy();
            upstream.resetAndDestroy();
          }
          return pairs.length;
        },
        close() {
          for (const { client, upstream } of open) {
            client.destroy();
            upstream.destroy();
          }
          return new Promise<void>((done) => server.close(() => done()));
        },
      });
    });
  });
}
