/**
 * The build cache's storage side, protocol-agnostic: blobs streamed in and
 * out in constant memory, small ones also kept in memory as prepared
 * responses (src/http/prepared.ts: bytes and headers built once), which the
 * hot path answers again for as long as they are current.
 *
 * - Immutable entries (CAS blobs, Tuist CAS objects): a second write of a key
 *   is a no-op success (its body is read and, when a digest is given,
 *   checked, then dropped). Concurrent first writes store once.
 * - Mutable entries (action cache, Tuist key-value): the last writer wins,
 *   atomically (readers see the old or the new value, whole). When other
 *   nodes write to the same storage (S3), a copy in memory or on this node's
 *   disk is checked against storage (HEAD) at most every `sharedMaxAgeMs`.
 * - A copy in memory is current while its key's change counter (shared by
 *   the workers of a process, src/storage/change_counters.ts) is unchanged:
 *   an overwrite or an eviction by any worker makes the next read, in every
 *   worker, check storage again.
 * - Bodies are staged to a scratch file (hashed and counted on the way), so a
 *   body that is too large (413) or does not hash to its key (400) leaves
 *   nothing in storage.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { BadRequestError, PayloadTooLargeError, ServiceUnavailableError } from "../../errors.ts";
import { type StagedFile, stageStream } from "../../core/staging.ts";
import type { Freshness, HotUse } from "../../http/hot_responses.ts";
import { PreparedResponse } from "../../http/prepared.ts";
import { type ChangeCounters, changesOf } from "../../storage/change_counters.ts";
import type { ObjectInfo, ObjectStore } from "../../storage/object_store.ts";
import { KeyedMutex } from "../../util/keyed_mutex.ts";
import { LruCache } from "../../util/lru_cache.ts";
import type { Namespace } from "./keys.ts";
import { CacheMetrics } from "./metrics.ts";

/** A blob found in the cache: small ones from memory, large ones streamed. */
export type FoundBlob = SmallBlob | LargeBlob;

/** A small blob, kept in memory as a prepared response. */
export interface SmallBlob {
  prepared: PreparedResponse;
  /** True while this is still the entry's value (the hot path remembers the answer as long). */
  fresh: Freshness;
  /** Counts a read of it answered from memory by the hot path (as {@link BlobCache.read} counts one). */
  used?: HotUse;
}

/** A large blob, streamed from storage. */
export interface LargeBlob {
  prepared?: undefined;
  /** Content-Type, Content-Length and ETag. */
  headers: Readonly<Record<string, string>>;
  /** The ETag in `headers`. */
  etag: string;
  /** Its bytes (absent for HEAD). */
  body?: ReadableStream<Uint8Array>;
}

/** How an entry is read and written. */
export interface EntryOptions {
  namespace: Namespace;
  /** Entries that may be overwritten (action cache, key-value). */
  mutable: boolean;
  contentType: string;
  /** A fixed ETag (content-addressed blobs: the quoted digest); the storage etag otherwise. */
  etag?: string;
}

/** How a body is written. */
export interface WriteOptions extends EntryOptions {
  /** The lowercase hex SHA-256 the body must have (CAS blobs). */
  sha256?: string;
}

/** Options of {@link BlobCache}. */
export interface BlobCacheOptions {
  store: ObjectStore;
  /** Where bodies are staged. */
  scratchDir: string;
  /** Largest blob accepted (413 above). */
  maxBlobBytes: number;
  /** Memory for small blobs (each at most 1 MiB); 0 turns it off. */
  memoryBytes: number;
  /** How long a mutable entry's copy is served without asking storage: Infinity when no other node writes. */
  sharedMaxAgeMs: number;
  now: () => number;
  metrics: CacheMetrics;
  /** Told of every read that found its entry (access stamps; a write's time is its storage timestamp). */
  onRead(key: string): void;
  /** Told of every stored body (budget tracking). */
  onStored(size: number): void;
}

interface MemoryEntry {
  found: SmallBlob;
  mutable: boolean;
  /** The storage etag the copy was made from. */
  storageEtag: string;
  /** When storage last confirmed it (for mutable entries shared with other nodes). */
  checkedAt: number;
  /** The key's change-counter slot, and its value before storage was last asked. */
  slot: number;
  stamp: number;
}

