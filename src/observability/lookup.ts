/** The inner map under `key` of a map of maps, made empty on first use (per-call label tuples, no key strings). */
export function lookup<K, V extends Map<unknown, unknown>>(outer: Map<K, V>, key: K): V {
  let inner = outer.get(key);
  if (inner === undefined) {
    inner = new Map() as V;
    outer.set(key, inner);
  }
  return inner;
}
