/**
 * Disk-first, S3-backed {@link ObjectStore}: the remote store is the source of
 * truth, local disk a bounded least-recently-used cache in front of it.
 *
 * - Writes go to the remote first and are acknowledged only once it has them;
 *   then a disk copy is kept.
 * - Reads hit disk first. A miss starts one download per object (however many
 *   clients miss at once) into a temporary file; every waiting client streams
 *   from that file as it grows, so the first byte does not wait for the last.
 * - Each cached file has a sidecar recording its size, SHA-256 and the remote
 *   etag. A file whose size is wrong is dropped and re-fetched; its SHA-256 is
 *   checked on its first read in the process (before serving, for small
 *   files; as it streams, for large ones).
 * - Above the high watermark, least recently read files are evicted down to
 *   the low watermark, never one that is being streamed or downloaded.
 * - When the disk fails (full, I/O error) reads and writes go straight to the
 *   remote for a while and the error is logged; nothing half-written is kept.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { Logger } from "../log.ts";
import { KeyedMutex } from "../util/keyed_mutex.ts";
import { DiskStore, writeAll, writeHashedFile } from "./disk_store.ts";
import {
  type ByteRange,
  type GetOptions,
  isFileBody,
  type ObjectBody,
  type ObjectInfo,
  type ObjectStore,
  type PutBody,
  type PutOptions,
  readObjectBytes,
  StorageUnavailableError,
  withBodyStream,
} from "./object_store.ts";

/** What the cache knows about one file on disk. */
interface CacheEntry {
  size: number;
  /** The remote object's etag when the copy was made. */
  etag: string;
  sha256: string;
  lastAccess: number;
  /** Streams currently reading the file; a pinned file is never evicted. */
  pins: number;
  /** The SHA-256 was checked against the bytes in this process. */
  verified: boolean;
}

/** The sidecar document stored beside each cached file. */
interface Sidecar {
  size: number;
  etag: string;
  sha256: string;
}

/** Options of a {@link TieredStore}. */
export interface TieredStoreOptions {
  /** Directory of the cache (objects, sidecars, temporary files). */
  cacheDir: string;
  /** The source of truth. */
  remote: ObjectStore;
  /** Disk budget in bytes. */
  maxBytes: number;
  logger: Logger;
  /** Fraction of `maxBytes` that starts an eviction (default 0.9). */
  highWatermark?: number;
  /** Fraction of `maxBytes` an eviction goes down to (default 0.75). */
  lowWatermark?: number;
  /** Files up to this size are checksummed before their first serve (default 1 MiB). */
  verifyBeforeServeBytes?: number;
  /** How long to bypass the disk after a disk error, in ms (default 30 s). */
  diskRetryMs?: number;
  clock?: () => number;
}

/** Counters for tests, logs and metrics. */
export interface TieredStoreStats {
  hits: number;
  misses: number;
  evictions: number;
  corruptions: number;
  diskErrors: number;
}

const READ_CHUNK = 256 * 1024;

/** An {@link ObjectStore} caching a remote store on a bounded local disk. */
export class TieredStore implements ObjectStore {
  readonly stats: TieredStoreStats = { hits: 0, misses: 0, evictions: 0, corruptions: 0, diskErrors: 0 };
  readonly #data: DiskStore;
  readonly #sidecars: DiskStore;
  readonly #remote: ObjectStore;
  readonly #logger: Logger;
  readonly #maxBytes: number;
  readonly #high: number;
  readonly #low: number;
  readonly #verifyBeforeServe: number;
  readonly #diskRetryMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, CacheEntry>();
  readonly #downloads = new Map<string, Download>();
  readonly #keyLocks = new KeyedMutex();
  readonly #verifying = new Map<CacheEntry, Promise<boolean>>();
  /** Work that outlives the request that started it (caching a download). */
  readonly #background = new Set<Promise<void>>();
  #usedBytes = 0;
  /** Bytes of files about to be added (room already made for them). */
  #reservedBytes = 0;
  #diskDownUntil = 0;
  #evicting: Promise<void> | null = null;
  /**
   * The latest write of each key being written, numbered in the order the
   * remote acknowledged them: a disk copy only lands if no later write
   * happened since (and a download's copy only if no write happened while it
   * ran), so the disk never ends up holding an older version than the remote.
   */
  readonly #latestWrite = new Map<string, number>();
  #writes = 0;

