/**
 * Inspection of an uploaded distribution before anything is stored: the
 * archive is checked entry by entry (traversal, links, case collisions,
 * bombs: `scanZip` for wheels and zip sdists, `scanTarGz` for tar.gz sdists),
 * and its core metadata is read and must agree with the project and version
 * it is uploaded as. An sdist's entries must all lie in the one directory its
 * file name names (`{name}-{version}/`).
 *
 * @module
 */
import { readEntryBytes, scanTarGz } from "../../core/tar_archive.ts";
import { resolveLink } from "../../core/zip_paths.ts";
import { scanZip, type ZipLimits } from "../../core/zip_scan.ts";
import { UnprocessableError } from "../../errors.ts";
import { type CoreMetadata, field, keywordsOf, parseCoreMetadata } from "./metadata.ts";
import {
  checkRequiresPython,
  type DistributionFilename,
  normalizeName,
  normalizeVersion,
  versionIdentity,
} from "./names.ts";

/** What inspection learned about a distribution. */
export interface DistributionInspection {
  /** A wheel's `METADATA`, served at `<file>.metadata` (PEP 658). */
  coreMetadata?: Uint8Array;
  requiresPython?: string;
  summary?: string;
  /** The `Keywords` of its metadata (found by search). */
  keywords?: string[];
}

/** Largest core metadata file accepted (it holds the long description). */
const MAX_METADATA_BYTES = 8 * 1024 * 1024;

/**
 * Checks the distribution at `path` (named `file`) as a release of project
 * `name` at `version`.
 *
 * @throws {UnprocessableError} naming the problem.
 * @throws {PayloadTooLargeError} when the archive is over the limits.
 */
export async function inspectDistribution(
  path: string,
  file: DistributionFilename,
  name: string,
  version: string,
  limits: ZipLimits,
): Promise<DistributionInspection> {
  if (file.kind === "wheel") {
    const scan = await scanZip(path, {
      limits,
      subject: "wheel",
      collect: (entry) => /^[^/]+\.dist-info\/METADATA$/.test(entry.name) ? MAX_METADATA_BYTES : undefined,
    });
    const distInfo = new Set(
      [...scan.entries.keys()].map((n) => n.split("/")[0]).filter((top) => top.endsWith(".dist-info")),
    );
    if (distInfo.size !== 1) {
      throw new UnprocessableError(
        distInfo.size === 0
          ? "the wheel has no .dist-info directory"
          : `the wheel has ${distInfo.size} .dist-info directories; it must have exactly one`,
      );
    }
    const [directory] = distInfo;
    checkDistInfoName(directory, name, version);
    for (const required of ["METADATA", "WHEEL"]) {
      if (!scan.entries.has(`${directory}/${required}`)) {
        throw new UnprocessableError(`the wheel has no ${directory}/${required}`);
      }
    }
    const bytes = scan.contents.get(`${directory}/METADATA`);
    if (bytes === undefined) throw new UnprocessableError(`the wheel's ${directory}/METADATA is not a file`);
    return { coreMetadata: bytes, ...checkMetadata(parseCoreMetadata(bytes, "METADATA"), "METADATA", name, version) };
  }
  // An sdist holds one directory named like the file ({name}-{version}), with PKG-INFO in it.
  const root = `${file.name}-${file.version}`;
  let pkgInfo: Uint8Array | undefined;
  if (file.extension === ".tar.gz") {
    await scanTarGz(path, {
      root,
      limits,
      label: "sdist",
      visit: async (entry, body) => {
        if (entry.type === "file" && entry.path === `${root}/PKG-INFO`) {
          pkgInfo = await readEntryBytes(body, MAX_METADATA_BYTES, `${root}/PKG-INFO`);
        }
      },
    });
  } else {
    const scan = await scanZip(path, {
      limits,
      subject: "sdist",
      collect: (entry) => entry.name === `${root}/PKG-INFO` ? MAX_METADATA_BYTES : undefined,
    });
    const outside = [...scan.entries.keys()].find((entry) => entry.split("/")[0] !== root);
    if (outside !== undefined || scan.entries.get(root)?.type === "file") {
      throw new UnprocessableError(`sdist entry "${outside ?? root}" lies outside "${root}/"`);
    }
    // As in a tar sdist: pip strips the root directory when it extracts.
    for (const [link, target] of scan.links) {
      if (resolveLink(link, target, scan.links, root) === null) {
        throw new UnprocessableError(`sdist symlink "${link}" points outside "${root}/" ("${target}")`);
      }
    }
    pkgInfo = scan.contents.get(`${root}/PKG-INFO`);
  }
  if (pkgInfo === undefined) throw new UnprocessableError(`the sdist has no ${root}/PKG-INFO`);
  return checkMetadata(parseCoreMetadata(pkgInfo, "PKG-INFO"), "PKG-INFO", name, version);
}

/** Checks a wheel's `{name}-{version}.dist-info` directory against the project and version. */
function checkDistInfoName(directory: string, name: string, version: string): void {
  const stem = directory.slice(0, -".dist-info".length);
  const dash = stem.lastIndexOf("-");
  const dirVersion = dash > 0 ? normalizeVersion(stem.slice(dash + 1)) : null;
  if (
    dash <= 0 || normalizeName(stem.slice(0, dash)) !== normalizeName(name) || dirVersion === null ||
    versionIdentity(dirVersion) !== versionIdentity(version)
  ) {
    throw new UnprocessableError(
      `the wheel's directory "${directory}" does not match ${name} ${version} ({name}-{version}.dist-info)`,
    );
  }
}

/** Checks that core metadata names this project and version; returns what the registry keeps of it. */
function checkMetadata(
  metadata: CoreMetadata,
  label: string,
  name: string,
  version: string,
): Omit<DistributionInspection, "coreMetadata"> {
  const metaName = field(metadata, "Name") ?? "";
  if (normalizeName(metaName) !== normalizeName(name)) {
    throw new UnprocessableError(`${label} names the project "${metaName}", not "${name}"`);
  }
  const metaVersion = field(metadata, "Version") ?? "";
  const normalized = normalizeVersion(metaVersion);
  if (normalized === null || versionIdentity(normalized) !== versionIdentity(version)) {
    throw new UnprocessableError(`${label} has the version "${metaVersion}", not "${version}"`);
  }
  let requiresPython: string | undefined;
  try {
    requiresPython = checkRequiresPython(field(metadata, "Requires-Python"));
  } catch (error) {
    throw new UnprocessableError(`${label}: ${(error as Error).message}`);
  }
  const summary = field(metadata, "Summary")?.slice(0, 512);
  const keywords = keywordsOf(metadata);
  return {
    ...(requiresPython ? { requiresPython } : {}),
    ...(summary ? { summary } : {}),
    ...(keywords.length > 0 ? { keywords } : {}),
  };
}
