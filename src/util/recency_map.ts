/**
 * A map that tells caches which entry to drop next: the least recently used,
 * approximately (second chance, the CLOCK order operating systems use for
 * pages).
 *
 * @module
 */

interface Slot<V> {
  value: V;
  /** Used since it was stored or last moved, other than while it was the newest entry. */
  used: boolean;
}

/**
 * Entries in the order they were stored; {@link use} only marks an entry, and
 * {@link evictionOrder} gives a marked entry a second chance by moving it to
 * the newest end, unmarked. Using the newest entry marks nothing: as in an
 * exact LRU order, it is where a use would put it (so an entry read just
 * after it is stored is not kept longer than one stored after it).
 *
 * Why reads never move entries: a move is a delete and an insert, and the
 * deleted slots make V8 rebuild a long-lived map's table in its old
 * generation. Moving the entry read on every request filled that generation
 * (measured on the hot path: about 1.4 MB per young collection at 80 000
 * reads a second, a full collection every second or two, p99 3 ms instead of
 * 1); skipping moves within the last quarter of moves fixed one hot entry but
 * not a hundred read in turn (300–400 KB per young collection). With marks,
 * entries move only when something is about to be dropped, at most once per
 * use.
 */
export class RecencyMap<K, V> implements Iterable<[K, V]> {
  readonly #slots = new Map<K, Slot<V>>();
  /** The slot stored or moved last, while it is held. */
  #newest: Slot<V> | undefined;

  /** Entries held. */
  get size(): number {
    return this.#slots.size;
  }

  /** The value of `key`, leaving it unmarked. */
  get(key: K): V | undefined {
    return this.#slots.get(key)?.value;
  }

  /** The value of `key`, marked used (given a second chance by the next eviction pass). */
  use(key: K): V | undefined {
    const slot = this.#slots.get(key);
    if (slot === undefined) return undefined;
    if (slot !== this.#newest) slot.used = true;
    return slot.value;
  }

  /** Stores `value` for `key` as the newest entry, unmarked (replacing any value it had). */
  set(key: K, value: V): void {
    this.#slots.delete(key);
    this.#slots.set(key, this.#newest = { value, used: false });
  }

  /** Removes `key`; false when it was not there. */
  delete(key: K): boolean {
    const slot = this.#slots.get(key);
    if (slot === undefined) return false;
    if (slot === this.#newest) this.#newest = undefined; // its value is not held on to
    return this.#slots.delete(key);
  }

  /**
   * Keys and values in the order to drop them: oldest first, except that an
   * entry marked used is moved to the newest end and unmarked as the pass
   * reaches it, and comes again later in the same pass. Stop when enough is
   * dropped; entries not deleted keep their place.
   */
  *evictionOrder(): Generator<[K, V]> {
    for (const [key, slot] of this.#slots) {
      if (slot.used) {
        slot.used = false;
        this.#slots.delete(key);
        this.#slots.set(key, this.#newest = slot);
      } else {
        yield [key, slot.value];
      }
    }
  }

  /** Keys and values in the order they were stored or last moved, leaving marks as they are. */
  *[Symbol.iterator](): Iterator<[K, V]> {
    for (const [key, slot] of this.#slots) yield [key, slot.value];
  }
}