  constructor(options: TieredStoreOptions) {
    this.#data = new DiskStore(`${options.cacheDir}/objects`, `${options.cacheDir}/tmp/objects`);
    this.#sidecars = new DiskStore(`${options.cacheDir}/sidecars`, `${options.cacheDir}/tmp/sidecars`);
    this.#remote = options.remote;
    this.#logger = options.logger;
    this.#maxBytes = options.maxBytes;
    this.#high = options.highWatermark ?? 0.9;
    this.#low = options.lowWatermark ?? 0.75;
    this.#verifyBeforeServe = options.verifyBeforeServeBytes ?? 1024 * 1024;
    this.#diskRetryMs = options.diskRetryMs ?? 30_000;
    this.#now = options.clock ?? Date.now;
  }

  /** Bytes of cached files on disk. */
  get usedBytes(): number {
    return this.#usedBytes;
  }

  /** The disk budget in bytes. */
  get maxBytes(): number {
    return this.#maxBytes;
  }

  /**
   * Loads the cache index from the sidecars, dropping files without a valid
   * sidecar (a crash mid-write) and sidecars without their file.
   */
  async init(): Promise<void> {
    await this.#data.init();
    await this.#sidecars.init();
    for await (const sidecar of this.#sidecars.list("")) {
      const meta = await readSidecar(this.#sidecars, sidecar.key);
      const file = await this.#data.head(sidecar.key);
      if (meta === null || file === null || file.size !== meta.size) {
        await this.#drop(sidecar.key);
        continue;
      }
      this.#remember(sidecar.key, meta, file.lastModified.getTime(), false);
    }
    for await (const file of this.#data.list("")) {
      if (!this.#entries.has(file.key)) await this.#data.delete(file.key);
    }
    await this.#evictIfNeeded();
  }

  /** Waits for downloads in progress to finish caching (for shutdown). */
  async settle(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
  }

  /** Finishes caching in progress, then gives up the disk's scratch directories (for shutdown). */
  async close(): Promise<void> {
    await this.settle();
    await this.#data.close();
    await this.#sidecars.close();
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      return await this.#remote.head(key);
    } catch (error) {
      const entry = this.#entries.get(key);
      if (!(error instanceof StorageUnavailableError) || entry === undefined) throw error;
      return { key, size: entry.size, etag: entry.etag, lastModified: new Date(entry.lastAccess) };
    }
  }

  async get(key: string, options: GetOptions = {}): Promise<ObjectBody | null> {
    const entry = this.#entries.get(key);
    if (entry !== undefined && (options.etag === undefined || options.etag === entry.etag)) {
      const hit = await this.#readCached(key, entry, options.range);
      if (hit !== null) return hit;
    }
    this.stats.misses++;
    if (this.#diskIsDown()) return await this.#remote.get(key, options);
    let download = this.#downloads.get(key) ?? this.#startDownload(key);
    let info = await download.ready;
    if (info !== null && options.etag !== undefined && info.etag !== options.etag) {
      // That download fetched another version of the object: fetch the current one.
      const current = this.#downloads.get(key);
      download = current !== undefined && current !== download ? current : this.#startDownload(key);
      info = await download.ready;
    }
    if (info === null) return null;
    const body = await download.open(options.range ?? { start: 0, end: info.size - 1 });
    if (body !== null) return { ...info, body };
    // The download finished and is moving into the cache, or it does not use the disk.
    await download.settled;
    const cached = this.#entries.get(key);
    const hit = cached && cached.etag === info.etag ? await this.#readCached(key, cached, options.range) : null;
    return hit ?? await this.#remote.get(key, options);
  }

  async put(key: string, body: PutBody, options: PutOptions = {}): Promise<ObjectInfo> {
    if (body instanceof Uint8Array) {
      const info = await this.#remote.put(key, body, options);
      await this.#keepCopy(key, info.etag, body.byteLength, this.#wrote(key), async (temp) => {
        await Deno.writeFile(temp, body);
        return { size: body.byteLength, sha256: createHash("sha256").update(body).digest("hex") };
      });
      return info;
    }
    if (isFileBody(body)) {
      const info = await this.#remote.put(key, body, options);
      const write = this.#wrote(key);
      const { size } = await Deno.stat(body.file);
      await this.#keepCopy(
        key,
        info.etag,
        size,
        write,
        (temp) => withBodyStream(body, (stream) => writeHashedFile(temp, stream, { sync: true })),
      );
      return info;
    }
    // A stream can be read once: stage it, then store the file (memory stays constant).
    const staged = this.#data.tempPath();
    try {
      try {
        await writeHashedFile(staged, body, { sync: true });
      } catch (error) {
        this.#diskFailed(error, `staging ${key}`);
        throw new StorageUnavailableError(`the disk cache cannot stage ${key}`);
      }
      return await this.put(key, { file: staged }, options);
    } finally {
      await Deno.remove(staged).catch(() => {});
    }
  }

  async delete(key: string): Promise<void> {
    await this.#remote.delete(key);
    const isCurrent = this.#wrote(key); // no copy of an older version may land after this
    await this.#drop(key);
    if (isCurrent()) this.#latestWrite.delete(key);
  }

  /**
   * Numbers a write (or delete) of `key` the remote just acknowledged; its
   * copy lands only while it is the latest. A download of `key` still in
   * flight may hold the old version: its copy is not kept, and later readers
   * do not join it.
   */
  #wrote(key: string): () => boolean {
    const write = ++this.#writes;
    this.#latestWrite.set(key, write);
    const download = this.#downloads.get(key);
    if (download !== undefined) {
      download.superseded = true;
      this.#downloads.delete(key);
    }
    return () => this.#latestWrite.get(key) === write;
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.#remote.list(prefix);
  }

  /** The cached file of `key`, once its bytes were checked in this process (and the disk is up). */
  localFile(key: string): string | undefined {
    const entry = this.#entries.get(key);
    return entry?.verified && !this.#diskIsDown() ? this.#data.localFile(key) : undefined;
  }

  touched(key: string): void {
    const entry = this.#entries.get(key);
    if (entry !== undefined) {
      this.#touch(entry);
      this.stats.hits++;
    }
  }

  /**
   * Serves a cached file, or returns `null` when it is gone or damaged (a
   * damaged one is dropped). A file not yet checked in this process is
   * checked before its first byte is served: small files are read into memory
   * and served from there, large ones are hashed first (once, however many
   * requests wait for it).
   */
  async #readCached(key: string, entry: CacheEntry, range: ByteRange | undefined): Promise<ObjectBody | null> {
    if (!entry.verified && entry.size <= this.#verifyBeforeServe) {
      return await this.#readSmallUnverified(key, entry, range);
    }
    if (!entry.verified && !(await this.#verify(key, entry))) return null;
    let object: ObjectBody | null;
    try {
      object = await this.#data.get(key, { range });
    } catch (error) {
      this.#diskFailed(error, `reading ${key}`);
      return null;
    }
    if (object === null || object.size !== entry.size) {
      await object?.body.cancel();
      // A file replaced or evicted meanwhile is a plain miss; otherwise the disk lost data.
      if (object !== null && this.#entries.get(key) === entry) {
        await this.#corrupt(key, `size ${object.size}, expected ${entry.size}`);
      }
      return null;
    }
    this.#touch(entry);
    this.stats.hits++;
    entry.pins++;
    let released = false;
    const release = () => {
      if (!released) entry.pins--;
      released = true;
    };
    const body = object.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({ flush: release, cancel: release }),
    );
    return { key, size: entry.size, etag: entry.etag, lastModified: object.lastModified, body };
  }

  async #readSmallUnverified(key: string, entry: CacheEntry, range: ByteRange | undefined): Promise<ObjectBody | null> {
    let whole;
    try {
      whole = await readObjectBytes(this.#data, key, this.#verifyBeforeServe);
    } catch (error) {
      this.#diskFailed(error, `reading ${key}`);
      return null;
    }
    if (whole === null || this.#entries.get(key) !== entry) return null;
    if (
      whole.bytes.byteLength !== entry.size || createHash("sha256").update(whole.bytes).digest("hex") !== entry.sha256
    ) {
      await this.#corrupt(key, "size or checksum mismatch");
      return null;
    }
    entry.verified = true;
    this.#touch(entry);
    this.stats.hits++;
    const bytes = range ? whole.bytes.slice(range.start, range.end + 1) : whole.bytes;
    return {
      key,
      size: entry.size,
      etag: entry.etag,
      lastModified: whole.info.lastModified,
      body: new Response(bytes).body!,
    };
  }

  /** Hashes a cached file once (concurrent callers share the work); drops it when damaged. */
  #verify(key: string, entry: CacheEntry): Promise<boolean> {
    let check = this.#verifying.get(entry);
    if (check === undefined) {
      check = (async () => {
        const hash = createHash("sha256");
        let size = 0;
        try {
          const object = await this.#data.get(key);
          if (object === null) return false;
          for await (const chunk of object.body) {
            hash.update(chunk);
            size += chunk.byteLength;
          }
        } catch (error) {
          this.#diskFailed(error, `checking ${key}`);
          return false;
        }
        if (size === entry.size && hash.digest("hex") === entry.sha256) {
          entry.verified = true;
          return true;
        }
        if (this.#entries.get(key) === entry) await this.#corrupt(key, "size or checksum mismatch");
        return false;
      })().finally(() => this.#verifying.delete(entry));
      this.#verifying.set(entry, check);
    }
    return check;
  }

  #startDownload(key: string): Download {
    const download = new Download(key, this.#remote, this.#data.tempPath(), {
      onDiskError: (error) => this.#diskFailed(error, `caching ${key}`),
      // Count the download against the budget while it is written; objects too large for it skip the disk.
      reserve: (size) => {
        if (this.#diskIsDown() || !this.#fits(size) || this.#committedBytes + size > this.#maxBytes) return false;
        this.#reservedBytes += size;
        this.#evictIfNeeded().catch((error) => this.#diskFailed(error, "evicting"));
        return true;
      },
      unreserve: (size) => this.#reservedBytes -= size,
    });
    this.#downloads.set(key, download);
    const caching = download.finished.then(async (result) => {
      if (result !== null) {
        await this.#keepCopy(
          key,
          result.etag,
          result.size,
          () => !download.superseded,
          () => Promise.resolve(result),
          download.tempPath,
        );
      }
      if (this.#downloads.get(key) === download) this.#downloads.delete(key);
    }).catch((error) => this.#logger.log("error", "cache download failed", { key, error: String(error) }))
      .finally(() => this.#background.delete(caching));
    this.#background.add(caching);
    download.settled = caching;
    return download;
  }

  /**
   * Records a disk copy of `key` (remote etag `etag`, `size` bytes): room is
   * made first, then `write` fills a temp file (unless `ready` names one
   * already written), which then replaces any older copy — while `isCurrent`
   * says no later write of the key superseded it. Disk errors are logged,
   * never thrown: the remote has the data.
   */
  async #keepCopy(
    key: string,
    etag: string,
    size: number,
    isCurrent: () => boolean,
    write: (temp: string) => Promise<{ size: number; sha256: string }>,
    ready?: string,
  ): Promise<void> {
    const temp = ready ?? this.#data.tempPath();
    if (this.#diskIsDown() || !this.#fits(size)) {
      await Deno.remove(temp).catch(() => {});
      return;
    }
    // Make room before the file lands, so the disk never holds more than the budget.
    this.#reservedBytes += size;
    try {
      await this.#evictIfNeeded();
      // Copies landing at once (many misses) may need more than eviction could free: the remote keeps those.
      if (this.#committedBytes > this.#maxBytes) return;
      const written = await write(temp);
      // File, sidecar and index entry change together, one writer per key at a time.
      await this.#keyLocks.run(key, async () => {
        if (!isCurrent()) return; // a later write's copy wins
        await this.#dropUnlocked(key);
        await this.#data.importFile(temp, key);
        const sidecar: Sidecar = { size: written.size, etag, sha256: written.sha256 };
        await this.#sidecars.put(key, new TextEncoder().encode(JSON.stringify(sidecar)));
        this.#remember(key, sidecar, this.#now(), true);
      });
    } catch (error) {
      this.#diskFailed(error, `caching ${key}`);
      await this.#drop(key).catch(() => {});
    } finally {
      this.#reservedBytes -= size;
      if (isCurrent()) this.#latestWrite.delete(key);
      await Deno.remove(temp).catch(() => {});
    }
  }

  /** Bytes on disk plus bytes about to land. */
  get #committedBytes(): number {
    return this.#usedBytes + this.#reservedBytes;
  }

  /** Objects larger than the low watermark are never cached: they are served from the remote. */
  #fits(size: number): boolean {
    return size <= this.#maxBytes * this.#low;
  }

  #remember(key: string, meta: Sidecar, lastAccess: number, verified: boolean): void {
    this.#entries.set(key, { ...meta, lastAccess, pins: 0, verified });
    this.#usedBytes += meta.size;
  }

  #touch(entry: CacheEntry): void {
    entry.lastAccess = this.#now();
  }

  #drop(key: string): Promise<void> {
    return this.#keyLocks.run(key, () => this.#dropUnlocked(key));
  }

  async #dropUnlocked(key: string): Promise<void> {
    const entry = this.#entries.get(key);
    if (entry !== undefined) {
      this.#entries.delete(key);
      this.#usedBytes -= entry.size;
    }
    await this.#sidecars.delete(key);
    await this.#data.delete(key);
  }

  async #corrupt(key: string, reason: string): Promise<void> {
    this.stats.corruptions++;
    this.#logger.log("error", "cached copy is damaged; dropping it and fetching again", { key, reason });
    await this.#drop(key).catch((error) => this.#diskFailed(error, `dropping ${key}`));
  }

  #diskIsDown(): boolean {
    return this.#now() < this.#diskDownUntil;
  }

  #diskFailed(error: unknown, doing: string): void {
    this.stats.diskErrors++;
    this.#diskDownUntil = this.#now() + this.#diskRetryMs;
    this.#logger.log("error", "disk cache error; serving from S3 for a while", {
      doing,
      error: error instanceof Error ? error.message : String(error),
      retryInMs: this.#diskRetryMs,
    });
  }

  /**
   * Above the high watermark (counting files about to land), drops the least
   * recently read files that nobody is streaming until usage is at the low
   * watermark. Runs one at a time; concurrent callers wait for it.
   */
  /** Evicts down to the low watermark if usage is above the high one (also run by the scheduler). */
  evictIfNeeded(): Promise<void> {
    return this.#evictIfNeeded();
  }

  async #evictIfNeeded(): Promise<void> {
    while (this.#evicting !== null) await this.#evicting;
    if (this.#usedBytes + this.#reservedBytes <= this.#maxBytes * this.#high) return;
    const done = this.#evict();
    this.#evicting = done;
    try {
      await done;
    } finally {
      this.#evicting = null;
    }
  }

  async #evict(): Promise<void> {
    const candidates = [...this.#entries].sort((a, b) => a[1].lastAccess - b[1].lastAccess);
    for (const [key, entry] of candidates) {
      if (this.#usedBytes + this.#reservedBytes <= this.#maxBytes * this.#low) break;
      const evicted = await this.#keyLocks.run(key, async () => {
        if (entry.pins > 0 || this.#entries.get(key) !== entry) return false;
        await this.#dropUnlocked(key);
        return true;
      });
      if (evicted) this.stats.evictions++;
    }
    this.#logger.log("info", "disk cache evicted", { usedBytes: this.#usedBytes, maxBytes: this.#maxBytes });
  }
}

