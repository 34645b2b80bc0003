/**
 * The build cache's storage side, protocol-agnostic: blobs streamed in and
 * out in constant memory, small ones also kept in memory with their response
 * headers built once.
 *
 * - Immutable entries (CAS blobs, Tuist CAS objects): a second write of a key
 *   is a no-op success (its body is read and, when a digest is given,
 *   checked, then dropped). Concurrent first writes store once.
 * - Mutable entries (action cache, Tuist key-value): the last writer wins,
 *   atomically (readers see the old or the new value, whole). When other
 *   nodes write to the same storage (S3), a copy in memory or on this node's
 *   disk is checked against storage (HEAD) at most every `sharedMaxAgeMs`.
 * - Bodies are staged to a scratch file (hashed and counted on the way), so a
 *   body that is too large (413) or does not hash to its key (400) leaves
 *   nothing in storage.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { BadRequestError, PayloadTooLargeError, ServiceUnavailableError } from "../../errors.ts";
import { type StagedFile, stageStream } from "../../core/staging.ts";
import type { ObjectInfo, ObjectStore } from "../../storage/object_store.ts";
import { KeyedMutex } from "../../util/keyed_mutex.ts";
import { LruCache } from "../../util/lru_cache.ts";
import type { Namespace } from "./keys.ts";
import { CacheMetrics } from "./metrics.ts";

/** A blob found in the cache. */
export interface FoundBlob {
  /** Content-Type, Content-Length and ETag (built once for blobs kept in memory). */
  headers: Readonly<Record<string, string>>;
  /** The ETag in `headers`. */
  etag: string;
  /** The whole blob, when small enough to be kept in memory. */
  bytes?: Uint8Array<ArrayBuffer>;
  /** A stream of a large blob (absent for HEAD and for blobs in `bytes`). */
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
  found: FoundBlob;
  /** The storage etag the copy was made from. */
  storageEtag: string;
  /** When storage last confirmed it (for mutable entries shared with other nodes). */
  checkedAt: number;
}

/** Reads and writes build-cache entries. */
export class BlobCache {
  readonly #options: BlobCacheOptions;
  readonly #store: ObjectStore;
  readonly #memory: LruCache<string, MemoryEntry>;
  readonly #smallBytes: number;
  readonly #locks = new KeyedMutex();

  constructor(options: BlobCacheOptions) {
    this.#options = options;
    this.#store = options.store;
    this.#memory = new LruCache(options.memoryBytes, (entry) => entry.found.bytes!.byteLength + 256);
    this.#smallBytes = Math.min(1024 * 1024, options.memoryBytes);
  }

  /**
   * The entry at `key` with its body (counted as a use, a hit or a miss), or
   * `null` when there is none.
   */
  async read(key: string, options: EntryOptions): Promise<FoundBlob | null> {
    const labels = CacheMetrics.labels(options.namespace);
    const found = await this.#find(key, options, false);
    if (found === null) {
      this.#options.metrics.misses.inc(labels);
      return null;
    }
    this.#options.metrics.hits.inc(labels);
    this.#options.metrics.bytesOut.inc(labels, Number(found.headers["Content-Length"]));
    this.#options.onRead(key);
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
        const info = await this.#store.put(key, { file: staged.path }, { contentType: options.contentType });
        if (staged.size <= this.#smallBytes) {
          const bytes = await Deno.readFile(staged.path);
          this.#remember(key, options, info, bytes);
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

  async #find(key: string, options: EntryOptions, head: boolean): Promise<FoundBlob | null> {
    const cached = this.#memory.get(key);
    const now = this.#options.now();
    if (cached !== undefined && (!options.mutable || now - cached.checkedAt < this.#options.sharedMaxAgeMs)) {
      return cached.found;
    }
    let current: ObjectInfo | null | undefined;
    if (head || (options.mutable && this.#options.sharedMaxAgeMs !== Infinity)) {
      current = await this.#store.head(key);
      if (current === null) {
        this.#memory.delete(key);
        return null;
      }
      if (cached !== undefined && cached.storageEtag === current.etag) {
        cached.checkedAt = now;
        return cached.found;
      }
      if (head) return describe(current.size, options, current.etag);
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
      return this.#remember(key, options, info, bytes);
    }
    return { ...describe(info.size, options, info.etag), body };
  }

  #remember(key: string, options: EntryOptions, info: ObjectInfo, bytes: Uint8Array<ArrayBuffer>): FoundBlob {
    const found = { ...describe(bytes.byteLength, options, info.etag), bytes };
    this.#memory.set(key, { found, storageEtag: info.etag, checkedAt: this.#options.now() });
    return found;
  }

  async #exists(key: string): Promise<boolean> {
    return this.#memory.get(key) !== undefined || await this.#store.head(key) !== null;
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

/** Headers of a blob of `size` bytes. */
function describe(size: number, options: EntryOptions, storageEtag: string): Pick<FoundBlob, "headers" | "etag"> {
  const etag = options.etag ?? storageEtag;
  return {
    etag,
    headers: { "Content-Type": options.contentType, "Content-Length": String(size), ETag: etag },
  };
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
