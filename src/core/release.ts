/**
 * The stored shape of packages and releases, their storage keys, and the
 * validation of client-supplied release metadata.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { PayloadTooLargeError, UnprocessableError } from "../errors.ts";
import type { PackageRef } from "./identity.ts";

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

/** One immutable release. */
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
  manifests: ManifestRecord[];
  /** Identifies the publish that created the release (never shown to clients). */
  publishId?: string;
}

/** A package's index document: its display name and every release. */
export interface PackageIndex {
  scope: string;
  name: string;
  releases: Record<string, ReleaseRecord>;
}

/** An identifier-index document: packages that declared one repository URL. */
export interface IdentifierIndex {
  url: string;
  /** Package keys (`scope/name`, lower case). */
  packages: string[];
}

/** Storage keys of the Swift registry. */
export const keys = {
  packageIndex: (ref: PackageRef) => `swift/packages/${ref.key}/index.json`,
  releaseDir: (ref: PackageRef, version: string, checksum: string) =>
    `swift/packages/${ref.key}/releases/${version}/${checksum}`,
  archive: (ref: PackageRef, version: string, checksum: string) =>
    `${keys.releaseDir(ref, version, checksum)}/source-archive.zip`,
  manifest: (ref: PackageRef, version: string, checksum: string, filename: string) =>
    `${keys.releaseDir(ref, version, checksum)}/${filename}`,
  identifiers: (normalizedUrl: string) =>
    `swift/identifiers/${createHash("sha256").update(normalizedUrl).digest("hex")}.json`,
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
  if (!isObject(value)) throw new UnprocessableError("metadata must be a JSON object");

  for (const field of ["description", "licenseURL", "readmeURL"]) {
    if (value[field] !== undefined && typeof value[field] !== "string") {
      throw new UnprocessableError(`metadata.${field} must be a string`);
    }
  }
  if (value.author !== undefined) checkPerson(value.author, "metadata.author");
  if (isObject(value.author) && value.author.organization !== undefined) {
    checkPerson(value.author.organization, "metadata.author.organization");
  }
  if (value.repositoryURLs !== undefined) {
    const urls = value.repositoryURLs;
    if (!Array.isArray(urls) || urls.length > 64 || !urls.every((u) => typeof u === "string" && u.length <= 2048)) {
      throw new UnprocessableError("metadata.repositoryURLs must be an array of at most 64 URL strings");
    }
  }
  if (value.originalPublicationTime !== undefined) {
    const time = value.originalPublicationTime;
    if (typeof time !== "string" || Number.isNaN(Date.parse(time))) {
      throw new UnprocessableError("metadata.originalPublicationTime must be an ISO 8601 date-time string");
    }
  }
  return value;
}

function checkPerson(value: unknown, path: string): void {
  if (!isObject(value) || typeof value.name !== "string" || value.name === "") {
    throw new UnprocessableError(`${path} must be an object with a non-empty "name"`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `date` as ISO 8601 with whole seconds (`2026-01-02T03:04:05Z`). */
export function wholeSecondIso(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}
