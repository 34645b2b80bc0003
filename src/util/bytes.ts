/**
 * Joining byte chunks read from a stream.
 *
 * @module
 */

/** `chunks` joined into one new array (`size` is their total length, computed when not given). */
export function concatBytes(
  chunks: readonly Uint8Array[],
  size: number = chunks.reduce((n, chunk) => n + chunk.byteLength, 0),
): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
