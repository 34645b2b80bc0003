/**
 * A map in least-recently-used-first order, for caches that drop their
 * oldest entries.
 *
 * @module
 */

/**
 * Entries oldest first; {@link use} marks one recently used. Moving an entry
 * to the newest end costs a delete and an insert, and the deleted slots make
 * V8 rebuild a long-lived map's table, in its old generation: an entry read
 * on every request and moved each time filled that generation (measured on
 * the hot path: about 1.4 MB per young collection at 80 000 reads a second, a
 * full collection every second or two, p99 3 ms instead of 1). So an entry
 * already moved within the last quarter of the map's moves stays where it
 * is: the order is exact to within that quarter.
 */
export class RecencyMap<K, V> implements Iterable<[K, V]> {
  readonly #entries = new Map<K, { value: V; moved: number }>();
  /** Entries moved to the newest end (set, or used after a while) so far. */
  #moves = 0;

  /** Entries held. */
  get size(): number {
    return this.#entries.size;
  }

  /** The value of `key`, leaving the order as it is. */
  get(key: K): V | undefined {
    return this.#entries.get(key)?.value;
  }

  /** The value of `key`, marked recently used (see the class doc). */
  use(key: K): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (this.#moves - entry.moved > this.#entries.size >> 2) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
      entry.moved = ++this.#moves;
    }
    return entry.value;
  }

  /** Stores `value` for `key` as the newest entry (replacing any value it had). */
  set(key: K, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, moved: ++this.#moves });
  }

  /** Removes `key`; false when it was not there. */
  delete(key: K): boolean {
    return this.#entries.delete(key);
  }

  /** The least recently used value, or `undefined` when empty. */
  oldest(): V | undefined {
    for (const entry of this.#entries.values()) return entry.value;
    return undefined;
  }

  /** Keys and values, least recently used first. */
  *[Symbol.iterator](): Iterator<[K, V]> {
    for (const [key, entry] of this.#entries) yield [key, entry.value];
  }
}
