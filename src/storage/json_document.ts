/**
 * JSON documents in an {@link ObjectStore}, updated with compare-and-swap so
 * concurrent writers never lose each other's changes.
 *
 * @module
 */
import { type ObjectStore, PreconditionFailedError, readObjectBytes, StorageUnavailableError } from "./object_store.ts";

/** A parsed document and the etag it was read at. */
export interface VersionedDocument<T> {
  value: T;
  etag: string;
}

/**
 * Reads and parses the JSON document at `key`, or `null` when absent. `etag`,
 * when known from a fresh `head`, keeps caches from answering with an older version.
 */
export async function readJsonDocument<T>(
  store: ObjectStore,
  key: string,
  etag?: string,
): Promise<VersionedDocument<T> | null> {
  const object = await readObjectBytes(store, key, undefined, etag);
  if (object === null) return null;
  return { value: JSON.parse(new TextDecoder().decode(object.bytes)) as T, etag: object.info.etag };
}

/** Raised when a document could not be updated because writers kept racing. */
export class ContentionError extends Error {
  constructor(key: string, attempts: number) {
    super(`gave up updating ${key} after ${attempts} conflicting attempts`);
    this.name = "ContentionError";
  }
}

/**
 * Applies `mutate` to the document at `key` (`null` when absent) and writes the
 * result only if nobody changed the document meanwhile, retrying on conflict.
 * `mutate` must be idempotent: after a write whose answer was lost, it runs
 * again on a document that may already hold its change.
 * `mutate` may throw to abort, or return `undefined` to leave the document as
 * it is. Returns the document as stored.
 *
 * @example
 * await updateJsonDocument<{ n: number }>(store, "counter.json", (doc) => ({ n: (doc?.n ?? 0) + 1 }));
 */
export async function updateJsonDocument<T>(
  store: ObjectStore,
  key: string,
  mutate: (current: T | null) => T | undefined,
  maxAttempts = 20,
): Promise<VersionedDocument<T>> {
  let transientFailures = 0;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    // Ask the source of truth for the current etag, so a cache cannot hand us an old version.
    const head = await store.head(key);
    const current = head === null ? null : await readJsonDocument<T>(store, key, head.etag);
    const next = mutate(current?.value ?? null);
    if (next === undefined) {
      if (current === null) throw new Error(`mutation of absent document ${key} returned nothing`);
      return current;
    }
    const bytes = new TextEncoder().encode(JSON.stringify(next));
    try {
      const info = await store.put(
        key,
        bytes,
        current === null
          ? { ifNoneMatch: "*", contentType: "application/json" }
          : { ifMatch: current.etag, contentType: "application/json" },
      );
      return { value: next, etag: info.etag };
    } catch (error) {
      // A write whose answer was lost may still have landed: read again and let
      // `mutate` see it (a few times, then give up as unavailable).
      const transient = error instanceof StorageUnavailableError && ++transientFailures <= 2;
      if (!transient && !(error instanceof PreconditionFailedError)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
    }
  }
  throw new ContentionError(key, maxAttempts);
}
