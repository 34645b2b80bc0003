/**
 * The stored shape of packages and releases, their storage keys, and the
 * validation of client-supplied release metadata.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { PayloadTooLargeError, UnprocessableError } from "../../errors.ts";
import type { PackageRef } from "./identity.ts";
import type { SignerRecord } from "./signer_certificate.ts";

/** A manifest stored with a release. */
export interface ManifestRecord {
  filename: string;
  /** Swift version in an alternate's file name; `null` for `Package.swift`. */
  swiftVersion: string | null;
  toolsVersion: string;
  size: number;
}

/** A signature supplied at publish time. */
export interface SigningRecord {
  signatureBase64Encoded: string;
  signatureFormat: string;
}

/** Who withdrew a release (yank or takedown), when and why. */
export interface WithdrawalRecord {
  /** Whole-second ISO 8601 time. */
  at: string;
  /** The principal (or `cli:<user>`) that did it. */
  by: string;
  reason: string;
}

/** One immutable release (its bytes never change; it may be yanked or taken down). */
export interface ReleaseRecord {
  version: string;
  /** Lowercase hex SHA-256 of the archive bytes as received. */
  checksum: string;
  size: number;
  /** Whole-second ISO 8601 time of publication. */
  publishedAt: string;
  /** Client metadata (SE-0292 Appendix B), as validated. */
  metadata: Record<string, unknown>;
  signing?: SigningRecord;
  /** Base64 signature of the metadata part, when the release was signed. */
  metadataSignatureBase64?: string;
  /** Who signed the release (verified at publish), when it was signed. */
  signer?: SignerRecord;
  manifests: ManifestRecord[];
  /** Identifies the publish that created the release (never shown to clients). */
  publishId?: string;
  /** Set while the release is yanked: listed with a problem, still served. */
  yanked?: WithdrawalRecord;
  /** Set once the release is taken down: every endpoint answers 410, its bytes are deleted. */
  takedown?: WithdrawalRecord;
}

/** A signing entity as SwiftPM compares them: subject common name, organizational unit and organization. */
export interface SignerEntity {
  commonName: string | null;
  organizationalUnit: string | null;
  organization: string | null;
}

/** An admin's permission for the package's next release to have another signer (or none). */
export interface SignerChangeAllowance {
  /** Whole-second ISO 8601 time. */
  at: string;
  /** The principal (or `cli:<user>`) that allowed it. */
  by: string;
  reason: string;
  /** The release that made the change, once one did. */
  usedBy?: string;
}

/** Signer continuity of a package that has had a signed release. */
export interface PackageSigning {
  /** Who signs the package's next release; `null` after an allowed change to unsigned releases. */
  expected: SignerEntity | null;
  /** Every allowance given, oldest first. */
  allowances: SignerChangeAllowance[];
}

/** A package's index document: its display name and every release. */
export interface PackageIndex {
  scope: string;
  name: string;
  releases: Record<string, ReleaseRecord>;
  /** Present once a release was signed. */
  signing?: PackageSigning;
}

/** An identifier-index document: packages that declared one repository URL. */
export interface IdentifierIndex {
  url: string;
  /** Package keys (`scope/name`, lower case). */
  packages: string[];
}

/** Storage keys of the Swift registry. */
export const keys = {
  releaseDir: (ref: PackageRef, version: string, checksum: string) =>
    `swift/packages/${ref.key}/releases/${version}/${checksum}`,
  archive: (ref: PackageRef, version: string, checksum: string) =>
    `${keys.releaseDir(ref, version, checksum)}/source-archive.zip`,
  manifest: (ref: PackageRef, version: string, checksum: string, filename: string) =>
    `${keys.releaseDir(ref, version, checksum)}/${filename}`,
  identifiers: (normalizedUrl: string) =>
    `swift/identifiers/${createHash("sha256").update(normalizedUrl).digest("hex")}.json`,
  /** Releases taken down, whose bytes every node deletes from its own disk too. */
  takedowns: () => "swift/takedowns.json",
  /** The checksums first seen for a package filled from the upstream (they never change after). */
  upstreamPins: (ref: PackageRef) => `swift/upstream/${ref.key}/pins.json`,
  /** An archive copied from the upstream (under `upstream/`: a node without S3 may evict it and fetch it again). */
  upstreamArchive: (ref: PackageRef, version: string, checksum: string) =>
    `upstream/swift/archives/${ref.key}/${version}/${checksum}/source-archive.zip`,
  /** Where registries before the bound on upstream copies kept them (moved on first use). */
  legacyUpstreamArchive: (ref: PackageRef, version: string, checksum: string) =>
    `swift/upstream/${ref.key}/${version}/${checksum}/source-archive.zip`,
};

