/**
 * A size-bounded least-recently-used cache for hot, small values.
 *
 * @module
 */

/**
 * Keeps values up to a total weight (bytes, or 1 per entry), dropping the
 * least recently used first.
 *
 * @example
 * const cache = new LruCache<string, Uint8Array>(64 * 1024 * 1024, (v) => v.byteLength);
 */
export class LruCache<K, V> {
  #entries = new Map<K, { value: V; weight: number; moved: number }>();
  #weight = 0;
  /** Entries moved to the newest end (set, or read after a while) so far. */
  #moves = 0;
  readonly maxWeight: number;
  readonly #weigh: (value: V) => number;

  constructor(maxWeight: number, weigh: (value: V) => number = () => 1) {
    this.maxWeight = maxWeight;
    this.#weigh = weigh;
  }

  /**
   * The value for `key`, marking it recently used. Moving an entry to the
   * newest end costs a delete and an insert; one already moved there within
   * the last quarter of the cache's moves stays where it is, so a hot entry
   * read on every request is moved now and then, not each time, and the
   * eviction order is exact to within that quarter.
   */
  get(key: K): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (this.#moves - entry.moved > this.#entries.size >> 2) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
      entry.moved = ++this.#moves;
    }
    return entry.value;
  }

  /** Stores `value`; values heavier than the whole budget are not kept. */
  set(key: K, value: V): void {
    this.delete(key);
    const weight = this.#weigh(value);
    if (weight > this.maxWeight) return;
    this.#entries.set(key, { value, weight, moved: ++this.#moves });
    this.#weight += weight;
    for (const [oldest, entry] of this.#entries) {
      if (this.#weight <= this.maxWeight) break;
      this.#entries.delete(oldest);
      this.#weight -= entry.weight;
    }
  }

  /** Removes `key` if present. */
  delete(key: K): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    this.#weight -= entry.weight;
  }

  /** Number of entries held. */
  get size(): number {
    return this.#entries.size;
  }
}
