/**
 * One unary call's steps (src/wire/unary/unary-call.ts), cell by cell: each step's answer given at once
 * or later, or thrown, and what the call then writes, when it ends, and who is told. The protocol's
 * write is stood in for (a subclass), so each cell sees exactly the outcome the call hands over.
 */
import { Code, ConnectError, createContextValues, type HandlerContext } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { Outcome } from "../src/wire/unary/handler.js";
import type { UnaryMethod } from "../src/wire/unary/methods.js";
import { type CallEnds, UnaryCall } from "../src/wire/unary/unary-call.js";

type Written = ConnectError | null | Promise<ConnectError | null>;

interface Trace {
  events: string[];
  outcomes: Outcome[];
  writeErrors: unknown[];
  told: ConnectError[];
}

const ANSWER = { answer: true };
const BYTES = new Uint8Array([1, 2, 3]);

class TracedCall extends UnaryCall {
  constructor(
    private readonly trace: Trace,
    unary: UnaryMethod,
    private readonly writer: (outcome: Outcome) => Written,
    observer?: CallEnds["onErrorAnswer"],
  ) {
    const ends: CallEnds = {
      opt: { writeMaxBytes: 1 << 20 } as CallEnds["opt"],
      onWriteError: (err) => {
        trace.events.push("write error");
        trace.writeErrors.push(err);
      },
      onErrorAnswer:
        observer ??
        ((_values, error) => {
          trace.events.push("told");
          trace.told.push(error);
        }),
    };
    const context = { values: createContextValues() } as HandlerContext;
    const done = () => trace.events.push("done");
    super(ends, {} as never, unary, { connect: { binary: true } } as never, context, done, undefined);
  }

  protected override write(outcome: Outcome): Written {
    this.trace.events.push("write");
    this.trace.outcomes.push(outcome);
    return this.writer(outcome);
  }
}

/** A method whose `invoke` is `invoke`, serialized by `serialize` (binary, no self-encoded answer). */
function method(
  invoke: (input: unknown) => unknown,
  serialize: (output: unknown) => Uint8Array | Promise<Uint8Array> = () => BYTES,
): UnaryMethod {
  return {
    invoke: (_context: HandlerContext, input: unknown) => invoke(input),
    serialization: { getO: () => ({ serialize }) },
  } as unknown as UnaryMethod;
}

function traced(unary: UnaryMethod, writer: (outcome: Outcome) => Written = () => null) {
  const trace: Trace = { events: [], outcomes: [], writeErrors: [], told: [] };
  return { trace, call: new TracedCall(trace, unary, writer) };
}

const sentError = (outcome: Outcome): ConnectError | null =>
  "error" in outcome ? ConnectError.from(outcome.error) : null;

