/**
 * Source archive validation: reads a zip's central directory from disk with
 * random access (never the whole file into memory), checks the layout SwiftPM
 * requires and extracts the manifests.
 *
 * @module
 */
import * as zip from "@zip.js/zip.js";
import { FsFileReader } from "../../plugins/zip_file_reader.ts";
import { PayloadTooLargeError, RegistryError, UnprocessableError } from "../errors.ts";
import { declaredToolsVersion, MANIFEST_FILENAME } from "../formats/swift/manifest.ts";

zip.configure({ useWebWorkers: false });

/** A manifest found directly inside the archive's top-level directory. */
export interface ExtractedManifest {
  /** `Package.swift` or `Package@swift-X.swift`. */
  filename: string;
  /** The swift version in an alternate's file name, `null` for `Package.swift`. */
  swiftVersion: string | null;
  /** The tools version the file declares on its first line. */
  toolsVersion: string;
  content: Uint8Array;
}

/** What validation learned about an archive. */
export interface ArchiveInspection {
  /** Name of the single top-level directory. */
  topDirectory: string;
  /** `Package.swift` first, then alternates by file name. */
  manifests: ExtractedManifest[];
  entryCount: number;
}

/** Bounds applied while inspecting an archive. */
export interface ArchiveLimits {
  maxEntries: number;
  /** Largest total of the entries' uncompressed sizes (zip bombs). */
  maxUncompressedBytes: number;
  /** Largest ratio of uncompressed to compressed size, over the whole archive (zip bombs). */
  maxCompressionRatio: number;
  maxManifestBytes: number;
}

/** Defaults: 100k entries, 8 GiB uncompressed, a ratio of 200, 1 MiB per manifest. */
export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  maxEntries: 100_000,
  maxUncompressedBytes: 8 * 1024 ** 3,
  maxCompressionRatio: 200,
  maxManifestBytes: 1024 * 1024,
};

const MAX_SYMLINK_TARGET_BYTES = 4096;

/**
 * Validates the zip at `path` as a Swift source archive: exactly one top-level
 * directory, `Package.swift` directly inside it, no entry or symlink escaping
 * it, no encryption, and a declared tools version in every manifest.
 *
 * @throws {UnprocessableError} naming the first problem found.
 */
export async function inspectSourceArchive(
  path: string,
  limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS,
): Promise<ArchiveInspection> {
  const file = await Deno.open(path, { read: true });
  const reader = new zip.ZipReader(new FsFileReader(file), { strictness: "strict", filenameValidation: "strict" });
  try {
    return await inspectEntries(reader, limits);
  } catch (error) {
    if (error instanceof RegistryError) throw error;
    const filename = (error as { filename?: unknown })?.filename;
    if (error instanceof Error && error.message === zip.ERR_UNSAFE_FILENAME && typeof filename === "string") {
      throw new UnprocessableError(
        `source archive entry "${filename}" is not a safe relative path (absolute, "..", "." or empty segment)`,
      );
    }
    throw new UnprocessableError(`source archive is not a valid zip file: ${describeZipError(error)}`);
  } finally {
    await reader.close().catch(() => {});
    file.close();
  }
}

