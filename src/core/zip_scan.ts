/**
 * The zip checks every archive format shares (Swift source archives, wheels
 * and zip sdists, Go module zips). {@link scanZip} walks every entry of a zip
 * on disk with random access, never holding the whole file in memory, and
 * refuses what would be unsafe or ambiguous to extract:
 *
 * - names that are absolute, climb with `..`, use backslashes or drive letters,
 *   or have empty or `.` segments; names that differ only by case (they collide
 *   on case-insensitive file systems); names listed twice; entries lying inside
 *   a file or a symlink; directories whose names do not end with `/`;
 * - symlinks escaping the archive (resolved like the kernel would after
 *   extraction, through other symlinks), encrypted entries, and compression
 *   methods other than stored and deflate;
 * - local headers disagreeing with the central directory (name, flags, method,
 *   CRC-32, sizes), Unicode Path extra fields naming an entry otherwise than
 *   its headers, overlapping entries, data outside the entries' area
 *   ({@link LocalHeaders});
 * - data whose CRC-32 or size differs from its headers: every entry is
 *   inflated, counting the bytes it really produces and stopping one byte past
 *   the size declared. So the total of the declared sizes, checked against its
 *   limit before inflating, bounds the bytes inflated; the compression ratio is
 *   that of the bytes counted. The same pass can hash each entry's data
 *   ({@link ZipScanOptions.sha256}), for formats recording digests.
 *
 * The scan is one pass in central-directory order (and, rarely, a second
 * one: see {@link ZipScanOptions.collect}), in slices of bounded work between
 * which the event loop serves other requests, so a 100,000-entry archive does
 * not stall the server. zip.js reads the central directory (in strict mode:
 * no ambiguous end records, prepended data or duplicate names); the rest is
 * done here, since zip.js's per-entry extraction costs 0.2-0.5 ms per entry
 * and its overlap check keeps every entry's objects (about 7 KiB each) alive.
 *
 * @module
 */
import * as zip from "@zip.js/zip.js";
import { once } from "node:events";
import { createHash } from "node:crypto";
import { crc32, createInflateRaw, inflateRawSync } from "node:zlib";
import { FsFileReader } from "../../plugins/zip_file_reader.ts";
import { PayloadTooLargeError, RegistryError, UnprocessableError } from "../errors.ts";
import { LocalHeaders } from "./zip_local_headers.ts";
import { PathTree, resolveLink, unsafeName } from "./zip_paths.ts";
import { concatBytes } from "../util/bytes.ts";

zip.configure({ useWebWorkers: false });

/** Bounds applied to every zip archive, whatever its format. */
export interface ZipLimits {
  /** Most entries (REGISTRY_MAX_ARCHIVE_ENTRIES). */
  maxEntries: number;
  /** Most bytes all entries together may inflate to (REGISTRY_MAX_UNCOMPRESSED_BYTES). */
  maxUncompressedBytes: number;
  /** Largest ratio of inflated to compressed bytes over the whole archive (REGISTRY_MAX_COMPRESSION_RATIO). */
  maxCompressionRatio: number;
}

/** Bounds applied while inspecting an archive. */
export interface ArchiveLimits extends ZipLimits {
  /** Largest file read whole into memory (a manifest, a go.mod), in bytes. */
  maxManifestBytes: number;
}

/** Defaults: 100k entries, 8 GiB uncompressed, a ratio of 200, 1 MiB per manifest. */
export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  maxEntries: 100_000,
  maxUncompressedBytes: 8 * 1024 ** 3,
  maxCompressionRatio: 200,
  maxManifestBytes: 1024 * 1024,
};

/** One entry of a zip, as the central directory lists it. */
export interface ZipEntryInfo {
  /** Path inside the archive, without the trailing slash of directories. */
  name: string;
  type: "file" | "directory" | "symlink";
  /** Uncompressed size, which the bytes the entry inflates to were checked against. */
  size: number;
}

/** What {@link scanZip} found. */
export interface ZipScan {
  /** Entries by name, in central-directory order. */
  entries: Map<string, ZipEntryInfo>;
  /** Symlink targets by link name; every one resolves inside the archive ({@link resolveLink}). */
  links: Map<string, string>;
  /** The bytes of the entries `collect` chose, by name; for a symlink, those of the file it resolves to. */
  contents: Map<string, Uint8Array>;
  /** With {@link ZipScanOptions.sha256}: the SHA-256 of every entry's data, by name (else empty). */
  sha256: Map<string, Uint8Array>;
}