/** Reads and writes build-cache entries. */
export class BlobCache {
  readonly #options: BlobCacheOptions;
  readonly #store: ObjectStore;
  readonly #changes: ChangeCounters;
  readonly #memory: LruCache<string, MemoryEntry>;
  readonly #smallBytes: number;
  readonly #locks = new KeyedMutex();

  constructor(options: BlobCacheOptions) {
    this.#options = options;
    this.#store = options.store;
    this.#changes = changesOf(options.store);
    this.#memory = new LruCache(options.memoryBytes, (entry) => entry.found.prepared.weight);
    this.#smallBytes = Math.min(1024 * 1024, options.memoryBytes);
  }

  /**
   * The entry at `key` with its body (counted as a use, a hit or a miss), or
   * `null` when there is none.
   */
  async read(key: string, options: EntryOptions): Promise<FoundBlob | null> {
    const found = await this.#find(key, options, false);
    if (found === null) {
      this.#options.metrics.misses.inc(CacheMetrics.labels(options.namespace));
      return null;
    }
    const size = found.prepared === undefined ? Number(found.headers["Content-Length"]) : found.prepared.size;
    this.#used(key, options.namespace, size);
    return found;
  }

  /** The entry at `key` without its body (a HEAD: not counted as a use), or `null`. */
  head(key: string, options: EntryOptions): Promise<FoundBlob | null> {
    return this.#find(key, options, true);
  }

  /**
   * Stores `body` at `key`. Returns `"exists"` when an immutable entry was
   * there already (nothing changed).
   *
   * @throws {PayloadTooLargeError} when the body is over the limit.
   * @throws {BadRequestError} when the body does not have the required SHA-256.
   */
  async write(
    key: string,
    body: ReadableStream<Uint8Array> | null,
    options: WriteOptions,
  ): Promise<"stored" | "exists"> {
    const source = body ?? new Response(new Uint8Array(0)).body!;
    if (!options.mutable && await this.#exists(key)) {
      await drain(source, this.#options.maxBlobBytes, options.sha256);
      return "exists";
    }
    const staged = await this.#stage(source, options.sha256);
    try {
      return await this.#locks.run(key, async () => {
        // Another request may have stored it while this body arrived.
        if (!options.mutable && await this.#exists(key)) return "exists";
        // Read before the write: this write (or another worker's right after it) makes the copy checked once.
        const stamp = this.#changes.read(this.#changes.slot(key));
        const info = await this.#store.put(key, { file: staged.path }, { contentType: options.contentType });
        if (staged.size <= this.#smallBytes) {
          this.#remember(key, options, info, await Deno.readFile(staged.path), stamp);
        } else {
          this.#memory.delete(key);
        }
        this.#options.metrics.bytesIn.inc(CacheMetrics.labels(options.namespace), staged.size);
        this.#options.onStored(staged.size);
        return "stored";
      });
    } finally {
      await staged.dispose();
    }
  }

  /** Drops the memory copy of `key` (after it was evicted from storage). */
  forget(key: string): void {
    this.#memory.delete(key);
  }

