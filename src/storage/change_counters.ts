/**
 * Change counters shared by the workers of one process: every write to the
 * object store bumps the counter of its key's slot (a hash of the key) before
 * the write is acknowledged, and a cached document is trusted only while its
 * slot's counter is what it was when the document was read. A publish
 * answered by one worker is therefore seen by the next read in any worker:
 * no message to wait for, one atomic load per cached read.
 *
 * The counters live in a `SharedArrayBuffer` the first worker creates and
 * hands to the others (src/http/workers.ts); alone, a process uses its own.
 * Two keys may share a slot: a write to one then makes readers of the other
 * revalidate (a `head`), which finds it unchanged.
 *
 * @module
 */
import type { GetOptions, ObjectBody, ObjectInfo, ObjectStore, PutBody, PutOptions } from "./object_store.ts";

/** Slots of a counter buffer (256 KiB of counters). */
const SLOTS = 65_536;

/** Counters of changes per key slot, possibly shared between workers. */
export class ChangeCounters {
  readonly buffer: SharedArrayBuffer;
  readonly #counters: Int32Array;

  /** Counters over `buffer` (another worker's, to share them), or new ones with `slots` slots. */
  constructor(buffer?: SharedArrayBuffer, slots = SLOTS) {
    this.buffer = buffer ?? new SharedArrayBuffer(slots * 4);
    this.#counters = new Int32Array(this.buffer);
  }

  /** The slot of `key` (FNV-1a of its characters). */
  slot(key: string): number {
    let hash = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
    return (hash >>> 0) % this.#counters.length;
  }

  /** The counter of `slot` now. */
  read(slot: number): number {
    return Atomics.load(this.#counters, slot);
  }

  /** Records that `key` changed. */
  bump(key: string): void {
    Atomics.add(this.#counters, this.slot(key), 1);
  }
}

/**
 * An {@link ObjectStore} that bumps `changes` after every write or delete
 * (whether or not it succeeded: a failed conditional write costs readers one
 * revalidation, nothing more).
 */
export class ChangeCountingStore implements ObjectStore {
  readonly #inner: ObjectStore;
  readonly changes: ChangeCounters;

  constructor(inner: ObjectStore, changes: ChangeCounters) {
    this.#inner = inner;
    this.changes = changes;
  }

  head(key: string): Promise<ObjectInfo | null> {
    return this.#inner.head(key);
  }

  get(key: string, options?: GetOptions): Promise<ObjectBody | null> {
    return this.#inner.get(key, options);
  }

  async put(key: string, body: PutBody, options?: PutOptions): Promise<ObjectInfo> {
    try {
      return await this.#inner.put(key, body, options);
    } finally {
      this.changes.bump(key);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.#inner.delete(key);
    } finally {
      this.changes.bump(key);
    }
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.#inner.list(prefix);
  }

  localFile(key: string): string | undefined {
    return this.#inner.localFile?.(key);
  }

  touched(key: string): void {
    this.#inner.touched?.(key);
  }
}

/**
 * The change counters of `store` when it counts changes; else a single
 * counter nobody else bumps (a cache over such a store sees only its own
 * writes, which it handles itself).
 */
export function changesOf(store: ObjectStore): ChangeCounters {
  return store instanceof ChangeCountingStore ? store.changes : new ChangeCounters(undefined, 1);
}
