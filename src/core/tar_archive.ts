/**
 * Safe reading of gzip'd tar archives (npm tarballs, sdists): one streaming
 * pass from disk that refuses, before anything is stored, entries escaping
 * the archive's root directory (absolute paths, `..`), links pointing outside
 * it, entries inside a symlinked directory, special files, duplicate and
 * case- or Unicode-colliding paths, too many entries, and archives that
 * inflate beyond the limits (the inflated bytes are counted as they come,
 * never taken from headers).
 *
 * @module
 */
import { createTarDecoder } from "modern-tar";
import { PayloadTooLargeError, RegistryError, UnprocessableError } from "../errors.ts";
import { PathTree, resolveLink, unsafeName } from "./zip_paths.ts";
import type { ArchiveLimits } from "./zip_scan.ts";
import { concatBytes, readBounded } from "../util/bytes.ts";

/** One entry, as a visitor sees it. */
export interface TarEntry {
  /** The path inside the archive, without a trailing `/`. */
  path: string;
  type: "file" | "directory" | "symlink" | "link";
  /** Bytes of a file's content (0 for the others). */
  size: number;
  /** Target of a link. */
  linkname?: string;
}

/** What the scan counted. */
export interface TarScan {
  /** Every entry, directories and links included. */
  entries: number;
  /** Regular files. */
  files: number;
  /** Sum of the files' sizes. */
  unpackedSize: number;
}

/** Options of {@link scanTarGz}. */
export interface TarScanOptions {
  /** The directory every entry must lie in (npm: `package`). */
  root: string;
  limits: Pick<ArchiveLimits, "maxEntries" | "maxUncompressedBytes" | "maxCompressionRatio">;
  /** What the archive is called in error messages ("tarball"). */
  label?: string;
  /**
   * Called for every entry with its content (empty for non-files): read it
   * or leave it (it is skipped). Throw a {@link RegistryError} to refuse.
   */
  visit?: (entry: TarEntry, body: ReadableStream<Uint8Array>) => Promise<void> | void;
}

/** Input is fed to the inflater in slices this small, so one slice cannot inflate to more than ~16 MiB at once. */
const INFLATE_SLICE_BYTES = 16 * 1024;
const RATIO_FLOOR_BYTES = 1024 * 1024;

/**
 * Reads the gzip'd tar at `path` once, checking every entry (see the module
 * documentation), and hands each to `visit`.
 *
 * @throws {UnprocessableError} naming the first problem found.
 * @throws {PayloadTooLargeError} when the archive has too many entries or inflates too far.
 */
export async function scanTarGz(path: string, options: TarScanOptions): Promise<TarScan> {
  const label = options.label ?? "archive";
  const file = await Deno.open(path, { read: true });
  const compressedSize = (await file.stat()).size;
  const magic = new Uint8Array(2);
  const read = await file.read(magic);
  await file.seek(0, Deno.SeekMode.Start);
  if (read !== 2 || magic[0] !== 0x1f || magic[1] !== 0x8b) {
    file.close();
    throw new UnprocessableError(`the ${label} is not gzip-compressed (a gzip'd tar is expected)`);
  }
  const { limits } = options;
  const maxInflated = Math.min(
    limits.maxUncompressedBytes,
    Math.max(RATIO_FLOOR_BYTES, compressedSize * limits.maxCompressionRatio),
  );
  const tooLarge = () =>
    maxInflated === limits.maxUncompressedBytes
      ? new PayloadTooLargeError(
        `the ${label} inflates to more than ${limits.maxUncompressedBytes} bytes (REGISTRY_MAX_UNCOMPRESSED_BYTES)`,
      )
      : new UnprocessableError(
        `the ${label} inflates more than ${limits.maxCompressionRatio} times its size, over what this registry ` +
          `accepts (REGISTRY_MAX_COMPRESSION_RATIO)`,
      );
  let inflated = 0;
  let stage = "gzip";
  const entries = file.readable
    .pipeThrough(sliced(INFLATE_SLICE_BYTES))
    .pipeThrough(new DecompressionStream("gzip"))
    .pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          inflated += chunk.byteLength;
          if (inflated > maxInflated) throw tooLarge();
          stage = "tar";
          controller.enqueue(chunk);
        },
      }),
    )
    .pipeThrough(createTarDecoder({ strict: true }));
  const reader = entries.getReader();
  const checker = new EntryChecker(options.root, label);
  const scan: TarScan = { entries: 0, files: 0, unpackedSize: 0 };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (++scan.entries > limits.maxEntries) {
        await value.body.cancel();
        throw new PayloadTooLargeError(
          `the ${label} has more than ${limits.maxEntries} entries (REGISTRY_MAX_ARCHIVE_ENTRIES)`,
        );
      }
      let entry: TarEntry;
      try {
        entry = checker.check(value.header);
      } catch (error) {
        await value.body.cancel();
        throw error;
      }
      if (entry.type === "file") {
        scan.files++;
        scan.unpackedSize += entry.size;
      }
      try {
        await options.visit?.(entry, value.body);
      } finally {
        await value.body.cancel().catch(() => {});
      }
    }
    if (scan.entries === 0) throw new UnprocessableError(`the ${label} is empty`);
    checker.checkLinks();
    return scan;
  } catch (error) {
    await reader.cancel().catch(() => {});
    if (error instanceof RegistryError) throw error;
    const what = stage === "gzip" ? "valid gzip data" : "a valid tar archive";
    throw new UnprocessableError(`the ${label} is not ${what}: ${(error as Error)?.message ?? error}`);
  } finally {
    try {
      file.close();
    } catch { /* the stream closed it */ }
  }
}

