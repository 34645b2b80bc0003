/**
 * {@link ObjectStore} on a local directory. Every write goes to a temporary
 * file, is fsynced, then renamed (or hard-linked, for create-only writes) into
 * place and the directory fsynced: a crash leaves the old object or the whole
 * new one. Several processes may share the directory (the server beside
 * `main.ts token` or `main.ts sync`): each writes its temporary files in a
 * scratch directory of its own, and compare-and-swap holds a lock on the
 * object's file, so it is atomic across processes too.
 *
 * A write that finds the disk full (or over quota) fails with
 * {@link InsufficientStorageError} and leaves nothing behind.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { dirname, join, relative, sep as SEPARATOR } from "node:path";
import { InsufficientStorageError } from "../errors.ts";
import { bytesStream } from "../util/bytes_stream.ts";
import { KeyedMutex } from "../util/keyed_mutex.ts";
import {
  assertValidKey,
  type GetOptions,
  type ObjectBody,
  type ObjectInfo,
  type ObjectStore,
  PreconditionFailedError,
  type PutBody,
  type PutOptions,
  withBodyStream,
} from "./object_store.ts";
import { ScratchDir } from "./scratch_dir.ts";

/** Writes `bytes` to `file` in full. A seam: tests pass one that fails as a full disk would. */
export type ChunkWriter = (file: Deno.FsFile, bytes: Uint8Array) => Promise<void>;

/** Objects up to this size are read whole, at once, by {@link DiskStore.get}. */
const WHOLE_READ_BYTES = 128 * 1024;

/** Options of a {@link DiskStore}. */
export interface DiskStoreOptions {
  /** How bytes reach temporary files (default {@link writeAll}). */
  writeChunk?: ChunkWriter;
}

/** An {@link ObjectStore} keeping objects as files under `root`. */
export class DiskStore implements ObjectStore {
  readonly root: string;
  /** Parent of the scratch directories of every process using this store. */
  readonly tmpDir: string;
  readonly #writeChunk: ChunkWriter;
  #scratch: ScratchDir | null = null;
  #locks = new KeyedMutex();
  #lastMtime = 0;

  /** `root` holds the objects; `tmpDir` (same filesystem) holds writes in progress. */
  constructor(root: string, tmpDir: string, options: DiskStoreOptions = {}) {
    this.root = root;
    this.tmpDir = tmpDir;
    this.#writeChunk = options.writeChunk ?? writeAll;
  }

  /**
   * Creates the directories and claims a scratch directory for this store's
   * writes, removing those of processes that have exited (never those of a
   * live one). Idempotent; {@link close} gives the claim up.
   */
  async init(): Promise<void> {
    await Deno.mkdir(this.root, { recursive: true });
    this.#scratch ??= await ScratchDir.claim(this.tmpDir);
  }

  /** Removes this store's scratch directory (idempotent). Writes in progress fail. */
  async close(): Promise<void> {
    const scratch = this.#scratch;
    this.#scratch = null;
    await scratch?.release();
  }

