/**
 * One unary call, from its request message to its written answer, run by callbacks instead of an async
 * function: the request is read (`input`, or `failed`), the method runs, its answer is encoded and
 * written, each step at once when the one before it answered at once. Only a step that really waits (a
 * body still arriving without a declared length, an implementation that awaits, pieces of an answer,
 * compression) takes a promise.
 *
 * Why not `async`: an async function and the promise it awaits cost a `get` more than all of its
 * encoding. The floor server (bench/servers/floor-get.ts) with its body awaited in one async function,
 * nothing else changed, spent 7-14 µs more per call under the profiler; this path without one takes
 * ~4 % less CPU per JSON `get` (docs/benchmarks.md, "Full run of 2026-12-04, stop 27"). A class, so a
 * call allocates one object for its steps instead of a closure per step.
 *
 * The outcome is the one the async version reached, step for step: what reading, the interceptors or
 * the implementation threw is the call's error (`encoding: false`), what encoding threw too
 * (`encoding: true`); writing the answer ends the call (`done`) whether it succeeded or threw; what
 * writing throws goes to `onWriteError`.
 */
import type { Message } from "@bufbuild/protobuf";
import type { ConnectError, ContextValues, HandlerContext } from "@connectrpc/connect";
import type { NodeResponse } from "../server.js";
import { encodeAnswer } from "./answer.js";
import { type ConnectAdmission, writeConnect } from "./connect-protocol.js";
import { type GrpcAdmission, writeGrpc } from "./grpc-protocol.js";
import type { Outcome } from "./handler.js";
import type { InputSink } from "./input-sink.js";
import type { HandlerOptions, UnaryMethod } from "./methods.js";

/** What every call of a handler shares: its options and where its ends are told. */
export interface CallEnds {
  readonly opt: HandlerOptions;
  /** Called when writing an answer fails (the connection went away). */
  readonly onWriteError: (err: unknown) => void;
  /** Told of the error an error answer carries (observation). */
  readonly onErrorAnswer?:
    | ((values: ContextValues, error: ConnectError, outcome: { error: unknown; encoding: boolean }) => void)
    | undefined;
  /** Told the body length of an answer whose head was written raw (`leading`), which Node cannot tell. */
  readonly onRawHead?: ((values: ContextValues, bodyBytes: number) => void) | undefined;
}

/** The call's protocol, as admitted (handler.ts). */
export type Admission = { readonly connect: ConnectAdmission } | { readonly grpc: GrpcAdmission };

export class UnaryCall implements InputSink {
  private settled = false;

  constructor(
    private readonly ends: CallEnds,
    private readonly res: NodeResponse,
    private readonly unary: UnaryMethod,
    private readonly admission: Admission,
    private readonly context: HandlerContext,
    /** Stop the call's deadline timer (leanContext): once the answer is written. */
    private readonly done: () => void,
    /** The raw head's first fields (an HTTP/1.1 Connect answer's `leading`, LeanRpc), if any. */
    private readonly leading: string[] | undefined,
  ) {}

  /** `writeConnect`'s teller of a raw head's body length. */
  rawHead(bodyBytes: number): void {
    this.ends.onRawHead?.(this.context.values, bodyBytes);
  }

  /** The request message: run the method. A second delivery (a late stream event) is ignored. */
  input(message: unknown): void {
    if (this.settled) return;
    this.settled = true;
    let invoked: Message | Promise<Message>;
    try {
      invoked = this.unary.invoke(this.context, message as Message);
    } catch (error) {
      this.finish({ error, encoding: false });
      return;
    }
    if (invoked instanceof Promise) {
      invoked.then(
        (output) => this.output(output),
        (error: unknown) => this.finish({ error, encoding: false }),
      );
    } else {
      this.output(invoked);
    }
  }

  /** The request could not be read (or was refused before it was): the call's error. */
  failed(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.finish({ error, encoding: false });
  }

  private output(output: Message): void {
    const admission = this.admission;
    const binary = "connect" in admission ? admission.connect.binary : admission.grpc.binary;
    let answer: ReturnType<typeof encodeAnswer>;
    try {
      // The Connect path writes a whole JSON answer as its string (answer.ts).
      answer = encodeAnswer(output, this.unary, binary, this.ends.opt.writeMaxBytes, "connect" in admission);
    } catch (error) {
      this.finish({ error, encoding: true });
      return;
    }
    if (answer instanceof Promise) {
      answer.then(
        (body) => this.finish({ body }),
        (error: unknown) => this.finish({ error, encoding: true }),
      );
    } else {
      this.finish(answer instanceof Uint8Array ? { body: answer } : answer);
    }
  }

  private finish(outcome: Outcome): void {
    let written: ConnectError | null | Promise<ConnectError | null>;
    try {
      written = this.write(outcome);
    } catch (error) {
      this.done();
      this.ends.onWriteError(error);
      return;
    }
    if (written instanceof Promise) {
      written.then(
        (error) => {
          this.done();
          this.told(error, outcome);
        },
        (error: unknown) => {
          this.done();
          this.ends.onWriteError(error);
        },
      );
    } else {
      this.done();
      this.told(written, outcome);
    }
  }

  /** Encode-and-write in the call's protocol (a test stands its own in: test/wire-unary-call.test.ts). */
  protected write(outcome: Outcome): ConnectError | null | Promise<ConnectError | null> {
    const { admission, context } = this;
    const header = context.responseHeader;
    const trailer = context.responseTrailer;
    if (!("connect" in admission))
      return writeGrpc(this.res, outcome, admission.grpc, header, trailer, this.ends.opt);
    const leading = this.leading;
    const teller = leading !== undefined && this.ends.onRawHead !== undefined ? this : undefined;
    return writeConnect(
      this.res,
      outcome,
      admission.connect,
      header,
      trailer,
      this.ends.opt,
      leading,
      teller,
    );
  }

  private told(error: ConnectError | null, outcome: Outcome): void {
    if (error === null || !("error" in outcome)) return;
    try {
      this.ends.onErrorAnswer?.(this.context.values, error, outcome);
    } catch (thrown) {
      this.ends.onWriteError(thrown);
    }
  }
}