/** Let every pending promise reaction run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("a call answered at once", () => {
  it("is written and ended inside input(), before any promise reaction could run", () => {
    const { trace, call } = traced(method(() => ANSWER));
    call.input({});
    expect(trace.events).toEqual(["write", "done"]);
    expect(trace.outcomes).toEqual([{ body: BYTES }]);
  });

  it("hands the request message to the method as delivered", () => {
    const seen: unknown[] = [];
    const { call } = traced(
      method((input) => {
        seen.push(input);
        return ANSWER;
      }),
    );
    const message = { jobId: "job-1" };
    call.input(message);
    expect(seen).toEqual([message]);
  });
});

describe("each step's failure is the call's error, with where it happened", () => {
  it("the method throws: encoding false, written at once", () => {
    const thrown = new ConnectError("no", Code.NotFound);
    const { trace, call } = traced(
      method(() => {
        throw thrown;
      }),
      sentError,
    );
    call.input({});
    expect(trace.outcomes).toEqual([{ error: thrown, encoding: false }]);
    expect(trace.events).toEqual(["write", "done", "told"]);
    expect(trace.told[0]?.code).toBe(Code.NotFound);
  });

  it("the method's promise rejects: encoding false, written once it does", async () => {
    const thrown = new ConnectError("later", Code.Unavailable);
    const { trace, call } = traced(
      method(() => Promise.reject(thrown)),
      sentError,
    );
    call.input({});
    expect(trace.events).toEqual([]);
    await settle();
    expect(trace.outcomes).toEqual([{ error: thrown, encoding: false }]);
    expect(trace.events).toEqual(["write", "done", "told"]);
  });

  it("encoding throws: encoding true", () => {
    const thrown = new Error("cannot encode");
    const { trace, call } = traced(
      method(
        () => ANSWER,
        () => {
          throw thrown;
        },
      ),
    );
    call.input({});
    expect(trace.outcomes).toEqual([{ error: thrown, encoding: true }]);
  });

  it("encoding's promise rejects: encoding true", async () => {
    const thrown = new Error("cannot encode later");
    const { trace, call } = traced(
      method(
        () => ANSWER,
        () => Promise.reject(thrown),
      ),
    );
    call.input({});
    await settle();
    expect(trace.outcomes).toEqual([{ error: thrown, encoding: true }]);
  });

  it("the request could not be read: encoding false", () => {
    const thrown = new ConnectError("bad body", Code.InvalidArgument);
    const { trace, call } = traced(method(() => ANSWER));
    call.failed(thrown);
    expect(trace.outcomes).toEqual([{ error: thrown, encoding: false }]);
  });
});

describe("answers that come later", () => {
  it("the method's promise: its answer is written once it resolves", async () => {
    const { trace, call } = traced(method(() => Promise.resolve(ANSWER)));
    call.input({});
    expect(trace.events).toEqual([]);
    await settle();
    expect(trace.outcomes).toEqual([{ body: BYTES }]);
    expect(trace.events).toEqual(["write", "done"]);
  });

  it("encoding's promise: its bytes are written once it resolves", async () => {
    const later = new Uint8Array([9]);
    const { trace, call } = traced(
      method(
        () => ANSWER,
        () => Promise.resolve(later),
      ),
    );
    call.input({});
    await settle();
    expect(trace.outcomes).toEqual([{ body: later }]);
  });
});

describe("a call is answered once", () => {
  it("a failure after the message is ignored", () => {
    const { trace, call } = traced(method(() => ANSWER));
    call.input({});
    call.failed(new Error("late stream error"));
    expect(trace.outcomes).toHaveLength(1);
    expect(trace.outcomes[0]).toEqual({ body: BYTES });
  });

  it("a message after a failure is ignored, and the method never runs", () => {
    let ran = false;
    const { trace, call } = traced(
      method(() => {
        ran = true;
        return ANSWER;
      }),
    );
    call.failed(new Error("refused"));
    call.input({});
    expect(ran).toBe(false);
    expect(trace.outcomes).toHaveLength(1);
  });
});

describe("writing ends the call, whatever it does", () => {
  it("a write that throws: ended, the error goes to onWriteError, nobody is told of an answer", () => {
    const thrown = new Error("socket gone");
    const { trace, call } = traced(
      method(() => {
        throw new ConnectError("no", Code.NotFound);
      }),
      () => {
        throw thrown;
      },
    );
    call.input({});
    expect(trace.events).toEqual(["write", "done", "write error"]);
    expect(trace.writeErrors).toEqual([thrown]);
  });

  it("a write that answers later (compression): ended and told once it does", async () => {
    const sent = new ConnectError("no", Code.NotFound);
    const { trace, call } = traced(
      method(() => {
        throw sent;
      }),
      () => Promise.resolve(sent),
    );
    call.input({});
    expect(trace.events).toEqual(["write"]);
    await settle();
    expect(trace.events).toEqual(["write", "done", "told"]);
  });

  it("a later write that rejects: ended, the error goes to onWriteError", async () => {
    const thrown = new Error("compression failed");
    const { trace, call } = traced(
      method(() => ANSWER),
      () => Promise.reject(thrown),
    );
    call.input({});
    await settle();
    expect(trace.events).toEqual(["write", "done", "write error"]);
    expect(trace.writeErrors).toEqual([thrown]);
  });

  it("a successful answer is not told as an error, even if the write reports one", () => {
    const { trace, call } = traced(
      method(() => ANSWER),
      () => new ConnectError("refused at the limit", Code.ResourceExhausted),
    );
    call.input({});
    expect(trace.events).toEqual(["write", "done"]);
  });

  it("an observer that throws while told: its error goes to onWriteError", () => {
    const trace: Trace = { events: [], outcomes: [], writeErrors: [], told: [] };
    const observerFault = new Error("observer fault");
    const call = new TracedCall(
      trace,
      method(() => {
        throw new ConnectError("no", Code.NotFound);
      }),
      sentError,
      () => {
        throw observerFault;
      },
    );
    call.input({});
    expect(trace.writeErrors).toEqual([observerFault]);
  });
});
