/**
 * The stored shape of a PyPI project (its package document), its storage
 * keys, and project refs.
 *
 * @module
 */
import { compare, explain } from "@renovatebot/pep440";
import { keySegment, type PackageName, packagePrefix, type PackageRef } from "../../core/package.ts";
import { BadRequestError } from "../../errors.ts";
import { checkName, normalizeName, versionIdentity } from "./names.ts";

/** One uploaded file (a wheel or an sdist); immutable once stored. */
export interface FileRecord {
  filename: string;
  /** The version in normal form, as uploaded. */
  version: string;
  packagetype: "bdist_wheel" | "sdist";
  /** Lowercase hex SHA-256 of the stored bytes. */
  sha256: string;
  size: number;
  /** ISO 8601 time of the upload. */
  uploadedAt: string;
  /** The `Requires-Python` of the file's core metadata. */
  requiresPython?: string;
  /** A wheel's `METADATA`, served at `<file>.metadata` (PEP 658). */
  metadata?: { sha256: string; size: number };
  /** Identifies the upload that stored the file (never shown to clients). */
  publishId: string;
}

/** One release: what is known of a version besides its files. */
export interface ReleaseState {
  /** The version in normal form, as first uploaded. */
  version: string;
  /** Set while the release is yanked (PEP 592), with the reason given ("" for none). */
  yanked?: { reason: string; at: string };
}

/** A project's package document. */
export interface PypiProject {
  /** The name as first uploaded (`Bar-Demo.pkg`). */
  name: string;
  /** Releases by version identity (see `versionIdentity`). */
  releases: Record<string, ReleaseState>;
  /** Files by file name. */
  files: Record<string, FileRecord>;
  /** The latest upload's `Summary`. */
  summary?: string;
  /** The latest upload's `Keywords`. */
  keywords?: string[];
}

/** The file named `filename` (any text a client sends), or `undefined`. */
export function fileOf(project: PypiProject, filename: string): FileRecord | undefined {
  return Object.hasOwn(project.files, filename) ? project.files[filename] : undefined;
}

/** A PyPI project ref: the name checked, its PEP 503 normal form as key and id. */
export function projectRef(name: string): PackageRef {
  checkName(name);
  const normalized = normalizeName(name);
  return { format: "pypi", name, key: normalized, id: normalized };
}

/**
 * A ref for a plugin-supplied package name.
 *
 * @throws {BadRequestError} for a scope or an invalid name.
 */
export function refOf(pkg: PackageName): PackageRef {
  if (pkg.scope !== undefined) throw new BadRequestError("PyPI projects have no scope");
  return projectRef(pkg.name);
}

/** Storage keys of the PyPI format. */
export const keys = {
  /** A stored file: under its version and SHA-256, so its key never points at other bytes. */
  file: (ref: PackageRef, file: Pick<FileRecord, "version" | "sha256" | "filename">) =>
    `${packagePrefix(ref)}/${keySegment(file.version)}/${file.sha256}/${keySegment(file.filename)}`,
  /** A wheel's `METADATA`, beside the wheel. */
  metadata: (ref: PackageRef, file: Pick<FileRecord, "version" | "sha256" | "filename">) =>
    `${keys.file(ref, file)}.metadata`,
  /** A file copied from the upstream (under `upstream/`: a node without S3 may evict it and fetch it again). */
  upstreamFile: (ref: PackageRef, sha256: string, filename: string) =>
    `upstream/pypi/files/${ref.key}/${sha256}/${keySegment(filename)}`,
  /** Where registries before the bound on upstream copies kept them (moved on first use). */
  legacyUpstreamFile: (ref: PackageRef, sha256: string, filename: string) =>
    `${packagePrefix(ref)}/upstream/${sha256}/${keySegment(filename)}`,
};

/** A project's files by the identity of their release (the keys of `project.releases`), each parsed once. */
export function filesByRelease(project: PypiProject): Map<string, FileRecord[]> {
  const byRelease = new Map<string, FileRecord[]>();
  for (const file of Object.values(project.files)) {
    const id = versionIdentity(file.version);
    const files = byRelease.get(id);
    if (files === undefined) byRelease.set(id, [file]);
    else files.push(file);
  }
  return byRelease;
}

/** Versions sorted from lowest to highest (PEP 440 order). */
export function sortVersions(versions: Iterable<string>): string[] {
  return [...versions].sort(compareVersions);
}

/** PEP 440 order; versions that do not parse sort first, by text. */
export function compareVersions(a: string, b: string): number {
  try {
    return compare(a, b);
  } catch {
    return a.localeCompare(b);
  }
}

/** The highest version that is not a pre-release, or the highest of all when there are only pre-releases. */
export function latestVersion(versions: readonly string[]): string | undefined {
  const sorted = sortVersions(versions);
  const final = sorted.filter((v) => explain(v)?.is_prerelease === false);
  return final.at(-1) ?? sorted.at(-1);
}