/** Options of {@link scanZip}. */
export interface ZipScanOptions {
  limits: ZipLimits;
  /** What the archive is, to begin messages with (`"source archive"`). */
  subject: string;
  /** Checks each entry before its data is read; throws a {@link RegistryError} to refuse the archive. */
  checkEntry?(entry: ZipEntryInfo): void;
  /**
   * Whether to keep the bytes of a file, or of the file a symlink resolves to:
   * the most bytes it may have, or `undefined` not to keep them. A symlink's
   * target that went by uncollected is read in a second walk of the archive.
   */
  collect?(entry: ZipEntryInfo): number | undefined;
  /**
   * Also computes the SHA-256 of every entry's data as it is inflated, into
   * {@link ZipScan.sha256}: a file's bytes, a directory's (normally none), a
   * symlink's target.
   */
  sha256?: boolean;
  /**
   * Reads every name as UTF-8, whatever the entry's flags say (the go command
   * does); bytes that are not UTF-8 become U+FFFD, for `checkEntry` to refuse.
   * By default, names without the UTF-8 flag that are not UTF-8 are read as CP437.
   */
  utf8Names?: boolean;
  /** Lets other work run between slices of the scan (default: one cheap asynchronous system call). */
  yieldToEventLoop?: () => Promise<unknown>;
}

/** Symlink targets longer than this are refused, as are targets adding up to more than the total. */
const MAX_SYMLINK_TARGET_BYTES = 4096;
const MAX_SYMLINK_TARGETS_TOTAL_BYTES = 16 * 1024 * 1024;
/** Archives inflating to no more than this are never refused for their compression ratio. */
const RATIO_EXEMPT_BYTES = 1024 * 1024;
/** Entries this small (compressed and not) are inflated in one call; larger ones stream. */
const INFLATE_IN_ONE_CALL_BYTES = 1024 * 1024;
/** Compressed bytes read, and inflated bytes produced, at a time. */
const CHUNK_BYTES = 64 * 1024;
/** Entries, or inflated bytes, processed between two turns of the event loop. */
const ENTRIES_PER_SLICE = 64;
const BYTES_PER_SLICE = 2 * 1024 * 1024;
const COMPRESSION_STORED = 0;
const COMPRESSION_DEFLATE = 8;

/**
 * Checks the zip at `path` entry by entry (see the module documentation),
 * keeping the bytes of the entries `options.collect` chooses.
 *
 * @throws {UnprocessableError} naming the entry and its problem.
 * @throws {PayloadTooLargeError} when the archive has too many entries or expands to too many bytes.
 */
export async function scanZip(path: string, options: ZipScanOptions): Promise<ZipScan> {
  const file = await Deno.open(path, { read: true });
  const reader = new FsFileReader(file);
  // Any asynchronous operation gives the event loop a turn; a timer would cost about 2 ms each time.
  const scan = new Scan(reader, options, options.yieldToEventLoop ?? (() => file.stat()));
  try {
    return await scan.run();
  } catch (error) {
    if (error instanceof RegistryError) throw error;
    throw scan.zipError(error);
  } finally {
    file.close();
  }
}

/** One scan of one archive. */
class Scan {
  readonly #reader: FsFileReader;
  readonly #options: ZipScanOptions;
  readonly #yield: () => Promise<unknown>;
  #entriesSinceYield = 0;
  #bytesSinceYield = 0;
  #declared = 0;
  #compressed = 0;
  #inflated = 0;
  readonly #tree = new PathTree();
  readonly #sha256 = new Map<string, Uint8Array>();
  #localHeaders: LocalHeaders | undefined;

  constructor(reader: FsFileReader, options: ZipScanOptions, yieldToEventLoop: () => Promise<unknown>) {
    this.#reader = reader;
    this.#options = options;
    this.#yield = yieldToEventLoop;
  }

