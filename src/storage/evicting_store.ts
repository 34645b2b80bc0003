/**
 * A bound on the copies a node keeps of another registry's bytes, for nodes
 * whose local disk is the source of truth (no S3): objects under a prefix
 * (`upstream/`, everything pulled through from an upstream registry) are
 * evicted least recently used first once they take more than a budget;
 * everything else passes through untouched and is never evicted.
 *
 * An evicted copy is simply absent: the next read misses and the format
 * fetches it again from its upstream, checked against the checksum it pinned
 * (src/core/upstream.ts, the formats' pull-through). So an edge node in front
 * of a central registry runs on a bounded disk, as its disk cache does with S3.
 *
 * Each store bounds the copies it wrote (and, when asked to adopt them, those
 * it found at start); with several workers on one data directory each has an
 * equal share of the budget. A copy another worker wrote is read like any
 * object. Eviction deletes the file: a read already streaming it keeps its
 * open descriptor and finishes.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { RecencyMap } from "../util/recency_map.ts";
import type { GetOptions, ObjectBody, ObjectInfo, ObjectStore, PutBody, PutOptions } from "./object_store.ts";

/** Options of an {@link EvictingStore}. */
export interface EvictingStoreOptions {
  /** Keys under this prefix are bounded copies (e.g. `upstream/`). */
  prefix: string;
  /** Budget in bytes for those copies. */
  maxBytes: number;
  logger: Logger;
  /** Fraction of `maxBytes` that starts an eviction (default 0.9). */
  highWatermark?: number;
  /** Fraction of `maxBytes` an eviction goes down to (default 0.75). */
  lowWatermark?: number;
}

/** Counters for the operators' status and tests. */
export interface EvictingStoreStats {
  /** Copies tracked now, and their bytes. */
  copies: number;
  usedBytes: number;
  maxBytes: number;
  evictions: number;
}

interface Copy {
  size: number;
  /** Reads so far: a copy read since an eviction chose it stays. */
  reads: number;
}

/** An {@link ObjectStore} whose objects under a prefix are evicted beyond a budget (see the module doc). */
export class EvictingStore implements ObjectStore {
  readonly #inner: ObjectStore;
  readonly #options: EvictingStoreOptions;
  /** Tracked copies; a read marks one used, and eviction takes the least recently used first. */
  readonly #copies = new RecencyMap<string, Copy>();
  #usedBytes = 0;
  #evictions = 0;
  #evicting: Promise<void> | null = null;

  constructor(inner: ObjectStore, options: EvictingStoreOptions) {
    this.#inner = inner;
    this.#options = options;
  }

  /**
   * Tracks the copies already stored (least recently modified first out) and
   * evicts down to the budget. Workers sharing a directory each adopt their
   * share (`worker` of `workers`, by a hash of the key), as each has a share of the budget.
   */
  async adoptExisting(worker = 0, workers = 1): Promise<void> {
    const found: ObjectInfo[] = [];
    for await (const info of this.#inner.list(this.#options.prefix)) {
      if (workers === 1 || shareOf(info.key, workers) === worker) found.push(info);
    }
    found.sort((a, b) => a.lastModified.getTime() - b.lastModified.getTime());
    for (const info of found) this.#track(info.key, info.size);
    await this.#evictIfNeeded(undefined);
  }

  /** What is tracked and evicted. */
  get stats(): EvictingStoreStats {
    return {
      copies: this.#copies.size,
      usedBytes: this.#usedBytes,
      maxBytes: this.#options.maxBytes,
      evictions: this.#evictions,
    };
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const info = await this.#inner.head(key);
    if (info === null) this.#forget(key);
    return info;
  }

  async get(key: string, options?: GetOptions): Promise<ObjectBody | null> {
    const body = await this.#inner.get(key, options);
    if (body === null) this.#forget(key);
    else this.#touch(key);
    return body;
  }

  async put(key: string, body: PutBody, options?: PutOptions): Promise<ObjectInfo> {
    const info = await this.#inner.put(key, body, options);
    if (key.startsWith(this.#options.prefix)) {
      this.#forget(key);
      this.#track(key, info.size);
      await this.#evictIfNeeded(key);
    }
    return info;
  }

  async delete(key: string): Promise<void> {
    await this.#inner.delete(key);
    this.#forget(key);
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.#inner.list(prefix);
  }

  localFile(key: string): string | undefined {
    return this.#inner.localFile?.(key);
  }

  touched(key: string): void {
    this.#touch(key);
    this.#inner.touched?.(key);
  }

  #track(key: string, size: number): void {
    this.#copies.set(key, { size, reads: 0 });
    this.#usedBytes += size;
  }

  #touch(key: string): void {
    const copy = this.#copies.use(key);
    if (copy !== undefined) copy.reads++;
  }

  #forget(key: string): void {
    const copy = this.#copies.get(key);
    if (copy === undefined) return;
    this.#copies.delete(key);
    this.#usedBytes -= copy.size;
  }

  /** Above the high watermark, deletes the least recently used copies down to the low one (never `keep`). */
  async #evictIfNeeded(keep: string | undefined): Promise<void> {
    const { maxBytes, highWatermark = 0.9 } = this.#options;
    if (this.#usedBytes <= maxBytes * highWatermark) return;
    // One eviction at a time; a put arriving meanwhile waits for it and checks again.
    while (this.#evicting !== null) await this.#evicting;
    if (this.#usedBytes <= maxBytes * highWatermark) return;
    this.#evicting = this.#evict(keep).finally(() => this.#evicting = null);
    await this.#evicting;
  }

  async #evict(keep: string | undefined): Promise<void> {
    const { maxBytes, lowWatermark = 0.75, logger } = this.#options;
    const target = maxBytes * lowWatermark;
    const victims: string[] = [];
    const chosen = new Map<string, { copy: Copy; reads: number }>();
    let bytes = this.#usedBytes;
    if (bytes <= target) return;
    for (const [key, copy] of this.#copies.evictionOrder()) {
      if (key === keep) continue;
      victims.push(key);
      chosen.set(key, { copy, reads: copy.reads });
      bytes -= copy.size;
      if (bytes <= target) break;
    }
    let freed = 0;
    for (const key of victims) {
      const copy = this.#copies.get(key);
      const seen = chosen.get(key)!;
      // Deleted, read or stored again since the victims were chosen: it stays.
      if (copy !== seen.copy || copy.reads !== seen.reads) continue;
      try {
        await this.#inner.delete(key);
      } catch (error) {
        logger.log("warn", "could not evict an upstream copy", { key, error: (error as Error).message });
        continue;
      }
      const now = this.#copies.get(key);
      if (now === copy) {
        this.#forget(key);
        this.#evictions++;
        freed += copy.size;
      } else if (now !== undefined && await this.#inner.head(key) === null) {
        this.#forget(key); // stored again while it was being deleted, and deleted with it
      }
    }
    if (victims.length > 0) {
      logger.log("info", "evicted upstream copies", { count: victims.length, freedBytes: freed, maxBytes });
    }
  }
}

/** Which of `workers` adopts `key` at start (FNV-1a of the key): every worker agrees without talking. */
export function shareOf(key: string, workers: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % workers;
}
