/**
 * Joining byte chunks read from a stream.
 *
 * @module
 */
import { PayloadTooLargeError } from "../errors.ts";

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

/**
 * Reads a body (or part) into memory, refusing more than `maxBytes` as it
 * arrives: never buffers more than the limit, whatever the client declared.
 *
 * @throws the error `tooLarge` makes, once more than `maxBytes` arrived.
 */
export async function readBounded(
  source: AsyncIterable<Uint8Array> | null,
  maxBytes: number,
  tooLarge: () => Error = () => new PayloadTooLargeError(`the body is over the ${maxBytes}-byte limit`),
): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of source ?? []) {
    size += chunk.byteLength;
    if (size > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  return concatBytes(chunks, size);
}
