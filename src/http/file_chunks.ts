/**
 * Buffers for file bodies the fast lane sends, kept for reuse rather than
 * allocated for each response (each would be memory outside V8's heap, which
 * its collector has to account for and free). A few are kept, about one per
 * file being sent at once.
 *
 * @module
 */

/** Bytes of a chunk: a head and an archive of a few hundred KiB go out in one write. */
export const CHUNK_BYTES = 512 * 1024;
const SPARE_CHUNKS = 64;
const spareChunks: Uint8Array[] = [];

/** A chunk of {@link CHUNK_BYTES}, from the spares when one is there; give it back with {@link giveBackChunk}. */
export function takeChunk(): Uint8Array {
  return spareChunks.pop() ?? new Uint8Array(CHUNK_BYTES);
}

/** Keeps `chunk` (from {@link takeChunk}, no longer used) for the next {@link takeChunk}. */
export function giveBackChunk(chunk: Uint8Array): void {
  if (spareChunks.length < SPARE_CHUNKS) spareChunks.push(chunk);
}
