// What the members of one read batch share (page.ts, todo-body.ts), kept for one turn of the event loop.
// Every member of a batch gets the batch's rows in the same turn: the microtasks that follow the
// statement's answer (server/db/db.ts), so an encoding kept until that turn ends is found by all of them.
// A WeakMap keyed by the rows did the same, at about 7 us per page (its ephemeron bookkeeping, and more
// for the GC); this is a Map emptied by one setImmediate per turn that encoded anything.
export class TurnCache<K, V> {
  private readonly entries = new Map<K, V>();
  private clearing = false;

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  set(key: K, value: V): void {
    this.entries.set(key, value);
    if (this.clearing) return;
    this.clearing = true;
    setImmediate(() => {
      this.entries.clear();
      this.clearing = false;
    }).unref();
  }

  /** Entries kept now (for tests). */
  get size(): number {
    return this.entries.size;
  }
}
