/**
 * Keeps the build cache within `REGISTRY_CACHE_MAX_BYTES`: a sweep lists every
 * entry (under `cache/` only, so package releases are never counted or
 * touched), orders them by last use (the later of their write and their
 * access stamp, see `access_stamps.ts`), and, when the total is over the
 * budget, evicts the least recently used down to 90% of it. It then merges the
 * access stamps and records the total in `cache/meta/usage.json`, which every
 * node reads to tell when the next sweep is due.
 *
 * One node sweeps at a time (the scheduler holds a lease for it). The
 * listing is held in memory while it sorts (some 150 bytes an entry). An
 * entry rewritten between the listing and its eviction may be evicted
 * although fresh: a cache miss, nothing worse.
 *
 * @module
 */
import type { Logger } from "../../log.ts";
import { type ObjectStore, readObjectBytes } from "../../storage/object_store.ts";
import { readStamps, writeStamps } from "./access_stamps.ts";
import { META_PREFIX, type Namespace, NAMESPACES } from "./keys.ts";

const USAGE_KEY = `${META_PREFIX}usage.json`;

/** What the last sweep counted. */
export interface CacheUsage {
  totalBytes: number;
  entries: number;
  /** When it was counted (ms since the epoch). */
  sweptAt: number;
}

/** What one sweep did. */
export interface SweepResult extends CacheUsage {
  evicted: number;
  evictedBytes: number;
}

/** Options of a {@link Sweeper}. */
export interface SweeperOptions {
  store: ObjectStore;
  maxBytes: number;
  /** Fraction of `maxBytes` a sweep evicts down to once over it (default 0.9). */
  lowWatermark?: number;
  now: () => number;
  logger: Logger;
  /** Told of each evicted entry (memory copies, metrics). */
  onEvict(key: string, namespace: Namespace, size: number): void;
}

interface Entry {
  key: string;
  namespace: Namespace;
  size: number;
  written: number;
  lastUse: number;
  evicted: boolean;
}

/** Sweeps the build cache down to its budget. */
export class Sweeper {
  readonly #options: SweeperOptions;

  constructor(options: SweeperOptions) {
    this.#options = options;
  }

  /** One sweep. Stops before changing anything more once `signal` aborts (a lost lease). */
  async sweep(signal?: AbortSignal): Promise<SweepResult> {
    const { store, maxBytes, now, logger } = this.#options;
    const entries: Entry[] = [];
    for (const { namespace, prefix } of NAMESPACES) {
      for await (const info of store.list(prefix)) {
        const written = info.lastModified.getTime();
        entries.push({ key: info.key, namespace, size: info.size, written, lastUse: written, evicted: false });
      }
    }
    const { stamps, batches } = await readStamps(store);
    let totalBytes = 0;
    for (const entry of entries) {
      entry.lastUse = Math.max(entry.written, stamps.get(entry.key) ?? 0);
      totalBytes += entry.size;
    }
    let evicted = 0;
    let evictedBytes = 0;
    if (totalBytes > maxBytes) {
      const target = maxBytes * (this.#options.lowWatermark ?? 0.9);
      entries.sort((a, b) => a.lastUse - b.lastUse || a.written - b.written);
      for (const entry of entries) {
        if (totalBytes <= target) break;
        signal?.throwIfAborted();
        await store.delete(entry.key);
        entry.evicted = true;
        totalBytes -= entry.size;
        evicted++;
        evictedBytes += entry.size;
        this.#options.onEvict(entry.key, entry.namespace, entry.size);
      }
    }
    signal?.throwIfAborted();
    // Only stamps that say more than the listing does are worth keeping.
    const kept = new Map<string, number>();
    for (const entry of entries) {
      if (!entry.evicted && entry.lastUse > entry.written) kept.set(entry.key, entry.lastUse);
    }
    await writeStamps(store, kept, batches);
    const usage: CacheUsage = { totalBytes, entries: entries.length - evicted, sweptAt: now() };
    await store.put(USAGE_KEY, new TextEncoder().encode(JSON.stringify(usage)), { contentType: "application/json" });
    if (evicted > 0) {
      logger.log("info", "build cache swept", { evicted, evictedBytes, totalBytes, maxBytes });
    }
    return { ...usage, evicted, evictedBytes };
  }
}

/** What the last sweep (on any node) counted, or `null` before the first. */
export async function readUsage(store: ObjectStore): Promise<CacheUsage | null> {
  // Rewritten by whichever node sweeps: ask the source of truth for its current version.
  const current = await store.head(USAGE_KEY);
  const object = current && await readObjectBytes(store, USAGE_KEY, 64 * 1024, current.etag);
  if (object === null) return null;
  try {
    const usage = JSON.parse(new TextDecoder().decode(object.bytes));
    return typeof usage?.totalBytes === "number" && typeof usage.sweptAt === "number" ? usage : null;
  } catch {
    return null;
  }
}

/**
 * A node's estimate of the cache's size between sweeps: the latest sweep's
 * count (from any node) plus what this node stored since. Past the budget it
 * asks for a sweep (`onOver`), so the cache goes over by little more than
 * what arrives while a sweep runs.
 */
export class UsageEstimate {
  readonly #maxBytes: number;
  readonly #onOver: () => void;
  #counted = 0;
  #sweptAt = -Infinity;
  #storedSince = 0;

  constructor(maxBytes: number, onOver: () => void) {
    this.#maxBytes = maxBytes;
    this.#onOver = onOver;
  }

  /** Bytes the cache holds, as far as this node knows. */
  get bytes(): number {
    return this.#counted + this.#storedSince;
  }

  /** Counts a body this node stored. */
  stored(size: number): void {
    this.#storedSince += size;
    if (this.bytes > this.#maxBytes) this.#onOver();
  }

  /** Takes a sweep's count, unless an earlier one than already known. */
  counted(usage: CacheUsage | null): void {
    if (usage === null || usage.sweptAt <= this.#sweptAt) return;
    this.#counted = usage.totalBytes;
    this.#sweptAt = usage.sweptAt;
    this.#storedSince = 0;
  }
}
