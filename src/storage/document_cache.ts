/**
 * JSON documents (package indexes, identifier maps) held in memory and
 * revalidated cheaply against the store: within `maxAgeMs` a read is served
 * from memory; after it, a `head` compares etags and only a changed document
 * is fetched again. When the store is unreachable, the last known version is
 * served. Writes go through compare-and-swap and invalidate the entry.
 *
 * @module
 */
import { LruCache } from "../util/lru_cache.ts";
import { readJsonDocument, updateJsonDocument } from "./json_document.ts";
import { type ObjectStore, StorageUnavailableError } from "./object_store.ts";

interface Entry {
  value: unknown;
  /** `null` when the document did not exist. */
  etag: string | null;
  checkedAt: number;
}

/** Options of a {@link DocumentCache}. */
export interface DocumentCacheOptions {
  /**
   * How long a read may trust memory before revalidating. `Infinity` when this
   * process is the only writer (local disk); a few seconds with a shared bucket.
   */
  maxAgeMs: number;
  /** Documents kept in memory (default 50 000). */
  maxEntries?: number;
  clock?: () => number;
}

/** A read-through, revalidating cache of JSON documents over an {@link ObjectStore}. */
export class DocumentCache {
  readonly #store: ObjectStore;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #entries: LruCache<string, Entry>;
  readonly #pending = new Map<string, Promise<Entry>>();
  /** Bumped by every write, so a read racing a write does not cache what it read. */
  #generation = 0;

  constructor(store: ObjectStore, options: DocumentCacheOptions) {
    this.#store = store;
    this.#maxAgeMs = options.maxAgeMs;
    this.#now = options.clock ?? Date.now;
    this.#entries = new LruCache(options.maxEntries ?? 50_000);
  }

  /** The document at `key`, or `null` when it does not exist. */
  async read<T>(key: string): Promise<T | null> {
    const entry = this.#entries.get(key);
    const now = this.#now();
    if (entry !== undefined && now - entry.checkedAt < this.#maxAgeMs) return entry.value as T | null;
    const generation = this.#generation;
    let fresh: Entry;
    try {
      // One revalidation per key at a time; concurrent readers share it.
      let pending = this.#pending.get(key);
      if (pending === undefined) {
        pending = this.#fetch(key, entry, now).finally(() => this.#pending.delete(key));
        this.#pending.set(key, pending);
      }
      fresh = await pending;
    } catch (error) {
      if (error instanceof StorageUnavailableError && entry !== undefined) return entry.value as T | null;
      throw error;
    }
    if (generation === this.#generation) this.#entries.set(key, fresh);
    return fresh.value as T | null;
  }

  /**
   * Compare-and-swap update (see {@link updateJsonDocument}); returns the
   * stored document. The next read fetches it again.
   */
  async update<T>(key: string, mutate: (current: T | null) => T | undefined): Promise<T> {
    try {
      return (await updateJsonDocument(this.#store, key, mutate)).value;
    } finally {
      this.#generation++;
      this.#entries.delete(key);
      this.#pending.delete(key);
    }
  }

  async #fetch(key: string, known: Entry | undefined, now: number): Promise<Entry> {
    const head = await this.#store.head(key);
    const etag = head?.etag ?? null;
    if (known !== undefined && known.etag === etag) return { ...known, checkedAt: now };
    if (head === null) return { value: null, etag: null, checkedAt: now };
    const document = await readJsonDocument(this.#store, key, head.etag);
    return { value: document?.value ?? null, etag: document?.etag ?? null, checkedAt: now };
  }
}