  /** Counts a read that found `key`: a hit, its bytes, and its access stamp. */
  #used(key: string, namespace: Namespace, size: number): void {
    const labels = CacheMetrics.labels(namespace);
    this.#options.metrics.hits.inc(labels);
    this.#options.metrics.bytesOut.inc(labels, size);
    this.#options.onRead(key);
  }

  /** True while a memory copy may be served without asking storage. */
  #current(entry: MemoryEntry): boolean {
    return this.#changes.read(entry.slot) === entry.stamp &&
      (!entry.mutable || this.#options.now() - entry.checkedAt < this.#options.sharedMaxAgeMs);
  }

  async #find(key: string, options: EntryOptions, head: boolean): Promise<FoundBlob | null> {
    const cached = this.#memory.get(key);
    if (cached !== undefined && this.#current(cached)) return cached.found;
    const stamp = this.#changes.read(this.#changes.slot(key));
    let current: ObjectInfo | null | undefined;
    // A mutable entry shared with other nodes: ask storage for its current version, not a copy on this node's disk.
    if (head || cached !== undefined || (options.mutable && this.#options.sharedMaxAgeMs !== Infinity)) {
      current = await this.#store.head(key);
      if (current === null) {
        this.#memory.delete(key);
        return null;
      }
      if (cached !== undefined && cached.storageEtag === current.etag) {
        cached.stamp = stamp;
        cached.checkedAt = this.#options.now();
        return cached.found;
      }
      if (head && current.size > this.#smallBytes) return describe(current.size, options, current.etag);
    }
    const object = await this.#store.get(key, current ? { etag: current.etag } : {});
    if (object === null) {
      this.#memory.delete(key);
      return null;
    }
    const { body, ...info } = object;
    if (info.size <= this.#smallBytes) {
      const bytes = new Uint8Array(await new Response(body).arrayBuffer());
      if (bytes.byteLength !== info.size) throw damaged();
      return this.#remember(key, options, info, bytes, stamp);
    }
    if (head) {
      await body.cancel();
      return describe(info.size, options, info.etag);
    }
    return { ...describe(info.size, options, info.etag), body };
  }

  #remember(
    key: string,
    options: EntryOptions,
    info: ObjectInfo,
    bytes: Uint8Array<ArrayBuffer>,
    stamp: number,
  ): SmallBlob {
    const { namespace, mutable } = options;
    const prepared = new PreparedResponse(bytes, {
      "Content-Type": options.contentType,
      ETag: options.etag ?? info.etag,
    });
    const entry: MemoryEntry = {
      found: {
        prepared,
        fresh: () => this.#current(entry),
        used: (request) => {
          if (request.method === "GET") this.#used(key, namespace, prepared.size);
        },
      },
      mutable,
      storageEtag: info.etag,
      checkedAt: this.#options.now(),
      slot: this.#changes.slot(key),
      stamp,
    };
    this.#memory.set(key, entry);
    return entry.found;
  }

  async #exists(key: string): Promise<boolean> {
    const cached = this.#memory.get(key);
    return (cached !== undefined && this.#current(cached)) || await this.#store.head(key) !== null;
  }

  async #stage(source: ReadableStream<Uint8Array>, sha256: string | undefined): Promise<StagedFile> {
    const max = this.#options.maxBlobBytes;
    let staged: StagedFile;
    try {
      staged = await stageStream(this.#options.scratchDir, source, max);
    } catch (error) {
      throw error instanceof PayloadTooLargeError ? tooLarge(max) : error;
    }
    if (sha256 !== undefined && staged.sha256Hex !== sha256) {
      await staged.dispose();
      throw digestMismatch(staged.sha256Hex, sha256);
    }
    return staged;
  }
}

/** A large blob of `size` bytes, without its body. */
function describe(size: number, options: EntryOptions, storageEtag: string): LargeBlob {
  const etag = options.etag ?? storageEtag;
  return { etag, headers: { "Content-Type": options.contentType, "Content-Length": String(size), ETag: etag } };
}

/** Reads a body to its end without keeping it, checking its size and digest. */
async function drain(source: ReadableStream<Uint8Array>, maxBytes: number, sha256?: string): Promise<void> {
  const hash = sha256 === undefined ? undefined : createHash("sha256");
  let size = 0;
  for await (const chunk of source) {
    size += chunk.byteLength;
    if (size > maxBytes) throw tooLarge(maxBytes);
    hash?.update(chunk);
  }
  const actual = hash?.digest("hex");
  if (actual !== undefined && actual !== sha256) throw digestMismatch(actual, sha256!);
}

function tooLarge(maxBytes: number): PayloadTooLargeError {
  return new PayloadTooLargeError(`the blob is over the ${maxBytes}-byte limit (REGISTRY_CACHE_MAX_BLOB_BYTES)`);
}

function digestMismatch(actual: string, expected: string): BadRequestError {
  return new BadRequestError(`the body's SHA-256 is ${actual}, not ${expected}: nothing was stored`);
}

function damaged(): ServiceUnavailableError {
  return new ServiceUnavailableError("a cache entry came back from storage with the wrong size; try again");
}