/** Largest accepted `metadata` part. */
export const MAX_METADATA_BYTES = 1024 * 1024;

/**
 * Parses and checks the `metadata` part of a publish: a JSON object whose known
 * fields (SE-0292 Appendix B) have the types SwiftPM decodes.
 *
 * @throws {PayloadTooLargeError} over {@link MAX_METADATA_BYTES}.
 * @throws {UnprocessableError} naming the offending field.
 */
export function parseReleaseMetadata(bytes: Uint8Array | undefined): Record<string, unknown> {
  if (bytes === undefined || bytes.length === 0) return {};
  if (bytes.length > MAX_METADATA_BYTES) {
    throw new PayloadTooLargeError(`metadata is ${bytes.length} bytes, over the ${MAX_METADATA_BYTES}-byte limit`);
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw new UnprocessableError(`metadata is not valid JSON: ${(error as Error).message}`);
  }
  return checkReleaseMetadata(value);
}

/**
 * Checks release metadata (from a publish or an ingestion source): a JSON
 * object whose known fields (SE-0292 Appendix B) have the types SwiftPM decodes.
 *
 * @throws {UnprocessableError} naming the offending field.
 */
export function checkReleaseMetadata(value: unknown): Record<string, unknown> {
  if (!isObject(value)) throw new UnprocessableError("metadata must be a JSON object");
  checkString(value, "description", "metadata");
  checkUrl(value, "licenseURL", "metadata");
  checkUrl(value, "readmeURL", "metadata");
  if (value.author !== undefined) {
    const author = checkPerson(value.author, "metadata.author");
    if (author.organization !== undefined) checkPerson(author.organization, "metadata.author.organization");
  }
  if (value.repositoryURLs !== undefined) {
    const urls = value.repositoryURLs;
    if (!Array.isArray(urls) || urls.length > 64 || !urls.every((u) => typeof u === "string" && u.length <= 2048)) {
      throw new UnprocessableError("metadata.repositoryURLs must be an array of at most 64 URL strings");
    }
    const bad = urls.find((u) => !isUrl(u) && !SCP_LIKE.test(u));
    if (bad !== undefined) {
      throw new UnprocessableError(
        `metadata.repositoryURLs: "${bad}" is neither an absolute URL nor a git@host:path address`,
      );
    }
  }
  if (value.originalPublicationTime !== undefined) {
    const time = value.originalPublicationTime;
    if (typeof time !== "string" || !DATE_TIME.test(time) || Number.isNaN(Date.parse(time))) {
      throw new UnprocessableError(
        "metadata.originalPublicationTime must be an ISO 8601 date-time with whole seconds and a zone, " +
          `e.g. 2024-01-02T03:04:05Z, as SwiftPM decodes it (got ${JSON.stringify(time)})`,
      );
    }
  }
  return value;
}

/** ISO 8601 as Foundation's `.iso8601` decoding strategy reads it: whole seconds and a zone. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:?\d{2})$/;

/** `git@github.com:owner/repo.git` */
const SCP_LIKE = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$/;

/** Checks the fields SwiftPM decodes for a person or organization; returns the object. */
function checkPerson(value: unknown, path: string): Record<string, unknown> {
  if (!isObject(value) || typeof value.name !== "string" || value.name === "") {
    throw new UnprocessableError(`${path} must be an object with a non-empty "name"`);
  }
  checkString(value, "email", path);
  checkString(value, "description", path);
  checkUrl(value, "url", path);
  return value;
}

function checkString(object: Record<string, unknown>, field: string, path: string): void {
  if (object[field] !== undefined && typeof object[field] !== "string") {
    throw new UnprocessableError(`${path}.${field} must be a string`);
  }
}

function checkUrl(object: Record<string, unknown>, field: string, path: string): void {
  checkString(object, field, path);
  if (object[field] !== undefined && !isUrl(object[field] as string)) {
    throw new UnprocessableError(`${path}.${field} must be an absolute URL (got ${JSON.stringify(object[field])})`);
  }
}

function isUrl(text: string): boolean {
  return URL.canParse(text) && !/\s/.test(text);
}

/** True for a JSON object (not an array, not null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `date` as ISO 8601 with whole seconds (`2026-01-02T03:04:05Z`). */
export function wholeSecondIso(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}
