/**
 * A bounded cache that keeps what is used (prepared statements by SQL text): the "second chance"
 * (CLOCK) approximation of least-recently-used.
 *
 * Why not the usual Map-as-LRU (`delete` then `set` on every hit): that changes the Map on every
 * statement run, and a Map that keeps changing rebuilds its table every few hundred changes, each
 * rebuild a new table of the cache's whole size in the old generation: about 240 bytes per progress
 * write of old-generation growth, collected only by full collections (docs/benchmarks.md, "Progress
 * writes: what each write left to the old generation"). Here a hit sets a flag; the Map changes only
 * when something new is added, and eviction passes over (and un-flags) entries used since.
 */
interface Entry<V> {
  readonly value: V;
  used: boolean;
}

export class SecondChanceCache<V> {
  private readonly entries = new Map<string, Entry<V>>();

  constructor(private readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`a cache holds at least one entry (got ${capacity})`);
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    entry.used = true;
    return entry.value;
  }

  /** Add `key` (absent: callers `get` first), evicting one entry when full. */
  add(key: string, value: V): void {
    if (this.entries.size >= this.capacity) this.evictOne();
    this.entries.set(key, { value, used: false });
  }

  /** The oldest entry not used since it was last passed over; those used go to the back, un-flagged. */
  private evictOne(): void {
    for (const [key, entry] of this.entries) {
      this.entries.delete(key);
      if (!entry.used) return;
      entry.used = false;
      this.entries.set(key, entry);
    }
  }
}
