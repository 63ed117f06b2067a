/**
 * Run an async load when its inputs change, cancel the previous one, and keep its result, error and
 * loading flag. A refused token ends the session with the service's reason (the sign-in form shows it).
 */
import { useEffect, useState } from "preact/hooks";
import { describeError, isAbort, isUnauthenticated } from "./api.js";
import { session } from "./session.js";

export interface Loaded<T> {
  readonly data: T | null;
  readonly error: string;
  readonly loading: boolean;
  reload(): void;
}

export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: string; loading: boolean }>({
    data: null,
    error: "",
    loading: true,
  });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true, error: "" }));
    load(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setState({ data, error: "", loading: false });
      },
      (error: unknown) => {
        if (controller.signal.aborted || isAbort(error)) return;
        if (isUnauthenticated(error)) session.signOut(describeError(error));
        setState((s) => ({ ...s, error: describeError(error), loading: false }));
      },
    );
    return () => controller.abort();
  }, [...deps, generation]);
  return { ...state, reload: () => setGeneration((g) => g + 1) };
}

/** A value that changes every `ms` so relative times ("2 minutes ago") stay true. */
export function useNow(ms = 30_000): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const timer = setInterval(() => setNow(new Date()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}
