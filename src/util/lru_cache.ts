/**
 * A size-bounded least-recently-used cache for hot, small values.
 *
 * @module
 */
import { RecencyMap } from "./recency_map.ts";

/**
 * Keeps values up to a total weight (bytes, or 1 per entry), dropping the
 * least recently used first (approximately: see `RecencyMap`).
 *
 * @example
 * const cache = new LruCache<string, Uint8Array>(64 * 1024 * 1024, (v) => v.byteLength);
 */
export class LruCache<K, V> {
  readonly #entries = new RecencyMap<K, { value: V; weight: number }>();
  #weight = 0;
  readonly maxWeight: number;
  readonly #weigh: (value: V) => number;

  constructor(maxWeight: number, weigh: (value: V) => number = () => 1) {
    this.maxWeight = maxWeight;
    this.#weigh = weigh;
  }

  /** The value for `key`, marking it recently used. */
  get(key: K): V | undefined {
    return this.#entries.use(key)?.value;
  }

  /** Stores `value`; values heavier than the whole budget are not kept. */
  set(key: K, value: V): void {
    this.delete(key);
    const weight = this.#weigh(value);
    if (weight > this.maxWeight) return;
    this.#entries.set(key, { value, weight });
    this.#weight += weight;
    if (this.#weight <= this.maxWeight) return;
    for (const [oldest, entry] of this.#entries.evictionOrder()) {
      if (oldest === key) continue; // the value just stored is the newest
      this.#entries.delete(oldest);
      this.#weight -= entry.weight;
      if (this.#weight <= this.maxWeight) break;
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