  /** This store's own scratch directory (after {@link init}). */
  get scratchDir(): string {
    if (this.#scratch === null) throw new Error(`the store at ${this.root} is not open (call init())`);
    return this.#scratch.path;
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const path = this.#path(key);
    try {
      const stat = await Deno.stat(path);
      return stat.isFile ? toInfo(key, stat) : null;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return null;
      throw error;
    }
  }

  /**
   * The object, or a range of it. The file is opened and examined with
   * synchronous calls, and an object of at most {@link WHOLE_READ_BYTES} is
   * read whole the same way: from the page cache each costs microseconds,
   * where an asynchronous call costs a trip through Deno's thread pool
   * (nginx, too, reads files in its event loop). Larger objects are streamed.
   */
  get(key: string, options: GetOptions = {}): Promise<ObjectBody | null> {
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(this.#path(key), { read: true });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return Promise.resolve(null);
      return Promise.reject(error);
    }
    try {
      const stat = file.statSync();
      if (!stat.isFile) {
        file.close();
        return Promise.resolve(null);
      }
      const info = toInfo(key, stat);
      if (options.range === undefined) {
        const body = wholeFileBody(file, info.size);
        return Promise.resolve(
          body instanceof Uint8Array ? { ...info, size: body.byteLength, body: bytesStream(body) } : { ...info, body },
        );
      }
      const { start, end } = options.range;
      if (start > 0) file.seekSync(start, Deno.SeekMode.Start);
      // To the end of the file: Deno's own file stream, which its HTTP server copies to the socket without JavaScript.
      const body = end >= info.size - 1 ? file.readable : fileRangeStream(file, Math.max(0, end - start + 1));
      return Promise.resolve({ ...info, body });
    } catch (error) {
      file.close();
      return Promise.reject(error);
    }
  }

  async put(key: string, body: PutBody, options: PutOptions = {}): Promise<ObjectInfo> {
    const path = this.#path(key);
    return await asInsufficientStorage(`storing ${key.split("/").pop()}`, async () => {
      const temp = await this.#writeTemp(body);
      try {
        await this.#ensureDirectory(dirname(path));
        return await this.#locks.run(key, async () => {
          if (options.ifNoneMatch === "*") {
            try {
              await Deno.link(temp, path);
            } catch (error) {
              if (error instanceof Deno.errors.AlreadyExists) throw new PreconditionFailedError(key);
              throw error;
            }
            await Deno.remove(temp);
          } else if (options.ifMatch !== undefined) {
            await this.#replaceIfMatch(key, path, temp, options.ifMatch);
          } else {
            await Deno.rename(temp, path);
          }
          await syncDirectory(dirname(path));
          return toInfo(key, await Deno.stat(path));
        });
      } finally {
        await Deno.remove(temp).catch(ignoreNotFound);
      }
    });
  }

  /**
   * Renames `temp` over `path` if the object there still has etag `etag`,
   * holding a lock on the object's file meanwhile so that no other process
   * swaps it between the check and the rename.
   */
  async #replaceIfMatch(key: string, path: string, temp: string, etag: string): Promise<void> {
    for (;;) {
      let current: Deno.FsFile;
      try {
        current = await Deno.open(path, { read: true });
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) throw new PreconditionFailedError(key);
        throw error;
      }
      try {
        await current.lock(true);
        const locked = await current.stat();
        const atPath = await Deno.stat(path).catch((error) => {
          if (error instanceof Deno.errors.NotFound) throw new PreconditionFailedError(key);
          throw error;
        });
        if (atPath.ino !== locked.ino || atPath.dev !== locked.dev) continue; // replaced while we waited: check the new one
        if (toInfo(key, locked).etag !== etag) throw new PreconditionFailedError(key);
        // Another writer's clock (another worker's or process's) may be a millisecond behind: the new version
        // must look newer, or a later version could repeat an etag already seen.
        const written = await Deno.stat(temp);
        const replaced = locked.mtime?.getTime() ?? 0;
        if ((written.mtime?.getTime() ?? 0) <= replaced) {
          await Deno.utime(temp, new Date(replaced + 1), new Date(replaced + 1));
        }
        await Deno.rename(temp, path);
        return;
      } finally {
        current.close(); // releases the lock
      }
    }
  }

  localFile(key: string): string {
    return this.#path(key);
  }

  /** A fresh path in this store's scratch directory, for a file later moved in with {@link importFile}. */
  tempPath(): string {
    return join(this.scratchDir, crypto.randomUUID());
  }

  /** Moves a complete, fsynced file from {@link tempPath} to `key` (a rename: no copy). */
  async importFile(tempFile: string, key: string): Promise<ObjectInfo> {
    const path = this.#path(key);
    return await asInsufficientStorage(`storing ${key.split("/").pop()}`, async () => {
      await this.#ensureDirectory(dirname(path));
      await Deno.rename(tempFile, path);
      await syncDirectory(dirname(path));
      return toInfo(key, await Deno.stat(path));
    });
  }

  async delete(key: string): Promise<void> {
    await Deno.remove(this.#path(key)).catch(ignoreNotFound);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const base = prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/")) : "";
    if (base !== "") assertValidKey(base);
    yield* this.#walk(join(this.root, base), prefix);
  }

  async *#walk(dir: string, prefix: string): AsyncIterable<ObjectInfo> {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      const key = relative(this.root, path).split(SEPARATOR).join("/");
      if (entry.isDirectory) {
        if (key.startsWith(prefix) || prefix.startsWith(key + "/")) yield* this.#walk(path, prefix);
      } else if (entry.isFile && key.startsWith(prefix)) {
        const info = await this.head(key);
        if (info) yield info;
      }
    }
  }

  async #writeTemp(body: PutBody): Promise<string> {
    const temp = this.tempPath();
    const file = await Deno.open(temp, { write: true, createNew: true });
    try {
      if (body instanceof Uint8Array) {
        await this.#writeChunk(file, body);
      } else {
        await withBodyStream(body, async (stream) => {
          for await (const chunk of stream) await this.#writeChunk(file, chunk);
        });
      }
      // A strictly increasing mtime makes every write's etag unique, even
      // when a later file reuses an inode number within the same millisecond.
      const mtime = this.#nextMtime();
      await file.utime(mtime, mtime);
      await file.sync();
    } catch (error) {
      file.close();
      await Deno.remove(temp).catch(ignoreNotFound);
      throw error;
    }
    file.close();
    return temp;
  }

  /** Creates `dir` (under the root) and fsyncs the parent of each directory created, so the path survives a crash. */
  async #ensureDirectory(dir: string): Promise<void> {
    const missing: string[] = [];
    for (let current = dir; current.startsWith(this.root + SEPARATOR); current = dirname(current)) {
      try {
        await Deno.stat(current);
        break;
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
        missing.push(current);
      }
    }
    if (missing.length === 0) return;
    await Deno.mkdir(dir, { recursive: true });
    for (const created of missing.reverse()) await syncDirectory(dirname(created));
  }

  #nextMtime(): Date {
    this.#lastMtime = Math.max(Date.now(), this.#lastMtime + 1);
    return new Date(this.#lastMtime);
  }

  #path(key: string): string {
    assertValidKey(key);
    const path = join(this.root, ...key.split("/"));
    if (!path.startsWith(this.root + SEPARATOR)) throw new Error(`object key escapes the store: ${key}`);
    return path;
  }
}