async function inspectEntries(reader: zip.ZipReader<unknown>, limits: ArchiveLimits): Promise<ArchiveInspection> {
  const byName = new Map<string, zip.Entry>();
  const links = new Map<string, string>();
  let topDirectory: string | undefined;
  let uncompressed = 0;
  let compressed = 0;
  for await (const entry of reader.getEntriesGenerator()) {
    if (byName.size >= limits.maxEntries) {
      throw new PayloadTooLargeError(
        `source archive has more than ${limits.maxEntries} entries (REGISTRY_MAX_ARCHIVE_ENTRIES)`,
      );
    }
    uncompressed += entry.uncompressedSize;
    compressed += entry.compressedSize;
    if (uncompressed > limits.maxUncompressedBytes) {
      throw new PayloadTooLargeError(
        `source archive expands to more than ${limits.maxUncompressedBytes} bytes (REGISTRY_MAX_UNCOMPRESSED_BYTES)`,
      );
    }
    const name = entry.filename.replace(/\/$/, "");
    if (entry.encrypted) throw new UnprocessableError(`source archive entry "${name}" is encrypted`);
    const segments = name.split("/");
    if (segments.length === 1 && !entry.directory) {
      throw new UnprocessableError(
        `source archive must contain exactly one top-level directory, but "${name}" is a file at the top level`,
      );
    }
    if (topDirectory === undefined) topDirectory = segments[0];
    else if (segments[0] !== topDirectory) {
      throw new UnprocessableError(
        `source archive must contain exactly one top-level directory, found "${topDirectory}/" and "${segments[0]}/"`,
      );
    }
    if (entry.symlink) {
      links.set(name, new TextDecoder().decode(await readEntry(entry, MAX_SYMLINK_TARGET_BYTES, name)));
    }
    byName.set(name, entry);
  }
  if (topDirectory === undefined) throw new UnprocessableError("source archive is empty");
  if (uncompressed > 1024 * 1024 && uncompressed > compressed * limits.maxCompressionRatio) {
    throw new UnprocessableError(
      `source archive expands ${Math.round(uncompressed / Math.max(1, compressed))} times, over the ratio of ` +
        `${limits.maxCompressionRatio} this registry accepts (REGISTRY_MAX_COMPRESSION_RATIO)`,
    );
  }

  for (const name of byName.keys()) {
    // An entry below a symlink would be written through the link when extracted.
    const segments = name.split("/");
    for (let depth = 1; depth < segments.length; depth++) {
      const parent = segments.slice(0, depth).join("/");
      if (links.has(parent)) {
        throw new UnprocessableError(`source archive entry "${name}" lies inside the symlink "${parent}"`);
      }
    }
  }
  for (const [name, target] of links) {
    const resolved = resolveLink(name, target, links);
    if (resolved === null || resolved.split("/")[0] !== topDirectory) {
      throw new UnprocessableError(
        `source archive symlink "${name}" points outside the package directory ("${target}")`,
      );
    }
  }

  const manifests: ExtractedManifest[] = [];
  for (const [name, entry] of byName) {
    const filename = name.slice(topDirectory.length + 1);
    const match = MANIFEST_FILENAME.exec(filename);
    if (!match || entry.directory) continue;
    const target = entry.symlink ? byName.get(resolveLink(name, links.get(name)!, links)!) : entry;
    if (target === undefined || target.directory || target.symlink) {
      throw new UnprocessableError(`manifest symlink "${filename}" does not point to a file in the archive`);
    }
    const content = await readEntry(target, limits.maxManifestBytes, filename);
    const toolsVersion = declaredToolsVersion(new TextDecoder().decode(content));
    if (toolsVersion === null) {
      throw new UnprocessableError(
        `${filename} does not declare a tools version ("// swift-tools-version:X.Y" on its first line)`,
      );
    }
    manifests.push({ filename, swiftVersion: match[1] ?? null, toolsVersion, content });
  }
  if (!manifests.some((m) => m.swiftVersion === null)) {
    throw new UnprocessableError(
      `source archive has no Package.swift directly inside its top-level directory "${topDirectory}/"`,
    );
  }
  manifests.sort((a, b) =>
    a.swiftVersion === null ? -1 : b.swiftVersion === null ? 1 : a.filename.localeCompare(b.filename)
  );
  return { topDirectory, manifests, entryCount: byName.size };
}

/**
 * Where the symlink `name` (with `target`) finally points, as an archive path,
 * following every symlink met on the way like the kernel would after
 * extraction; `null` for absolute targets, paths climbing above the archive
 * root, and loops.
 */
function resolveLink(name: string, target: string, links: Map<string, string>): string | null {
  const resolved = name.split("/").slice(0, -1);
  let pending = target.split("/");
  let hops = 0;
  if (isAbsolute(target)) return null;
  while (pending.length > 0) {
    const [segment, ...rest] = pending;
    pending = rest;
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (resolved.length === 0) return null;
      resolved.pop();
      continue;
    }
    resolved.push(segment);
    const link = links.get(resolved.join("/"));
    if (link !== undefined) {
      if (++hops > 40 || isAbsolute(link)) return null;
      resolved.pop();
      pending = [...link.split("/"), ...pending];
    }
  }
  return resolved.length === 0 ? null : resolved.join("/");
}

function isAbsolute(target: string): boolean {
  return target === "" || target.startsWith("/") || target.includes("\\") || /^[a-zA-Z]:/.test(target);
}

async function readEntry(entry: zip.Entry, maxBytes: number, label: string): Promise<Uint8Array> {
  if (entry.directory) throw new UnprocessableError(`"${label}" is a directory`);
  if (entry.uncompressedSize > maxBytes) {
    throw new UnprocessableError(`"${label}" is ${entry.uncompressedSize} bytes, over the ${maxBytes}-byte limit`);
  }
  // The declared size may lie: count what actually inflates and stop at the limit.
  const tooLarge = new UnprocessableError(`"${label}" inflates to more than ${maxBytes} bytes`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const sink = new WritableStream<Uint8Array>({
    write(chunk) {
      size += chunk.byteLength;
      if (size > maxBytes) throw tooLarge;
      chunks.push(chunk);
    },
  });
  try {
    await entry.getData(sink, { checkSignature: true });
  } catch (error) {
    if (size > maxBytes) throw tooLarge;
    throw error;
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

function describeZipError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const filename = (error as { filename?: unknown })?.filename;
  return typeof filename === "string" ? `${message} ("${filename}")` : message;
}
