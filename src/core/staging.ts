/**
 * Staging of uploads: a body is streamed to a scratch file while its SHA-256
 * and size are computed, so it can be validated before anything is stored.
 *
 * @module
 */
import type { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { PayloadTooLargeError, RegistryError, ServiceUnavailableError } from "../errors.ts";
import { asInsufficientStorage, type ChunkWriter, writeHashedFile } from "../storage/disk_store.ts";

/** An upload written to a scratch file. Call {@link dispose} when done. */
export interface StagedFile {
  path: string;
  size: number;
  /** Lowercase hex SHA-256 of the bytes. */
  sha256Hex: string;
  /** Removes the scratch file (idempotent). */
  dispose(): Promise<void>;
}

/**
 * Streams `source` into a new file under `dir`, hashing as it goes. Fails with
 * 413 once more than `maxBytes` arrive, 507 when the disk is full, 503 on
 * other disk errors; the file is removed on any failure. `writeChunk` is a
 * seam for tests (see {@link ChunkWriter}).
 */
export async function stageStream(
  dir: string,
  source: AsyncIterable<Uint8Array>,
  maxBytes = Number.MAX_SAFE_INTEGER,
  writeChunk?: ChunkWriter,
): Promise<StagedFile> {
  const path = join(dir, crypto.randomUUID());
  let written;
  try {
    written = await asInsufficientStorage("staging the upload", async () => {
      await Deno.mkdir(dir, { recursive: true });
      return await writeHashedFile(path, source, {
        maxBytes,
        tooLarge: () =>
          new PayloadTooLargeError(`the upload is over the ${maxBytes}-byte limit (REGISTRY_MAX_ARCHIVE_BYTES)`),
        writeChunk,
      });
    });
  } catch (error) {
    if (isDiskError(error)) {
      throw new ServiceUnavailableError(
        `the server cannot store the upload right now (${(error as Error).message})`,
        30,
      );
    }
    throw error;
  }
  return { path, size: written.size, sha256Hex: written.sha256, dispose: () => Deno.remove(path).catch(() => {}) };
}

/** Other file-system failures (I/O errors, a missing or read-only directory), not errors of the client's body. */
function isDiskError(error: unknown): boolean {
  return !(error instanceof RegistryError) && typeof (error as { code?: unknown })?.code === "string" &&
    /^(EIO|EROFS|ENOENT|ENOTDIR|EACCES)$/.test((error as { code: string }).code);
}

/** The digests of the file at `path` under each of `algorithms` (`sha1`, `sha512`, `md5`, ...), read once. */
export async function hashFile<A extends string>(path: string, algorithms: readonly A[]): Promise<Record<A, Buffer>> {
  const hashes = algorithms.map((algorithm) => createHash(algorithm));
  using file = await Deno.open(path, { read: true });
  const buffer = new Uint8Array(64 * 1024);
  for (;;) {
    const read = await file.read(buffer);
    if (read === null) break;
    for (const hash of hashes) hash.update(buffer.subarray(0, read));
  }
  return Object.fromEntries(algorithms.map((algorithm, i) => [algorithm, hashes[i].digest()])) as Record<A, Buffer>;
}