/** The path and link rules, applied entry by entry and to the links at the end. */
class EntryChecker {
  readonly #root: string;
  readonly #label: string;
  /** Case collisions and entries inside files or symlinks, whatever the order (shared with the zip checks). */
  readonly #tree = new PathTree();
  readonly #files = new Set<string>();
  readonly #symlinks = new Map<string, string>();
  readonly #hardlinks = new Map<string, string>();

  constructor(root: string, label: string) {
    this.#root = root;
    this.#label = label;
  }

  check(header: { name: string; type?: string; size: number; linkname?: string }): TarEntry {
    const path = header.name.replace(/\/+$/, "");
    const type = entryType(header.type);
    if (type === null) {
      throw this.#refuse(`entry "${path}" is a ${header.type}; only files, directories and links are allowed`);
    }
    // deno-lint-ignore no-control-regex
    const unsafe = unsafeName(path) ?? (/[\u0001-\u001f]/.test(path) ? "control character" : null);
    if (unsafe !== null) throw this.#refuse(`entry "${path}" is not a safe relative path (${unsafe})`);
    const segments = path.split("/");
    if (segments[0] !== this.#root || (segments.length === 1 && type !== "directory")) {
      throw this.#refuse(`entry "${path}" lies outside "${this.#root}/"`);
    }
    if (type !== "directory") {
      if (this.#files.has(path)) throw this.#refuse(`entry "${path}" appears more than once`);
      this.#files.add(path);
    }
    const problem = this.#tree.add({ name: path, type: type === "link" ? "file" : type, size: header.size });
    if (problem !== null) throw this.#refuse(problem);
    const linkname = header.linkname ?? "";
    if (type === "symlink") this.#symlinks.set(path, linkname);
    if (type === "link") this.#hardlinks.set(path, linkname);
    return { path, type, size: type === "file" ? header.size : 0, ...(type === "file" ? {} : { linkname }) };
  }

  /**
   * Every link must resolve inside the root, never climbing out of it on the
   * way (clients strip it when they extract): symlinks relative to their
   * directory, hard links to the archive.
   */
  checkLinks(): void {
    for (const [path, target] of this.#symlinks) {
      if (resolveLink(path, target, this.#symlinks, this.#root) === null) {
        throw this.#refuse(`symlink "${path}" points outside "${this.#root}/" ("${target}")`);
      }
    }
    for (const [path, target] of this.#hardlinks) {
      if (!this.#files.has(target.replace(/\/+$/, ""))) {
        throw this.#refuse(`hard link "${path}" must point to a file inside "${this.#root}/" ("${target}")`);
      }
    }
  }

  #refuse(problem: string): UnprocessableError {
    return new UnprocessableError(`${this.#label} ${problem}`);
  }
}

function entryType(type: string | undefined): TarEntry["type"] | null {
  switch (type ?? "file") {
    case "file":
      return "file";
    case "directory":
      return "directory";
    case "symlink":
      return "symlink";
    case "link":
      return "link";
    default:
      return null;
  }
}

/** Splits chunks into slices of at most `size` bytes. */
function sliced(size: number): TransformStream<Uint8Array, Uint8Array<ArrayBuffer>> {
  return new TransformStream<Uint8Array, Uint8Array<ArrayBuffer>>({
    transform(chunk, controller) {
      for (let offset = 0; offset < chunk.byteLength; offset += size) {
        controller.enqueue(chunk.slice(offset, offset + size));
      }
    },
  });
}

/**
 * Reads a whole entry body of at most `maxBytes` (counting what actually
 * arrives), or with `truncate` its first `maxBytes`.
 *
 * @throws {UnprocessableError} when the body is larger and not to be truncated.
 */
export async function readEntryBytes(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
  label: string,
  truncate = false,
): Promise<Uint8Array<ArrayBuffer>> {
  if (!truncate) {
    return await readBounded(
      body,
      maxBytes,
      () => new UnprocessableError(`"${label}" is larger than ${maxBytes} bytes`),
    );
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    const room = maxBytes - size;
    chunks.push(chunk.byteLength > room ? chunk.subarray(0, room) : chunk);
    size += Math.min(chunk.byteLength, room);
    if (size === maxBytes) break;
  }
  return concatBytes(chunks, size);
}