/**
 * One download of a remote object into a temporary file, readable by any
 * number of clients while it is still arriving. When the file cannot be
 * written, readers fetch the rest of their range from the remote.
 */
class Download {
  readonly key: string;
  readonly tempPath: string;
  /** Resolves once the remote answered: its info, or `null` when the object does not exist. */
  readonly ready: Promise<ObjectInfo | null>;
  /** Resolves with what was written when the file is complete; `null` when the download failed or found nothing. */
  readonly finished: Promise<{ size: number; sha256: string; etag: string } | null>;
  info?: ObjectInfo;
  /** Resolves once the finished download has been moved into the cache (or given up). */
  settled: Promise<void> = Promise.resolve();
  /** Set when the key was written while this download ran: its copy must not land. */
  superseded = false;
  #remote: ObjectStore;
  #written = 0;
  #done = false;
  #diskError?: unknown;
  #remoteError?: unknown;
  #waiters: Array<() => void> = [];

  constructor(
    key: string,
    remote: ObjectStore,
    tempPath: string,
    hooks: {
      onDiskError: (error: unknown) => void;
      /** Claims disk budget for an object of `size` bytes; `false` when it must not touch the disk. */
      reserve: (size: number) => boolean;
      unreserve: (size: number) => void;
    },
  ) {
    this.key = key;
    this.tempPath = tempPath;
    this.#remote = remote;
    let ready!: (info: ObjectInfo | null) => void;
    let readyFailed!: (error: unknown) => void;
    this.ready = new Promise((resolve, reject) => {
      ready = resolve;
      readyFailed = reject;
    });
    this.finished = (async () => {
      let object: ObjectBody | null;
      try {
        object = await remote.get(key);
      } catch (error) {
        readyFailed(error);
        return null;
      }
      if (object === null) {
        ready(null);
        return null;
      }
      const { body: _, ...info } = object;
      this.info = info;
      if (!hooks.reserve(info.size)) {
        // Not for the disk: readers fetch their ranges from the remote themselves.
        await object.body.cancel();
        this.#diskError = new Error("not cached");
        this.#done = true;
        ready(info);
        return null;
      }
      try {
        let file: Deno.FsFile | undefined;
        try {
          file = await Deno.open(tempPath, { write: true, createNew: true });
        } catch (error) {
          this.#diskError = error;
          hooks.onDiskError(error);
        }
        ready(info);
        return await this.#pump(object, info, file, hooks.onDiskError);
      } finally {
        hooks.unreserve(info.size);
      }
    })();
  }

