/**
 * A value now, or later. The hot reads (a `get` is one synchronous SQLite lookup) pass their answer up
 * through the store, the service, the handler and the interceptors at once, where `async` functions at
 * each layer cost a promise and a turn of the microtask queue apiece (docs/benchmarks.md "get: an answer
 * known at once goes up at once"). Anything that waits (PostgreSQL, a read worker, a write in progress)
 * still gives a promise, and every caller that awaits keeps working unchanged.
 */
export type MaybePromise<T> = T | Promise<T>;

/** `then` of a value that may be there already: `f` runs at once for a value, no promise made. */
export function whenReady<T, R>(value: MaybePromise<T>, f: (value: T) => MaybePromise<R>): MaybePromise<R> {
  return value instanceof Promise ? value.then(f) : f(value);
}
