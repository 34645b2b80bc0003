/**
 * The stored document of an npm package (`npm/packages/<key>/index.json`):
 * its versions with their manifests and tarball facts, dist-tags, times,
 * deprecations and the versions unpublished (never published again).
 * Packuments are built from it (`packument.ts`).
 *
 * @module
 */
import * as semver from "semver";
import { type CatalogEntry, catalogIdentity } from "../../core/catalog.ts";
import { keySegment, packagePrefix, type PackageRef } from "../../core/package.ts";

/** The tarball of a version, as stored. */
export interface TarballRecord {
  /** `name-1.0.0.tgz` (without the scope). */
  filename: string;
  /** Lowercase hex SHA-256 (in the storage key, and the ETag). */
  sha256: string;
  size: number;
  /** Lowercase hex SHA-1 (`dist.shasum`). */
  shasum: string;
  /** `sha512-<base64>` (`dist.integrity`). */
  integrity: string;
  fileCount: number;
  unpackedSize: number;
}

/** One version of a package. */
export interface NpmVersionRecord {
  /** The version document as published (package.json fields and npm's `_` fields), without `dist` and readme. */
  manifest: Record<string, unknown>;
  tarball: TarballRecord;
  /** The tarball holds an `npm-shrinkwrap.json`. */
  hasShrinkwrap: boolean;
  /** Set by `npm deprecate`. */
  deprecated?: string;
  publishedAt: string;
  /** Identifies the publish attempt, so a retried commit recognises its own write. */
  publishId: string;
}

/** The stored document of an npm package. */
export interface NpmPackageDocument {
  /** `name` or `@scope/name`. */
  name: string;
  versions: Record<string, NpmVersionRecord>;
  distTags: Record<string, string>;
  /** Versions removed by an admin (`npm unpublish`), with when: their numbers stay taken. */
  unpublished?: Record<string, string>;
  /** The readme of the `latest` version. */
  readme?: string;
  readmeFilename?: string;
  created: string;
  modified: string;
  /** CouchDB-style revision (`<n>-<id>`), changed by every update; `npm unpublish` sends it back. */
  rev: string;
}

/** The storage key of a version's tarball (it includes the SHA-256, so bytes under a key never change). */
export function tarballKey(ref: PackageRef, version: string, tarball: Pick<TarballRecord, "sha256" | "filename">) {
  return `${packagePrefix(ref)}/${keySegment(version)}/${tarball.sha256}/${keySegment(tarball.filename)}`;
}

/** The next revision after `rev`. */
export function nextRev(rev: string | undefined): string {
  const n = rev === undefined ? 0 : Number.parseInt(rev, 10) || 0;
  return `${n + 1}-${crypto.randomUUID().replaceAll("-", "")}`;
}

/** Versions sorted highest first (invalid ones last). */
export function sortVersionsDescending(versions: string[]): string[] {
  return [...versions].sort((a, b) => semver.rcompare(a, b));
}

/** The highest version that is not a pre-release, or the highest of all when there is none. */
export function highestVersion(versions: string[]): string | undefined {
  const sorted = sortVersionsDescending(versions);
  return sorted.find((v) => semver.prerelease(v) === null) ?? sorted[0];
}

/** The version a dist-tag or version names, when the package has it. */
export function resolveVersion(doc: NpmPackageDocument, versionOrTag: string): NpmVersionRecord | undefined {
  const version = Object.hasOwn(doc.distTags, versionOrTag) ? doc.distTags[versionOrTag] : versionOrTag;
  return Object.hasOwn(doc.versions, version) ? doc.versions[version] : undefined;
}

/** The catalog entry of a package, from the manifest of its `latest` version. */
export function summarize(ref: PackageRef, doc: NpmPackageDocument, origin: CatalogEntry["origin"]): CatalogEntry {
  const versions = Object.keys(doc.versions);
  const latestVersion = doc.distTags.latest !== undefined && Object.hasOwn(doc.versions, doc.distTags.latest)
    ? doc.distTags.latest
    : highestVersion(versions) ?? "";
  return {
    ...manifestSummary(doc.versions[latestVersion]?.manifest ?? {}),
    ...catalogIdentity(ref),
    latestVersion,
    versions: versions.length,
    updatedAt: doc.modified,
    origin,
  };
}

/** Description, keywords, authors and license of a manifest, where they are well-formed. */
export function manifestSummary(
  manifest: Record<string, unknown>,
): Pick<CatalogEntry, "description" | "keywords" | "authors" | "license"> {
  const { description, keywords, license } = manifest;
  const people = [manifest.author, ...(Array.isArray(manifest.maintainers) ? manifest.maintainers : [])];
  const authors = [...new Set(people.map(personName).filter((n): n is string => n !== undefined))];
  return {
    ...(typeof description === "string" && description !== "" ? { description } : {}),
    ...(Array.isArray(keywords) && keywords.length > 0
      ? { keywords: keywords.filter((k): k is string => typeof k === "string") }
      : {}),
    ...(authors.length > 0 ? { authors } : {}),
    ...(typeof license === "string" ? { license } : {}),
  };
}

/** `"Mona <mona@example.com>"` or `{name: "Mona"}` as `Mona`. */
function personName(person: unknown): string | undefined {
  if (typeof person === "string") return person.replace(/\s*[<(].*$/, "").trim() || undefined;
  if (typeof person === "object" && person !== null) {
    const name = (person as { name?: unknown }).name;
    return typeof name === "string" && name !== "" ? name : undefined;
  }
  return undefined;
}
