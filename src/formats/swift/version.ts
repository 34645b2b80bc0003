/**
 * Release versions: strict SemVer 2.0.0, with the lenient spellings clients and
 * tags use (`v1.2`, `1.2`) normalised to the canonical `1.2.0`.
 *
 * @module
 */
import semver from "semver";
import { BadRequestError } from "../../errors.ts";

const LENIENT =
  /^v?(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?(-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

/**
 * Returns the canonical SemVer string for `raw`, or `null` when it is not a
 * version: strips a leading `v`, pads missing minor/patch with `0`, keeps
 * pre-release and build parts.
 *
 * @example
 * normalizeVersion("v1.2"); // "1.2.0"
 * normalizeVersion("1.0.0-beta.1+exp.sha.5114f85"); // "1.0.0-beta.1+exp.sha.5114f85"
 */
export function normalizeVersion(raw: string): string | null {
  const match = LENIENT.exec(raw);
  if (!match) return null;
  const [, major, minor = "0", patch = "0", pre = "", build = ""] = match;
  const candidate = `${major}.${minor}.${patch}${pre}${build}`;
  // semver's strict parser rejects leading zeros in numeric pre-release identifiers.
  if (semver.valid(candidate) === null) return null;
  return candidate;
}

/**
 * Parses a version from a request path.
 *
 * @throws {BadRequestError} when `raw` is not a (normalisable) SemVer version.
 */
export function parseVersion(raw: string): string {
  const version = normalizeVersion(raw);
  if (version === null) {
    throw new BadRequestError(`invalid version "${raw}": expected a SemVer 2.0.0 version such as 1.2.3`);
  }
  return version;
}

/** Sorts versions by descending precedence (build metadata breaks ties deterministically). */
export function sortVersionsDescending(versions: Iterable<string>): string[] {
  return [...versions].sort((a, b) => semver.compareBuild(b, a));
}
