/**
 * One keep-alive HTTP/1.1 connection that sends a request and reads its answer, one at a time: the
 * head built once, each request one socket write, the answer read by its `content-length`. Made for
 * load generation, where `node:http`'s client costs more CPU than the server it measures. Answers
 * without a declared length (chunked), or a connection that closes mid-answer, fail the exchange.
 */
import net from "node:net";

const HEAD_END = Buffer.from("\r\n\r\n");
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;
const STATUS = /^HTTP\/1\.[01] (\d{3})/;

export class H1Exchange {
  private readonly socket: net.Socket;
  private readonly head: string;
  private pending: { resolve: (status: number) => void; reject: (error: Error) => void } | null = null;
  private received: Buffer = Buffer.alloc(0);
  /** Once the head is read: the status, and where the answer ends in `received`. */
  private answer: { status: number; end: number } | null = null;
  private broken: Error | null = null;

  constructor(url: string, method: string, headers: Readonly<Record<string, string>>) {
    const u = new URL(url);
    const lines = [`${method} ${u.pathname}${u.search} HTTP/1.1`, `host: ${u.host}`];
    for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
    this.head = `${lines.join("\r\n")}\r\ncontent-length: `;
    this.socket = net.connect({ host: u.hostname, port: Number(u.port || 80), noDelay: true });
    this.socket.on("data", (chunk: Buffer) => this.read(chunk));
    const fail = (error: Error) => {
      this.broken ??= error;
      this.settle(null, error);
    };
    this.socket.on("error", fail);
    this.socket.on("close", () => fail(new Error("connection closed")));
  }

  /** Send one request with this body; its answer's status once the whole answer is read. */
  send(body: string): Promise<number> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.pending) return Promise.reject(new Error("one exchange at a time"));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(`${this.head}${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });
  }

  close(): void {
    this.broken ??= new Error("closed");
    this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk]);
    if (this.answer === null) {
      const headEnd = this.received.indexOf(HEAD_END);
      if (headEnd < 0) return;
      const head = this.received.toString("latin1", 0, headEnd);
      const status = STATUS.exec(head);
      const length = CONTENT_LENGTH.exec(head);
      if (!status || !length) {
        this.broken = new Error(status ? "an answer without content-length" : "not an HTTP/1.1 answer");
        this.settle(null, this.broken);
        this.socket.destroy();
        return;
      }
      this.answer = { status: Number(status[1]), end: headEnd + HEAD_END.length + Number(length[1]) };
    }
    if (this.received.length < this.answer.end) return;
    const { status, end } = this.answer;
    this.received = this.received.subarray(end);
    this.answer = null;
    this.settle(status, null);
  }

  private settle(status: number | null, error: Error | null): void {
    const pending = this.pending;
    this.pending = null;
    if (!pending) return;
    if (error) pending.reject(error);
    else pending.resolve(status as number);
  }
}
