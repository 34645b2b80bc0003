/**
 * Package manifests: which file names are manifests, the tools version a
 * manifest declares, and how `?swift-version=` selects an alternate.
 *
 * @module
 */

/** `Package.swift` or `Package@swift-X[.Y[.Z]].swift`; group 1 is the swift version of an alternate. */
export const MANIFEST_FILENAME = /^Package(?:@swift-(\d+(?:\.\d+){0,2}))?\.swift$/;

/**
 * The tools version declared on the first line of a manifest
 * (`// swift-tools-version:5.9`, spacing and case as SwiftPM accepts), or
 * `null` when there is none.
 *
 * @example
 * declaredToolsVersion("// swift-tools-version: 5.9\nimport PackageDescription"); // "5.9"
 */
export function declaredToolsVersion(source: string): string | null {
  const firstLine = source.replace(/^\uFEFF/, "").split(/\r?\n/, 1)[0];
  const match = /^\s*\/\/\s*swift-tools-version\s*:\s*(\d+(?:\.\d+){0,2})(?=[\s;]|$)/i.exec(firstLine);
  return match ? match[1] : null;
}

/**
 * The alternate-manifest file names to try for `?swift-version=value`, in
 * order: exact, then one trailing `.0` removed, then a trailing `.0.0`
 * removed. Returns `null` when `value` is not a version.
 *
 * @example
 * swiftVersionCandidates("5.0.0"); // ["Package@swift-5.0.0.swift", "Package@swift-5.0.swift", "Package@swift-5.swift"]
 */
export function swiftVersionCandidates(value: string): string[] | null {
  if (!/^\d+(?:\.\d+){0,2}$/.test(value)) return null;
  const versions = [value];
  if (value.endsWith(".0")) versions.push(value.slice(0, -2));
  if (value.endsWith(".0.0")) versions.push(value.slice(0, -4));
  return versions.map((v) => `Package@swift-${v}.swift`);
}
