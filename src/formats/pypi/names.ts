/**
 * Names and versions of Python distributions: project names and their PEP 503
 * normalisation, PEP 440 versions, and the file names of wheels and sdists
 * (which must agree with the project and version they are uploaded as).
 *
 * @module
 */
import { clean, parse, validRange } from "@renovatebot/pep440";
import { BadRequestError } from "../../errors.ts";

/** A project name as PEP 508 allows it: letters, digits, `.`, `_`, `-`, starting and ending alphanumeric. */
const PROJECT_NAME = /^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$/i;

/** Longest project name accepted. */
const MAX_NAME_LENGTH = 200;

/** The PEP 503 normal form of a project name: runs of `-`, `_`, `.` become `-`, lower case. */
export function normalizeName(name: string): string {
  return name.replace(/[-_.]+/g, "-").toLowerCase();
}

/** True when `name` is a valid project name. */
export function isValidName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && PROJECT_NAME.test(name);
}

/**
 * Checks a project name and returns it unchanged.
 *
 * @throws {BadRequestError} when it is not a valid project name.
 */
export function checkName(name: string): string {
  if (!isValidName(name)) {
    throw new BadRequestError(
      `"${name.slice(0, 100)}" is not a valid project name (letters, digits, ".", "_", "-"; starting and ending ` +
        "with a letter or digit)",
    );
  }
  return name;
}

/**
 * The normal form of a PEP 440 version (`1.0-RC1` → `1.0rc1`), or `null` when
 * `version` is not one.
 */
export function normalizeVersion(version: string): string | null {
  if (version.length > 100) return null;
  return clean(version.trim()) ?? null;
}

/**
 * The identity of a version: its normal form without trailing zeros in the
 * release segment, so `1.0` and `1.0.0` are the same release (PEP 440 says they
 * are equal).
 *
 * @example
 * versionIdentity("1.0.0"); // "1"
 */
export function versionIdentity(normalized: string): string {
  const parsed = parse(normalized);
  if (parsed === null) return normalized;
  const release = [...parsed.release];
  while (release.length > 1 && release[release.length - 1] === 0) release.pop();
  let text = parsed.epoch > 0 ? `${parsed.epoch}!` : "";
  text += release.join(".");
  if (parsed.pre) text += `${parsed.pre[0]}${parsed.pre[1]}`;
  if (parsed.post) text += `.post${parsed.post[1]}`;
  if (parsed.dev) text += `.dev${parsed.dev[1]}`;
  // Typed as a string, parsed as an array of segments.
  const local = parsed.local as unknown as string | (string | number)[] | null;
  if (local) text += `+${Array.isArray(local) ? local.join(".") : local}`;
  return text;
}

/**
 * Checks a version and returns its normal form.
 *
 * @throws {BadRequestError} when it is not a PEP 440 version.
 */
export function checkVersion(version: string): string {
  const normalized = normalizeVersion(version);
  if (normalized === null) {
    throw new BadRequestError(`"${version.slice(0, 100)}" is not a valid PEP 440 version`);
  }
  return normalized;
}

/**
 * Checks a `Requires-Python` specifier set (`>=3.8,<4`); returns it trimmed,
 * or `undefined` when empty.
 *
 * @throws {BadRequestError} when it is not a PEP 440 specifier set.
 */
export function checkRequiresPython(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  if (trimmed === undefined || trimmed === "") return undefined;
  if (trimmed.length > 500 || !validRange(trimmed)) {
    throw new BadRequestError(`Requires-Python "${trimmed.slice(0, 100)}" is not a valid version specifier`);
  }
  return trimmed;
}

/** What a distribution's file name says about it. */
export interface DistributionFilename {
  kind: "wheel" | "sdist";
  /** The project name as written in the file name (wheels escape it). */
  name: string;
  /** The version as written in the file name. */
  version: string;
  /** `bdist_wheel` or `sdist`: the upload form's `filetype`. */
  filetype: "bdist_wheel" | "sdist";
  /** For sdists: `.tar.gz` or `.zip`; for wheels `.whl`. */
  extension: ".whl" | ".tar.gz" | ".zip";
}

/** Characters a file name may contain (it becomes part of URLs and storage keys). */
const SAFE_FILENAME = /^[A-Za-z0-9][A-Za-z0-9._+!-]*$/;

/**
 * Parses a wheel (`{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`)
 * or sdist (`{name}-{version}.tar.gz` / `.zip`) file name.
 *
 * @throws {BadRequestError} when the name is neither.
 */
export function parseDistributionFilename(filename: string): DistributionFilename {
  const invalid = (why: string) =>
    new BadRequestError(`invalid distribution file name "${filename.slice(0, 200)}": ${why}`);
  if (filename.length > 255 || !SAFE_FILENAME.test(filename)) {
    throw invalid("it may only contain letters, digits and . _ + ! -");
  }
  if (filename.endsWith(".whl")) {
    const parts = filename.slice(0, -4).split("-");
    if (parts.length !== 5 && parts.length !== 6) {
      throw invalid("a wheel is named {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl");
    }
    if (parts.length === 6 && !/^\d/.test(parts[2])) throw invalid("a wheel's build tag must start with a digit");
    return { kind: "wheel", name: parts[0], version: parts[1], filetype: "bdist_wheel", extension: ".whl" };
  }
  const extension = filename.endsWith(".tar.gz") ? ".tar.gz" : filename.endsWith(".zip") ? ".zip" : undefined;
  if (extension === undefined) throw invalid("expected a wheel (.whl) or an sdist (.tar.gz or .zip)");
  const stem = filename.slice(0, -extension.length);
  // The version is what follows the last "-" (project names may contain "-", versions may not).
  const dash = stem.lastIndexOf("-");
  if (dash <= 0 || dash === stem.length - 1) throw invalid("an sdist is named {name}-{version}.tar.gz");
  return { kind: "sdist", name: stem.slice(0, dash), version: stem.slice(dash + 1), filetype: "sdist", extension };
}

/**
 * Checks that a file name belongs to project `name` at version `version`
 * (normalised forms compared) and has the upload's `filetype`.
 *
 * @throws {BadRequestError} naming the disagreement.
 */
export function checkFilenameAgrees(
  file: DistributionFilename,
  filename: string,
  name: string,
  version: string,
  filetype?: string,
): void {
  if (normalizeName(file.name) !== normalizeName(name)) {
    throw new BadRequestError(`the file name "${filename}" does not start with the project name "${name}"`);
  }
  const fileVersion = normalizeVersion(file.version);
  if (fileVersion === null || versionIdentity(fileVersion) !== versionIdentity(version)) {
    throw new BadRequestError(`the file name "${filename}" does not contain the version "${version}"`);
  }
  if (filetype !== undefined && filetype !== file.filetype) {
    throw new BadRequestError(
      `the file "${filename}" is a ${file.filetype}, but the upload says filetype "${filetype}"`,
    );
  }
}
