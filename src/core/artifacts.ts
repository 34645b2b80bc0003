/**
 * Immutable artifacts of every format: bytes stored once under a key that
 * includes their checksum, never changed, served the same forever. Small
 * artifacts and small files read whole (manifests, metadata files) are kept
 * in memory once read, since their keys can never point at other bytes.
 *
 * @module
 */
import { ServiceUnavailableError } from "../errors.ts";
import {
  type ByteRange,
  moveObject,
  type ObjectBody,
  type ObjectStore,
  readObjectBytes,
} from "../storage/object_store.ts";
import { bytesStream } from "../util/bytes_stream.ts";
import { LruCache } from "../util/lru_cache.ts";
import type { StagedFile } from "./staging.ts";

/** What a format's record knows of a stored artifact. */
export interface ArtifactInfo {
  key: string;
  size: number;
  /** The ETag to serve (usually the quoted SHA-256). */
  etag: string;
  lastModified: Date;
}

/** Options of {@link Artifacts}. */
export interface ArtifactsOptions {
  store: ObjectStore;
  /** Bytes of small artifacts (up to 1 MiB each) kept in memory (0 turns it off). */
  memoryBytes: number;
  /** Bytes of small files read whole (manifests, metadata) kept in memory (default 32 MiB). */
  smallFileBytes?: number;
}

/** Stores and serves immutable artifacts. */
export class Artifacts {
  readonly #store: ObjectStore;
  readonly #memory: LruCache<string, Uint8Array<ArrayBuffer>>;
  readonly #smallFiles: LruCache<string, Uint8Array<ArrayBuffer>>;
  readonly #smallArtifactBytes: number;

  constructor(options: ArtifactsOptions) {
    this.#store = options.store;
    this.#memory = new LruCache(options.memoryBytes, (b) => b.byteLength);
    this.#smallFiles = new LruCache(options.smallFileBytes ?? 32 * 1024 * 1024, (b) => b.byteLength);
    this.#smallArtifactBytes = Math.min(1024 * 1024, options.memoryBytes);
  }

  /** Stores a staged file at `key`. */
  async putFile(key: string, file: StagedFile, contentType: string): Promise<void> {
    await this.#store.put(key, { file: file.path }, { contentType });
  }

  /** Stores bytes at `key`. */
  async putBytes(key: string, bytes: Uint8Array, contentType: string): Promise<void> {
    await this.#store.put(key, bytes, { contentType });
  }

  /** Moves the artifact at `from` to `to`; false when there is none at `from`. */
  async move(from: string, to: string, contentType: string): Promise<boolean> {
    return await moveObject(this.#store, from, to, contentType);
  }

  /** Removes the artifact at `key` (absent keys are fine). */
  async delete(key: string): Promise<void> {
    this.#memory.delete(key);
    this.#smallFiles.delete(key);
    await this.#store.delete(key);
  }

  /** True when storage has the artifact (a copy of an upstream's bytes may have been evicted). */
  async exists(info: ArtifactInfo): Promise<boolean> {
    return await this.#store.head(info.key) !== null;
  }

  /** The local file of an artifact on disk that may be read without the store (see `ObjectStore.localFile`). */
  localFile(info: ArtifactInfo): string | undefined {
    return this.#store.localFile?.(info.key);
  }

  /** Tells the store an artifact was read from its {@link localFile}. */
  touched(info: ArtifactInfo): void {
    this.#store.touched?.(info.key);
  }

  /** True when an artifact of `size` bytes is kept in memory once read (see {@link bytes}). */
  keepsInMemory(size: number): boolean {
    return size <= this.#smallArtifactBytes;
  }

  /**
   * The whole bytes of a small artifact ({@link keepsInMemory}), kept in
   * memory once read. The caller checks the length against its record.
   *
   * @throws {MissingArtifactError} when storage no longer has it.
   */
  async bytes(info: ArtifactInfo): Promise<Uint8Array<ArrayBuffer>> {
    return this.#memory.get(info.key) ?? await this.#readSmall(info);
  }

  /**
   * Opens an artifact (or a range of it) for streaming; small ones are
   * served from memory.
   *
   * @throws {MissingArtifactError} when storage no longer has it.
   */
  async open(info: ArtifactInfo, range?: ByteRange): Promise<ObjectBody> {
    if (this.keepsInMemory(info.size)) {
      const bytes = await this.bytes(info);
      const slice = range ? bytes.subarray(range.start, range.end + 1) : bytes;
      return { ...info, size: bytes.byteLength, body: bytesStream(slice) };
    }
    const object = await this.#store.get(info.key, { range });
    if (object === null) throw missing(info.key);
    return object;
  }

  /**
   * The whole bytes of a small file (kept in memory once read).
   *
   * @throws {MissingArtifactError} when storage no longer has it.
   */
  async read(key: string, maxBytes = 16 * 1024 * 1024): Promise<Uint8Array<ArrayBuffer>> {
    const cached = this.#smallFiles.get(key);
    if (cached !== undefined) return cached;
    const object = await readObjectBytes(this.#store, key, maxBytes);
    if (object === null) throw missing(key);
    this.#smallFiles.set(key, object.bytes);
    return object.bytes;
  }

  async #readSmall(info: ArtifactInfo): Promise<Uint8Array<ArrayBuffer>> {
    const object = await readObjectBytes(this.#store, info.key, this.#smallArtifactBytes);
    if (object === null) throw missing(info.key);
    // Only a complete copy is kept: a damaged one is served once (the caller checks sizes) and read again.
    if (object.bytes.byteLength === info.size) this.#memory.set(info.key, object.bytes);
    return object.bytes;
  }
}

/**
 * Storage does not have an artifact a record points at: damage, or (for a
 * copy of an upstream's bytes on a node without S3) an eviction, which the
 * format repairs by fetching it again (`ArtifactToServe.recover`). Maps to 503.
 */
export class MissingArtifactError extends ServiceUnavailableError {
  constructor(key: string) {
    super(`${key.split("/").pop()} is missing from storage`);
  }
}

function missing(key: string): MissingArtifactError {
  return new MissingArtifactError(key);
}
