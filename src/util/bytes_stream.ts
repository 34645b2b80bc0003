/**
 * Bytes held in memory as a stream, without copying them.
 *
 * @module
 */

/**
 * A stream of exactly `bytes`, as one chunk (not copied: the bytes must not
 * change while it is read). Deno's server sends such a chunk as it is, where
 * a `Uint8Array` body is copied for every response.
 */
export function bytesStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      if (bytes.byteLength > 0) controller.enqueue(bytes);
      controller.close();
    },
  });
}