  async run(): Promise<ZipScan> {
    const entries = new Map<string, ZipEntryInfo>();
    const links = new Map<string, string>();
    const contents = new Map<string, Uint8Array>();
    /** The most bytes of their targets to keep, by collected symlink. */
    const collectedLinks = new Map<string, number>();
    let linkBytes = 0;
    const zipReader = this.#zipReader();
    for await (const entry of zipReader.getEntriesGenerator()) {
      // zip.js knows where the central directory starts once it has read it, before the first entry.
      this.#localHeaders ??= new LocalHeaders(
        (offset, length) => this.#reader.readUint8Array(offset, length),
        zipReader.directoryOffset ?? this.#reader.size,
      );
      const info = this.#list(entry, entries);
      const keep = this.#options.collect?.(info);
      if (info.type === "symlink") {
        const target = await this.#read(info, entry, MAX_SYMLINK_TARGET_BYTES);
        linkBytes += target.length;
        if (linkBytes > MAX_SYMLINK_TARGETS_TOTAL_BYTES) {
          throw this.#refuse(`has symlinks whose targets add up to more than ${MAX_SYMLINK_TARGETS_TOTAL_BYTES} bytes`);
        }
        links.set(info.name, new TextDecoder().decode(target));
        if (keep !== undefined) collectedLinks.set(info.name, keep);
      } else {
        const bytes = await this.#read(info, entry, keep);
        if (keep !== undefined) contents.set(info.name, bytes);
      }
    }
    const overlap = this.#localHeaders?.overlap();
    if (overlap) throw this.#refuse(`entry "${overlap.name}" ${overlap.problem}`);
    this.#checkRatio(this.#compressed);
    const targets = await this.#resolveLinks(entries, links, collectedLinks);
    await this.#collectTargets(targets, contents);
    return { entries, links, contents, sha256: this.#sha256 };
  }

