/**
 * A disk that fills up, for tests that cannot mount a small file system: a
 * {@link ChunkWriter} that writes while its budget lasts, then fails the way
 * Deno reports a full disk (an `Error` with `code: "ENOSPC"`, as `write(2)`
 * answers on a real full tmpfs).
 *
 * @module
 */
import { type ChunkWriter, writeAll } from "../../src/storage/disk_store.ts";

/** A writer over a budget of `freeBytes`; `freeBytes` can be changed (space freed or used up). */
export function fullDisk(freeBytes: number): { writeChunk: ChunkWriter; freeBytes: number } {
  const disk = {
    freeBytes,
    writeChunk: async (file: Deno.FsFile, bytes: Uint8Array) => {
      if (bytes.byteLength > disk.freeBytes) {
        await writeAll(file, bytes.subarray(0, disk.freeBytes));
        disk.freeBytes = 0;
        throw Object.assign(new Error("No space left on device (os error 28)"), { code: "ENOSPC" });
      }
      disk.freeBytes -= bytes.byteLength;
      await writeAll(file, bytes);
    },
  };
  return disk;
}
