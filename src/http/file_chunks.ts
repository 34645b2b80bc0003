/**
 * Buffers for file bodies the fast lane sends, kept for reuse: allocating one
 * per response (memory outside V8's heap) made the collector run often enough
 * under load to show in the slowest reads. A few are kept, about one per file
 * being sent at once.
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
