/**
 * Small helpers for Deno's resources: writing a whole buffer, and closing
 * something that may be closed already.
 *
 * @module
 */

/** Writes every byte of `bytes` to `writer` (a connection, stdout), however many writes it takes. */
export async function writeFully(
  writer: { write(bytes: Uint8Array): Promise<number> },
  bytes: Uint8Array,
): Promise<void> {
  for (let written = 0; written < bytes.byteLength;) written += await writer.write(bytes.subarray(written));
}

/** Closes `closable` (a file, a connection, a listener), which may be closed already. */
export function closeQuietly(closable: { close(): void }): void {
  try {
    closable.close();
  } catch { /* closed already */ }
}