  /**
   * Refuses symlinks resolving outside the archive; returns the files the
   * collected ones resolve to, by link name.
   */
  async #resolveLinks(
    entries: Map<string, ZipEntryInfo>,
    links: Map<string, string>,
    collectedLinks: Map<string, number>,
  ): Promise<Map<string, string>> {
    const targets = new Map<string, string>();
    for (const [name, target] of links) {
      const resolved = resolveLink(name, target, links);
      if (resolved === null) {
        throw this.#refuse(`symlink "${name}" points outside the archive or into a loop ("${target}")`);
      }
      const limit = collectedLinks.get(name);
      if (limit !== undefined) {
        const info = entries.get(resolved);
        if (info?.type !== "file") throw this.#refuse(`symlink "${name}" does not point to a file in the archive`);
        if (info.size > limit) throw this.#refuse(this.#overLimit(info, limit));
        targets.set(name, resolved);
      }
      await this.#pace(1, 0);
    }
    return targets;
  }

  #zipReader(): zip.ZipReader<unknown> {
    return new zip.ZipReader(this.#reader, {
      strictness: "strict",
      filenameValidation: "strict",
      ...(this.#options.utf8Names ? { decodeText: decodeNameAsUtf8 } : {}),
    });
  }

  /** Adds an entry to `entries`, checking its name, type and declared size. */
  #list(entry: zip.Entry, entries: Map<string, ZipEntryInfo>): ZipEntryInfo {
    const { maxEntries, maxUncompressedBytes } = this.#options.limits;
    if (entries.size >= maxEntries) {
      throw new PayloadTooLargeError(
        `${this.#options.subject} has more than ${maxEntries} entries (REGISTRY_MAX_ARCHIVE_ENTRIES)`,
      );
    }
    const name = entry.directory ? entry.filename.replace(/\/$/, "") : entry.filename;
    const unsafe = unsafeName(name);
    if (unsafe !== null) throw this.#unsafe(name, unsafe);
    if (entries.has(name)) throw this.#refuse(`lists the entry "${name}" twice`);
    if (entry.directory && !entry.filename.endsWith("/")) {
      // Some tools go by the attributes, others by the name: one would make a directory, the other a file.
      throw this.#refuse(`entry "${name}" is marked a directory, but its name does not end with "/"`);
    }
    if (entry.encrypted) throw this.#refuse(`entry "${name}" is encrypted`);
    if (entry.symlink && entry.directory) throw this.#refuse(`entry "${name}" is both a directory and a symlink`);
    if (entry.compressionMethod !== COMPRESSION_STORED && entry.compressionMethod !== COMPRESSION_DEFLATE) {
      throw this.#refuse(
        `entry "${name}" uses compression method ${entry.compressionMethod}; only stored and deflated entries are accepted`,
      );
    }
    // Entries never inflate past their declared size, so this bounds the bytes inflated too.
    this.#declared += entry.uncompressedSize;
    if (this.#declared > maxUncompressedBytes) throw this.#tooLarge();
    this.#compressed += entry.compressedSize;
    const info: ZipEntryInfo = {
      name,
      type: entry.symlink ? "symlink" : entry.directory ? "directory" : "file",
      size: entry.uncompressedSize,
    };
    const problem = this.#tree.add(info);
    if (problem !== null) throw this.#refuse(problem);
    this.#options.checkEntry?.(info);
    entries.set(name, info);
    return info;
  }

  /**
   * Reads one entry: checks its local header against the central directory,
   * then inflates its data counting the bytes and the CRC-32.
   * Returns the bytes when `keepBytes` (the most it may have) is given, else
   * an empty array.
   */
  async #read(info: ZipEntryInfo, entry: zip.Entry, keepBytes?: number): Promise<Uint8Array> {
    if (keepBytes !== undefined && info.size > keepBytes) throw this.#refuse(this.#overLimit(info, keepBytes));
    const local = await this.#localHeaders!.check(entry, info.name);
    if ("problem" in local) throw this.#refuse(`entry "${info.name}" ${local.problem}`);
    const { dataOffset } = local;
    const kept: Uint8Array[] = [];
    const hash = this.#options.sha256 ? createHash("sha256") : undefined;
    let size = 0;
    let crc = 0;
    try {
      const chunks = this.#chunks(dataOffset, entry.compressedSize);
      // Some zippers mark empty entries deflated without writing even an empty deflate stream.
      const inflated = entry.compressionMethod === COMPRESSION_STORED || entry.compressedSize === 0
        ? chunks
        : entry.compressedSize <= INFLATE_IN_ONE_CALL_BYTES && info.size <= INFLATE_IN_ONE_CALL_BYTES
        ? this.#inflateInOneCall(info, chunks)
        : inflateStreaming(chunks);
      for await (const chunk of inflated) {
        size += chunk.length;
        if (size > info.size) throw this.#refuse(this.#sizeLie(info));
        crc = crc32(chunk, crc);
        hash?.update(chunk);
        if (keepBytes !== undefined) kept.push(chunk);
        this.#inflated += chunk.length;
        // The whole archive's compressed size is not known yet; the file's size bounds it.
        this.#checkRatio(this.#reader.size);
        await this.#pace(0, chunk.length);
      }
    } catch (error) {
      if (error instanceof RegistryError) throw error;
      throw this.#refuse(`entry "${info.name}" is corrupt: ${error instanceof Error ? error.message : error}`);
    }
    if (size !== info.size) throw this.#refuse(this.#sizeLie(info, size));
    const declaredCrc = entry.crc32 ?? 0;
    if (crc >>> 0 !== declaredCrc >>> 0) {
      throw this.#refuse(
        `entry "${info.name}" is corrupt: its CRC-32 is ${hex(crc)}, its headers say ${hex(declaredCrc)}`,
      );
    }
    if (hash !== undefined) this.#sha256.set(info.name, hash.digest());
    await this.#pace(1, 0);
    return concat(kept, size);
  }

  async *#chunks(offset: number, length: number): AsyncGenerator<Uint8Array> {
    for (let done = 0; done < length;) {
      const chunk = await this.#reader.readUint8Array(offset + done, Math.min(CHUNK_BYTES, length - done));
      if (chunk.length === 0) throw new Error(zip.ERR_ENTRY_DATA_OUT_OF_BOUNDS);
      done += chunk.length;
      yield chunk;
    }
  }

  /** Small entries: one synchronous call, which stops one byte past the declared size. */
  async *#inflateInOneCall(info: ZipEntryInfo, chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    const compressed = concat(await Array.fromAsync(chunks));
    try {
      yield inflateRawSync(compressed, { maxOutputLength: info.size + 1 });
    } catch (error) {
      if ((error as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE") throw this.#refuse(this.#sizeLie(info));
      throw error;
    }
  }

  /**
   * The bytes of collected symlinks' targets (by link name), taken from
   * `contents` or, for targets met before anyone knew they were wanted, read
   * in a second walk of the central directory (their data was checked in the first).
   */
  async #collectTargets(targets: Map<string, string>, contents: Map<string, Uint8Array>): Promise<void> {
    const missing = new Set([...targets.values()].filter((target) => !contents.has(target)));
    const found = new Map<string, Uint8Array>();
    if (missing.size > 0) {
      for await (const entry of this.#zipReader().getEntriesGenerator()) {
        await this.#pace(1, 0);
        if (entry.directory || !missing.has(entry.filename)) continue;
        found.set(entry.filename, await entry.getData(new zip.Uint8ArrayWriter(), { checkSignature: true }));
        if (found.size === missing.size) break;
      }
    }
    for (const [link, target] of targets) contents.set(link, contents.get(target) ?? found.get(target)!);
  }

  /** Counts work done; after a slice of it, lets other requests run. */
  async #pace(entries: number, bytes: number): Promise<void> {
    this.#entriesSinceYield += entries;
    this.#bytesSinceYield += bytes;
    if (this.#entriesSinceYield < ENTRIES_PER_SLICE && this.#bytesSinceYield < BYTES_PER_SLICE) return;
    this.#entriesSinceYield = 0;
    this.#bytesSinceYield = 0;
    await this.#yield();
  }

  /** Refuses the archive when the bytes inflated so far exceed `compressed` times the ratio allowed. */
  #checkRatio(compressed: number): void {
    const { maxCompressionRatio } = this.#options.limits;
    if (this.#inflated > RATIO_EXEMPT_BYTES && this.#inflated > compressed * maxCompressionRatio) {
      throw this.#refuse(
        `expands ${Math.round(this.#inflated / Math.max(1, compressed))} times, over the ratio of ` +
          `${maxCompressionRatio} this registry accepts (REGISTRY_MAX_COMPRESSION_RATIO)`,
      );
    }
  }

  #tooLarge(): PayloadTooLargeError {
    const { maxUncompressedBytes } = this.#options.limits;
    return new PayloadTooLargeError(
      `${this.#options.subject} expands to more than ${maxUncompressedBytes} bytes (REGISTRY_MAX_UNCOMPRESSED_BYTES)`,
    );
  }

  #overLimit(info: ZipEntryInfo, limit: number): string {
    return `entry "${info.name}" is ${info.size} bytes, over the ${limit}-byte limit for it`;
  }

  #sizeLie(info: ZipEntryInfo, size?: number): string {
    return size === undefined
      ? `entry "${info.name}" inflates to more than the ${info.size} bytes its headers declare`
      : `entry "${info.name}" inflates to ${size} bytes, not the ${info.size} its headers declare`;
  }

  #refuse(problem: string): UnprocessableError {
    return new UnprocessableError(`${this.#options.subject} ${problem}`);
  }

  #unsafe(name: string, why: string): UnprocessableError {
    return this.#refuse(`entry "${name}" is not a safe relative path (${why})`);
  }

  /** Any other zip.js error, raised while reading the central directory. */
  zipError(error: unknown): UnprocessableError {
    const message = error instanceof Error ? error.message : String(error);
    const details = error as { filename?: unknown; reason?: unknown };
    if (message === zip.ERR_UNSAFE_FILENAME && typeof details.filename === "string") {
      return this.#unsafe(details.filename, unsafeName(details.filename) ?? "refused by the zip reader");
    }
    const reason = typeof details.reason === "string" ? ` (${details.reason})` : "";
    const filename = typeof details.filename === "string" ? ` ("${details.filename}")` : "";
    return this.#refuse(`is not a valid zip file: ${message}${reason}${filename}`);
  }
}

/** Inflates in chunks of at most 64 KiB; the caller may stop reading at any point. */
async function* inflateStreaming(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const inflater = createInflateRaw({ chunkSize: CHUNK_BYTES });
  const stop = new AbortController();
  const feeding = (async () => {
    for await (const chunk of chunks) {
      if (!inflater.write(chunk)) await once(inflater, "drain", { signal: stop.signal });
    }
    inflater.end();
  })();
  feeding.catch((error) => inflater.destroy(error));
  try {
    for await (const chunk of inflater) yield chunk as Uint8Array;
    await feeding;
  } finally {
    stop.abort();
    inflater.destroy();
    await feeding.catch(() => {});
  }
}

/** zip.js `decodeText` reading names as UTF-8 (and leaving comments to zip.js). */
function decodeNameAsUtf8(value: Uint8Array, _encoding: string, type: "filename" | "comment"): string | undefined {
  return type === "filename" ? new TextDecoder().decode(value) : undefined;
}

function concat(chunks: Uint8Array[], size?: number): Uint8Array {
  return chunks.length === 1 ? chunks[0] : concatBytes(chunks, size);
}

function hex(crc: number): string {
  return (crc >>> 0).toString(16).padStart(8, "0");
}
