/**
 * Swift source archive validation: the zip checks every format shares
 * ({@link scanZip}: safe names, symlinks, sizes, CRC-32, local headers), then
 * the layout SwiftPM requires, extracting the manifests.
 *
 * @module
 */
import { UnprocessableError } from "../../errors.ts";
import { declaredToolsVersion, MANIFEST_FILENAME } from "./manifest.ts";
import { resolveLink } from "../../core/zip_paths.ts";
import { type ArchiveLimits, DEFAULT_ARCHIVE_LIMITS, scanZip, type ZipEntryInfo } from "../../core/zip_scan.ts";

export { type ArchiveLimits, DEFAULT_ARCHIVE_LIMITS };

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

/**
 * Validates the zip at `path` as a Swift source archive: every check of
 * {@link scanZip}, then exactly one top-level directory, `Package.swift`
 * directly inside it, no symlink leaving it, and a declared tools version in
 * every manifest.
 *
 * @throws {UnprocessableError} naming the first problem found.
 * @throws {PayloadTooLargeError} when the archive has too many entries or expands to too many bytes.
 */
export async function inspectSourceArchive(
  path: string,
  limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS,
): Promise<ArchiveInspection> {
  let topDirectory: string | undefined;
  const isManifest = (entry: ZipEntryInfo) =>
    entry.type !== "directory" && MANIFEST_FILENAME.test(entry.name.slice(topDirectory!.length + 1));
  const scan = await scanZip(path, {
    limits,
    subject: "source archive",
    checkEntry(entry) {
      const segments = entry.name.split("/");
      if (segments.length === 1 && entry.type !== "directory") {
        throw new UnprocessableError(
          `source archive must contain exactly one top-level directory, but "${entry.name}" is a file at the top level`,
        );
      }
      if (topDirectory === undefined) topDirectory = segments[0];
      else if (segments[0] !== topDirectory) {
        throw new UnprocessableError(
          `source archive must contain exactly one top-level directory, found "${topDirectory}/" and "${segments[0]}/"`,
        );
      }
    },
    collect: (entry) => isManifest(entry) ? limits.maxManifestBytes : undefined,
  });
  if (topDirectory === undefined) throw new UnprocessableError("source archive is empty");
  for (const [name, target] of scan.links) {
    // SwiftPM strips the top-level directory when it extracts: `pkg/a -> ../pkg/b` would leave the package.
    if (resolveLink(name, target, scan.links, topDirectory) === null) {
      throw new UnprocessableError(
        `source archive symlink "${name}" points outside the package directory ("${target}")`,
      );
    }
  }
  const manifests: ExtractedManifest[] = [];
  for (const [name, content] of scan.contents) {
    const filename = name.slice(topDirectory.length + 1);
    const toolsVersion = declaredToolsVersion(new TextDecoder().decode(content));
    if (toolsVersion === null) {
      throw new UnprocessableError(
        `${filename} does not declare a tools version ("// swift-tools-version:X.Y" on its first line)`,
      );
    }
    manifests.push({ filename, swiftVersion: MANIFEST_FILENAME.exec(filename)![1] ?? null, toolsVersion, content });
  }
  if (!manifests.some((m) => m.swiftVersion === null)) {
    throw new UnprocessableError(
      `source archive has no Package.swift directly inside its top-level directory "${topDirectory}/"`,
    );
  }
  manifests.sort((a, b) =>
    a.swiftVersion === null ? -1 : b.swiftVersion === null ? 1 : a.filename.localeCompare(b.filename)
  );
  return { topDirectory, manifests, entryCount: scan.entries.size };
}
