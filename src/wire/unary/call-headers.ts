/**
 * The fetch `Headers` of one unary call (the request's, and the answer's headers and trailers that
 * interceptors and handlers may set), without the per-call cost of the runtime's `Headers`: building one
 * from a request validated and normalised every incoming header (about a quarter of the unary path's
 * own CPU per `get`), and the answer's went through two more of them on the way to `writeHead`.
 *
 * Request headers are read straight from Node's parsed header object (already lower-case, trimmed, and
 * with repeated fields combined as Node does); the first change copies them into a map of our own.
 * Answers and iteration behave as the runtime's `Headers` does for the names HTTP allows: names are
 * case-insensitive, iteration is sorted by lower-case name, `append` joins values with ", ", and
 * `set-cookie` keeps each value apart (`getSetCookie`, iteration). Unlike the runtime's `Headers`, a
 * name or value is not validated here: Node's `writeHead` refuses an invalid one when it is written.
 */

type NodeHeaderRecord = Readonly<Record<string, string | string[] | undefined>>;

/**
 * The map's names in `Array.prototype.sort`'s order (UTF-16 code units). An answer has a handful, and
 * V8's sort allocates its own state and a work copy for every call: an insertion sort in place, up to
 * `INSERTION_MAX` names, allocates nothing but the array.
 */
const INSERTION_MAX = 16;
function sortedKeys(map: Map<string, string>): string[] {
  const keys = [...map.keys()];
  if (keys.length > INSERTION_MAX) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i] as string;
    let j = i - 1;
    for (; j >= 0 && (keys[j] as string) > key; j--) keys[j + 1] = keys[j] as string;
    keys[j + 1] = key;
  }
  return keys;
}

const SET_COOKIE = "set-cookie";

export class CallHeaders implements Headers {
  /** The request's headers as Node parsed them, until the first change (then `map` holds them). */
  private node: NodeHeaderRecord | undefined;
  private map: Map<string, string> | undefined;
  private cookies: string[] | undefined;

  constructor(node?: NodeHeaderRecord) {
    this.node = node;
  }

  get(name: string): string | null {
    const key = name.toLowerCase();
    if (this.node !== undefined) {
      if (key.charCodeAt(0) === 58 /* ":" HTTP/2 pseudo-header */) return null;
      const value = this.node[key];
      if (value === undefined) return null;
      return typeof value === "string" ? value : value.join(", ");
    }
    return this.map?.get(key) ?? null;
  }

  has(name: string): boolean {
    return this.get(name) !== null;
  }

  set(name: string, value: string): void {
    const key = name.toLowerCase();
    const map = this.own();
    map.set(key, value);
    if (key === SET_COOKIE) this.cookies = [value];
  }

  append(name: string, value: string): void {
    const key = name.toLowerCase();
    const map = this.own();
    const before = map.get(key);
    map.set(key, before === undefined ? value : `${before}, ${value}`);
    if (key === SET_COOKIE) this.cookies = [...(this.cookies ?? []), value];
  }

  delete(name: string): void {
    const key = name.toLowerCase();
    this.own().delete(key);
    if (key === SET_COOKIE) this.cookies = undefined;
  }

  getSetCookie(): string[] {
    if (this.node !== undefined) {
      const value = this.node[SET_COOKIE];
      return value === undefined ? [] : typeof value === "string" ? [value] : [...value];
    }
    return [...(this.cookies ?? [])];
  }

  /** The hot one (every answer is written through it): no pairs allocated, names sorted once. */
  forEach(callback: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    // An answer's trailers, nearly always: nothing set, nothing to copy into a map of our own.
    if (this.map === undefined && this.node === undefined) return;
    const map = this.own();
    const keys = sortedKeys(map);
    for (const key of keys) {
      if (key === SET_COOKIE) {
        for (const cookie of this.cookies ?? []) callback.call(thisArg, cookie, key, this);
        continue;
      }
      // A name the callback deleted meanwhile is not visited.
      const value = map.get(key);
      if (value !== undefined) callback.call(thisArg, value, key, this);
    }
  }

  *entries(): IterableIterator<[string, string]> {
    yield* this.pairs();
  }

  *keys(): IterableIterator<string> {
    for (const [key] of this.pairs()) yield key;
  }

  *values(): IterableIterator<string> {
    for (const [, value] of this.pairs()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  /** A snapshot, sorted by name, `set-cookie` one pair per value (so callers may change us meanwhile). */
  private pairs(): [string, string][] {
    const map = this.own();
    const out: [string, string][] = [];
    for (const key of sortedKeys(map)) {
      if (key === SET_COOKIE) for (const cookie of this.cookies ?? []) out.push([key, cookie]);
      else out.push([key, map.get(key) as string]);
    }
    return out;
  }

  /** Our own map of the headers, copied from Node's object on first need. */
  private own(): Map<string, string> {
    if (this.map !== undefined) return this.map;
    const map = new Map<string, string>();
    const node = this.node;
    this.node = undefined;
    for (const key in node) {
      if (key.charCodeAt(0) === 58 /* ":" */) continue;
      const value = node[key];
      if (value === undefined) continue;
      if (typeof value === "string") map.set(key, value);
      else map.set(key, value.join(", "));
      if (key === SET_COOKIE) this.cookies = typeof value === "string" ? [value] : [...value];
    }
    this.map = map;
    return map;
  }
}
