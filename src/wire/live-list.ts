/**
 * The members of a collection that changes on every request or connection (responses in progress,
 * open sockets), kept as a list of our own nodes rather than a `Set`.
 *
 * Why not a `Set`: a long-lived `Set` that gains and loses a member per request rebuilds its backing
 * table every few dozen changes, and each table it leaves behind sits in the old generation until the
 * next full collection, still pointing at the members it held. The scavenger counts those pointers
 * as live, so every response in progress at a rebuild (and all it reaches: request, headers, body,
 * listeners) was copied and then promoted. Under the `writes` load, where requests wait for their
 * group's commit, that was ~10 % of all the bytes a request allocates, and the full collections that
 * followed were most of the writes' GC (docs/benchmarks.md, "Progress writes: what each write left
 * to the old generation"). A removed node here drops every pointer it had, so nothing it held
 * outlives it.
 */
export interface LiveNode<T> {
  /** `undefined` once removed. */
  value: T | undefined;
  prev: LiveNode<T> | null;
  next: LiveNode<T> | null;
}

export class LiveList<T> {
  private head: LiveNode<T> | null = null;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Add `value`; the node is what `remove` takes. */
  add(value: T): LiveNode<T> {
    const node: LiveNode<T> = { value, prev: null, next: this.head };
    if (this.head !== null) this.head.prev = node;
    this.head = node;
    this.count++;
    return node;
  }

  /** Remove a node added here; removing it again does nothing. */
  remove(node: LiveNode<T>): void {
    if (node.value === undefined) return;
    if (node.prev !== null) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next !== null) node.next.prev = node.prev;
    node.value = undefined;
    node.prev = null;
    node.next = null;
    this.count--;
  }

  /** The members now, newest first (a copy: what is done with them may remove any). */
  values(): T[] {
    const out: T[] = [];
    for (let node = this.head; node !== null; node = node.next) out.push(node.value as T);
    return out;
  }
}