  /** Copies the remote body into the temp file, waking readers as bytes land. */
  async #pump(
    object: ObjectBody,
    info: ObjectInfo,
    file: Deno.FsFile | undefined,
    onDiskError: (error: unknown) => void,
  ): Promise<{ size: number; sha256: string; etag: string } | null> {
    const hash = createHash("sha256");
    try {
      for await (const chunk of object.body) {
        hash.update(chunk);
        if (file !== undefined && this.#diskError === undefined) {
          try {
            await writeAll(file, chunk);
          } catch (error) {
            this.#diskError = error;
            onDiskError(error);
          }
        }
        this.#written += chunk.byteLength;
        this.#notify();
        if (this.#diskError !== undefined) break;
      }
      if (this.#diskError === undefined && file !== undefined) await file.sync();
    } catch (error) {
      this.#remoteError = error;
    } finally {
      file?.close();
      this.#done = true;
      this.#notify();
    }
    if (this.#remoteError !== undefined || this.#diskError !== undefined || this.#written !== info.size) {
      // Readers may still hold the file open; unlinking it is safe for them.
      await Deno.remove(this.tempPath).catch(() => {});
      return null;
    }
    return { size: this.#written, sha256: hash.digest("hex"), etag: info.etag };
  }

  /**
   * A stream of `range` of the object, read from the growing file; `null` when
   * the file is no longer (or never was) there.
   */
  async open(range: ByteRange): Promise<ReadableStream<Uint8Array> | null> {
    if (this.#diskError !== undefined) return null;
    let file: Deno.FsFile;
    try {
      file = await Deno.open(this.tempPath, { read: true });
    } catch {
      return null; // moved into the cache already, or the disk failed
    }
    return this.#stream(file, range);
  }

  #stream(opened: Deno.FsFile, range: ByteRange): ReadableStream<Uint8Array> {
    let position = range.start;
    let file: Deno.FsFile | undefined = opened;
    let fallback: ReadableStreamDefaultReader<Uint8Array> | undefined;
    const close = () => {
      file?.close();
      file = undefined;
    };
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        try {
          if (fallback) {
            const { value, done } = await fallback.read();
            if (done) controller.close();
            else controller.enqueue(value);
            return;
          }
          if (position > range.end) {
            close();
            controller.close();
            return;
          }
          while (position >= this.#written && !this.#done) await this.#progress();
          if (position >= this.#written || this.#diskError !== undefined) {
            if (this.#remoteError !== undefined) throw this.#remoteError;
            // The file could not be written past here: fetch the rest directly.
            close();
            const rest = await this.#remote.get(this.key, { range: { start: position, end: range.end } });
            if (rest === null) throw new Error(`${this.key} vanished from the remote store`);
            fallback = rest.body.getReader();
            return;
          }
          if (file === undefined) throw new Error("read after close");
          const length = Math.min(READ_CHUNK, this.#written - position, range.end - position + 1);
          const buffer = new Uint8Array(length);
          await file.seek(position, Deno.SeekMode.Start);
          const read = await file.read(buffer);
          if (read === null) throw new Error(`cache file of ${this.key} ended early`);
          position += read;
          controller.enqueue(buffer.subarray(0, read));
        } catch (error) {
          close();
          controller.error(error);
        }
      },
      cancel: async () => {
        close();
        await fallback?.cancel();
      },
    }, { highWaterMark: 0 });
  }

  #progress(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

async function readSidecar(store: DiskStore, key: string): Promise<Sidecar | null> {
  try {
    const object = await readObjectBytes(store, key, 64 * 1024);
    const value = object && JSON.parse(new TextDecoder().decode(object.bytes));
    if (typeof value?.size === "number" && typeof value.etag === "string" && typeof value.sha256 === "string") {
      return value;
    }
  } catch { /* unreadable: treated as missing */ }
  return null;
}
