/**
 * Where a protocol's reader hands a unary call its request message (unary-call.ts is the one that
 * takes it): at once from the body's end event when it can, through `deliver` when the read waits.
 */

/** Where a call's request message (or what refused it) is delivered: once. */
export interface InputSink {
  input(message: unknown): void;
  failed(error: unknown): void;
}

/** A read that waits (a promise) delivered to `sink`: its message, or what it threw. */
export function deliver(read: Promise<unknown>, sink: InputSink): void {
  read.then(
    (message) => sink.input(message),
    (error: unknown) => sink.failed(error),
  );
}
