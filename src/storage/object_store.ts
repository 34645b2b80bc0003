/**
 * The object store contract: keys to immutable-or-CAS-updated blobs. The disk
 * store implements it today; an S3 store and a tiered (disk cache over S3)
 * store implement the same interface.
 *
 * Keys are `/`-separated segments of `[A-Za-z0-9._@+-]`, never starting with
 * `.`; {@link assertValidKey} enforces it so no key can name a path outside the
 * store.
 *
 * @module
 */
import { BadRequestError, ServiceUnavailableError } from "../errors.ts";

/** What is known about a stored object without reading it. */
export interface ObjectInfo {
  key: string;
  /** Size in bytes of the whole object. */
  size: number;
  /** Opaque version tag, changed by every write; used for compare-and-swap. */
  etag: string;
  lastModified: Date;
}

/** An inclusive byte range, as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end: number;
}

/** Options of {@link ObjectStore.get}. */
export interface GetOptions {
  /** Read only this range (the caller validates it against the size). */
  range?: ByteRange;
  /**
   * The etag the caller knows to be current (from a fresh `head`): a cache
   * must not answer with a copy of another version.
   */
  etag?: string;
}

/** An object opened for reading; `body` covers the requested range (or all of it). */
export interface ObjectBody extends ObjectInfo {
  body: ReadableStream<Uint8Array>;
}

/** A complete file on local disk to store; the store reads it and leaves it in place. */
export interface FileBody {
  file: string;
}

/** Bytes to store: a stream (consumed once), a buffer, or a local file. */
export type PutBody = ReadableStream<Uint8Array> | Uint8Array | FileBody;

/** True when `body` names a local file. */
export function isFileBody(body: PutBody): body is FileBody {
  return !(body instanceof Uint8Array) && !(body instanceof ReadableStream);
}

/** Runs `use` with a stream of `body`, closing any file it opened, whatever happens. */
export async function withBodyStream<T>(
  body: ReadableStream<Uint8Array> | FileBody,
  use: (stream: ReadableStream<Uint8Array>) => Promise<T>,
): Promise<T> {
  if (!isFileBody(body)) return await use(body);
  const file = await Deno.open(body.file, { read: true });
  try {
    return await use(file.readable);
  } finally {
    try {
      file.close();
    } catch { /* the stream closed it already */ }
  }
}

/** Conditions and metadata for {@link ObjectStore.put}. */
export interface PutOptions {
  /** `"*"`: create only if no object exists at the key. */
  ifNoneMatch?: "*";
  /** Replace only if the current object's etag equals this. */
  ifMatch?: string;
  /** Media type recorded with the object where the backend keeps one. */
  contentType?: string;
}

/** The backing store cannot be reached right now (timeouts, connection errors, 5xx). Maps to 503. */
export class StorageUnavailableError extends ServiceUnavailableError {
  constructor(detail: string) {
    super(`storage is unavailable: ${detail}`, 5);
  }
}

/** A conditional put lost: the object exists (ifNoneMatch) or changed / vanished (ifMatch). */
export class PreconditionFailedError extends Error {
  constructor(key: string) {
    super(`precondition failed for ${key}`);
    this.name = "PreconditionFailedError";
  }
}

/** A blob store with conditional writes, ranged reads and prefix listing. */
export interface ObjectStore {
  /** Metadata of `key`, or `null` when absent. */
  head(key: string): Promise<ObjectInfo | null>;
  /** Opens `key` (or a range of it), or `null` when absent. */
  get(key: string, options?: GetOptions): Promise<ObjectBody | null>;
  /** Stores `body` at `key` atomically: readers see the old object or the whole new one. */
  put(key: string, body: PutBody, options?: PutOptions): Promise<ObjectInfo>;
  /** Removes `key`; absent keys are not an error. */
  delete(key: string): Promise<void>;
  /** Every object whose key starts with `prefix`, in no particular order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /**
   * The local file holding `key`'s bytes, when this store keeps them on disk
   * and trusts them (a disk cache: a checked copy), so that a hot read can
   * open it without the store; `undefined` otherwise. The file may be gone by
   * the time it is opened (evicted, deleted): the reader then asks the store.
   */
  localFile?(key: string): string | undefined;
  /** Tells the store `key` was read from its {@link localFile} (for least-recently-used eviction). */
  touched?(key: string): void;
}

const SEGMENT = /^[A-Za-z0-9_@+-][A-Za-z0-9._@+-]*$/;

/** Longest key, and longest segment (a file name on disk), a store accepts. */
export const MAX_KEY_LENGTH = 1024;
export const MAX_SEGMENT_LENGTH = 255;

/** A key built from a name a client sent is longer than a store can hold. Maps to 400. */
export class KeyTooLongError extends BadRequestError {
  constructor(key: string) {
    super(`the name is too long to store (${key.length} characters in its storage key)`);
  }
}

/**
 * Throws unless `key` is a well-formed object key (see module doc).
 *
 * @throws {KeyTooLongError} when it is well-formed but longer than {@link MAX_KEY_LENGTH}, or has a segment longer
 *   than {@link MAX_SEGMENT_LENGTH} (names from clients get there: a 400, not a failure of the store).
 */
export function assertValidKey(key: string): void {
  const segments = key.split("/");
  if (key.length === 0 || !segments.every((s) => SEGMENT.test(s))) {
    throw new Error(`invalid object key: ${JSON.stringify(key.slice(0, 200))}`);
  }
  if (key.length > MAX_KEY_LENGTH || segments.some((s) => s.length > MAX_SEGMENT_LENGTH)) {
    throw new KeyTooLongError(key);
  }
}

/**
 * Moves the object at `from` to `to` (streamed: a copy, then a delete of
 * `from`); false when there is nothing at `from`.
 */
export async function moveObject(store: ObjectStore, from: string, to: string, contentType?: string): Promise<boolean> {
  const object = await store.get(from);
  if (object === null) return false;
  await store.put(to, object.body, contentType === undefined ? {} : { contentType });
  await store.delete(from);
  return true;
}

/** Reads a whole small object into memory, refusing objects over `maxBytes`. */
export async function readObjectBytes(
  store: ObjectStore,
  key: string,
  maxBytes = 16 * 1024 * 1024,
  etag?: string,
): Promise<{ bytes: Uint8Array<ArrayBuffer>; info: ObjectInfo } | null> {
  const object = await store.get(key, etag === undefined ? {} : { etag });
  if (object === null) return null;
  if (object.size > maxBytes) {
    await object.body.cancel();
    throw new Error(`object ${key} is ${object.size} bytes, over the ${maxBytes}-byte limit for in-memory reads`);
  }
  const bytes = new Uint8Array(await new Response(object.body).arrayBuffer());
  const { body: _body, ...info } = object;
  return { bytes, info };
}
