/**
 * JSON documents (package indexes, identifier maps) held in memory and
 * revalidated cheaply against the store: within `maxAgeMs` a read is served
 * from memory; after it, a `head` compares etags and only a changed document
 * is fetched again. When the store is unreachable, the last known version is
 * served. Writes go through compare-and-swap and invalidate the entry.
 * Concurrent updates of one document from this process are applied together
 * in one write (a burst of publishes to one package commits in a few writes,
 * instead of racing each other until they give up).
 *
 * Memory is trusted only while the key's change counter (src/storage/change_counters.ts)
 * is unchanged: another worker's write to the same store makes the next read
 * here revalidate, so writes are seen at once by every worker of a process.
 *
 * @module
 */
import { LruCache } from "../util/lru_cache.ts";
import { type ChangeCounters, changesOf } from "./change_counters.ts";
import { readJsonDocument, updateJsonDocument } from "./json_document.ts";
import { type ObjectStore, StorageUnavailableError } from "./object_store.ts";

/** An update waiting for the next write of its document. */
interface QueuedUpdate {
  mutate: (current: unknown) => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Thrown inside a batch when no update changed an absent document: there is nothing to write. */
const NOTHING_TO_WRITE = Symbol("nothing to write");

interface Entry {
  value: unknown;
  /** `null` when the document did not exist. */
  etag: string | null;
  checkedAt: number;
  /** The key's change-counter slot, and its value before the document was read. */
  slot: number;
  stamp: number;
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
  /** Change counters shared with other workers (default: the store's, see {@link changesOf}). */
  changes?: ChangeCounters;
}

/** A read-through, revalidating cache of JSON documents over an {@link ObjectStore}. */
export class DocumentCache {
  readonly #store: ObjectStore;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #entries: LruCache<string, Entry>;
  readonly #pending = new Map<string, Promise<Entry>>();
  /** Updates per key waiting for the write in progress to finish. */
  readonly #queued = new Map<string, QueuedUpdate[]>();
  /** Bumped by every write, so a read racing a write does not cache what it read. */
  #generation = 0;
  readonly #changes: ChangeCounters;

  constructor(store: ObjectStore, options: DocumentCacheOptions) {
    this.#store = store;
    this.#maxAgeMs = options.maxAgeMs;
    this.#now = options.clock ?? Date.now;
    this.#entries = new LruCache(options.maxEntries ?? 50_000);
    this.#changes = options.changes ?? changesOf(store);
  }

  /** The document at `key`, or `null` when it does not exist. */
  async read<T>(key: string): Promise<T | null> {
    const entry = this.#entries.get(key);
    const now = this.#now();
    if (entry !== undefined && this.#fresh(entry, now)) return entry.value as T | null;
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
   * The document at `key` when memory holds it and may still trust it (no
   * change seen, within `maxAgeMs`), without touching storage; `undefined`
   * when only {@link read} can tell.
   */
  peek<T>(key: string): T | null | undefined {
    const entry = this.#entries.get(key);
    return entry !== undefined && this.#fresh(entry, this.#maxAgeMs === Infinity ? 0 : this.#now())
      ? entry.value as T | null
      : undefined;
  }

  /** True while `document` (as {@link read} returned it for `key`) is still the current one, as far as memory knows. */
  isCurrent(key: string, document: unknown): boolean {
    return this.peek(key) === document;
  }

  #fresh(entry: Entry, now: number): boolean {
    return (this.#maxAgeMs === Infinity || now - entry.checkedAt < this.#maxAgeMs) &&
      this.#changes.read(entry.slot) === entry.stamp;
  }

  /**
   * Compare-and-swap update (see {@link updateJsonDocument}); returns the
   * stored document. The next read fetches it again. Updates of one key that
   * arrive while a write of it is in progress are applied in arrival order to
   * the same document and written together; one that throws fails alone.
   */
  update<T>(key: string, mutate: (current: T | null) => T | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const update = { mutate, resolve, reject } as QueuedUpdate;
      const queue = this.#queued.get(key);
      if (queue !== undefined) return void queue.push(update);
      this.#queued.set(key, [update]);
      void this.#drain(key);
    });
  }

  async #drain(key: string): Promise<void> {
    for (;;) {
      const batch = this.#queued.get(key)!;
      if (batch.length === 0) {
        this.#queued.delete(key);
        return;
      }
      this.#queued.set(key, []);
      await this.#write(key, batch);
    }
  }

  async #write(key: string, batch: QueuedUpdate[]): Promise<void> {
    let failures = new Map<QueuedUpdate, unknown>();
    let stored: unknown;
    try {
      // `mutate` may run again after a lost race: each run starts from the stored document.
      stored = (await updateJsonDocument<unknown>(this.#store, key, (current) => {
        failures = new Map();
        let document = current;
        let changed = false;
        for (const update of batch) {
          try {
            const next = update.mutate(document);
            if (next !== undefined) [document, changed] = [next, true];
          } catch (error) {
            failures.set(update, error);
          }
        }
        if (!changed && current === null) throw NOTHING_TO_WRITE;
        return changed ? document : undefined;
      })).value;
    } catch (error) {
      if (error !== NOTHING_TO_WRITE) {
        for (const update of batch) update.reject(error);
        return;
      }
      stored = null;
    } finally {
      this.#generation++;
      this.#entries.delete(key);
      this.#pending.delete(key);
    }
    for (const update of batch) {
      if (failures.has(update)) update.reject(failures.get(update));
      else if (stored === null) update.reject(new Error(`mutation of absent document ${key} returned nothing`));
      else update.resolve(stored);
    }
  }

  async #fetch(key: string, known: Entry | undefined, now: number): Promise<Entry> {
    // The counter is read before the store: a write landing meanwhile makes the next read check again.
    const slot = known?.slot ?? this.#changes.slot(key);
    const stamp = this.#changes.read(slot);
    const head = await this.#store.head(key);
    const etag = head?.etag ?? null;
    if (known !== undefined && known.etag === etag) return { ...known, checkedAt: now, stamp };
    if (head === null) return { value: null, etag: null, checkedAt: now, slot, stamp };
    const document = await readJsonDocument(this.#store, key, head.etag);
    return { value: document?.value ?? null, etag: document?.etag ?? null, checkedAt: now, slot, stamp };
  }
}
