/**
 * One environment variable's rule: how its text becomes a value, or the message naming what it must be.
 * The service checks a few dozen variables once at start; a schema library for that held ~2.6 MB of its
 * modules in the heap for the process's whole life (docs/benchmarks.md "Memory: the peak, fifth pass").
 */

/** What a variable's text must be; the message completes "NAME=value: ...". */
export class SettingError extends Error {}

export interface Setting<T> {
  /** The value of the variable's text; `undefined` when unset (or empty). Throws SettingError. */
  parse(text: string | undefined): T;
  /** The largest value a number setting accepts (docs/limits.md lists it). */
  readonly max?: number;
}

/** The value type a setting gives. */
export type SettingValue<S> = S extends Setting<infer T> ? T : never;

/** A setting with a value when unset, or none (`undefined`). */
interface Defaultable<T> extends Setting<T | undefined> {
  default(value: T): Setting<T>;
}

function required<T>(check: (text: string) => T, max?: number): Defaultable<T> {
  return {
    max,
    parse: (text) => (text === undefined ? undefined : check(text)),
    default: (value) => ({ max, parse: (text) => (text === undefined ? value : check(text)) }),
  };
}

/** A number between `min` and `max` (inclusive); a whole one unless `fraction`. */
export function number(
  min: number,
  max: number = Number.MAX_SAFE_INTEGER,
  fraction = false,
): Defaultable<number> {
  const kind = fraction ? "a number" : "a whole number";
  const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`;
  return required((text) => {
    const value = Number(text);
    if (!Number.isFinite(value) || (!fraction && !Number.isInteger(value)) || value < min || value > max) {
      throw new SettingError(`expected ${kind} ${range}`);
    }
    return value;
  }, max);
}

/** Any non-empty text (an empty variable counts as unset), matching `pattern` when given. */
export function text(pattern?: RegExp, message?: string): Defaultable<string> {
  return required((value) => {
    if (pattern && !pattern.test(value)) throw new SettingError(message ?? `must match ${pattern}`);
    return value;
  });
}

/** One of `choices`, spelled exactly. */
export function oneOf<const C extends readonly string[]>(choices: C): Defaultable<C[number]> {
  return required((value) => {
    if (!choices.includes(value)) throw new SettingError(`expected one of ${choices.join(", ")}`);
    return value as C[number];
  });
}

/** An absolute URL whose scheme (without the colon) matches `protocol`. */
export function url(protocol: RegExp): Defaultable<string> {
  return required((value) => {
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      throw new SettingError("expected a URL");
    }
    if (!protocol.test(parsed.protocol.slice(0, -1))) {
      throw new SettingError(`expected a URL with a scheme matching ${protocol}`);
    }
    return value;
  });
}

/** `word` itself, or what `other` reads; `message` says what the variable takes. */
export function wordOr<W extends string, T>(
  word: W,
  other: Setting<T | undefined>,
  message: string,
): Defaultable<W | T> {
  return required((value) => {
    if (value === word) return word;
    try {
      return other.parse(value) as T;
    } catch (error) {
      if (error instanceof SettingError) throw new SettingError(message);
      throw error;
    }
  });
}