/**
 * Writes every byte of `bytes` to `file`, with synchronous calls (to the page
 * cache, as nginx writes request bodies). A body read from the network stays
 * linear in time only if nothing asynchronous runs between its reads: Deno's
 * HTTP server, read more slowly than the client sends, drains its body buffer
 * in time that grows with the backlog (a 256 MiB chunked upload took 24 s
 * with an awaited write per chunk, 1 s with these).
 */
export function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  try {
    for (let written = 0; written < bytes.length;) written += file.writeSync(bytes.subarray(written));
    return Promise.resolve();
  } catch (error) {
    return Promise.reject(error);
  }
}

/** The disk is full or the quota is used up (as opposed to other I/O errors). */
function isOutOfSpace(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}

/** Runs `work`, turning a full disk into {@link InsufficientStorageError} (`doing` says what failed). */
export async function asInsufficientStorage<T>(doing: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!isOutOfSpace(error)) throw error;
    throw new InsufficientStorageError(`the server is out of disk space (${doing}); nothing was kept`);
  }
}

/**
 * Writes `source` to a new file at `path`, computing its size and SHA-256 as
 * it goes; with `sync`, fsyncs it. Past `maxBytes`, `tooLarge()` is thrown.
 * On any failure the file is removed.
 */
export async function writeHashedFile(
  path: string,
  source: AsyncIterable<Uint8Array>,
  options: { maxBytes?: number; tooLarge?: () => Error; sync?: boolean; writeChunk?: ChunkWriter } = {},
): Promise<{ size: number; sha256: string }> {
  const writeChunk = options.writeChunk ?? writeAll;
  const file = await Deno.open(path, { write: true, createNew: true });
  const hash = createHash("sha256");
  let size = 0;
  try {
    for await (const chunk of source) {
      size += chunk.byteLength;
      if (options.maxBytes !== undefined && size > options.maxBytes) {
        throw options.tooLarge?.() ?? new Error(`more than ${options.maxBytes} bytes`);
      }
      hash.update(chunk);
      await writeChunk(file, chunk);
    }
    if (options.sync) await file.sync();
  } catch (error) {
    file.close();
    await Deno.remove(path).catch(() => {});
    throw error;
  }
  file.close();
  return { size, sha256: hash.digest("hex") };
}

/** Fsyncs a directory so a rename or link in it survives a crash. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await Deno.open(dir, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}

/**
 * All of an open `file` of `size` bytes, to serve: at most
 * {@link WHOLE_READ_BYTES} are read at once with synchronous calls (fewer if
 * the file is shorter) and the file is closed; a larger file is Deno's own
 * file stream, which its HTTP server copies to the socket without JavaScript
 * and which closes the file when done.
 */
export function wholeFileBody(file: Deno.FsFile, size: number): Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array> {
  if (size > WHOLE_READ_BYTES) return file.readable;
  try {
    return readWholeSync(file, size);
  } finally {
    file.close();
  }
}

/** Up to `size` bytes from the start of `file` (fewer if it is shorter). */
function readWholeSync(file: Deno.FsFile, size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  let filled = 0;
  while (filled < size) {
    const read = file.readSync(bytes.subarray(filled));
    if (read === null) break;
    filled += read;
  }
  return filled === size ? bytes : bytes.slice(0, filled);
}

/**
 * A stream of the next `length` bytes of an open file, closing the file when
 * the stream ends, errors or is cancelled.
 */
export function fileRangeStream(file: Deno.FsFile, length: number): ReadableStream<Uint8Array> {
  let remaining = length;
  let closed = false;
  const close = () => {
    if (!closed) {
      closed = true;
      file.close();
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (remaining <= 0) {
        close();
        controller.close();
        return;
      }
      const buffer = new Uint8Array(Math.min(remaining, 256 * 1024));
      try {
        const read = await file.read(buffer);
        if (read === null) {
          close();
          controller.error(new Error("file ended before the expected length"));
          return;
        }
        remaining -= read;
        controller.enqueue(buffer.subarray(0, read));
      } catch (error) {
        close();
        controller.error(error);
      }
    },
    cancel() {
      close();
    },
  }, { highWaterMark: 0 });
}

function toInfo(key: string, stat: Deno.FileInfo): ObjectInfo {
  const mtime = stat.mtime ?? new Date(0);
  return {
    key,
    size: stat.size,
    etag: `"${stat.size.toString(16)}-${mtime.getTime().toString(16)}-${(stat.ino ?? 0).toString(16)}"`,
    lastModified: mtime,
  };
}

function ignoreNotFound(error: unknown): void {
  if (!(error instanceof Deno.errors.NotFound)) throw error;
}
