/**
 * npm package names: `name` or `@scope/name`, as refs of the core. The scope
 * (without `@`) is the package's scope for token limits and authorization
 * plugins. Names are kept as written (npm names are case-sensitive; old
 * packages have capitals); new publishes must follow npm's current rules.
 *
 * @module
 */
import { keySegment, type PackageRef } from "../../core/package.ts";
import { BadRequestError } from "../../errors.ts";

const MAX_NAME_LENGTH = 214;
/** Names npm has ever accepted (capitals and `~'!()*` only in old packages). */
const READABLE_PART = /^[A-Za-z0-9~-][A-Za-z0-9._~!'()*-]*$/;
/** What npm accepts for a new package today. */
const PUBLISHABLE_PART = /^[a-z0-9~-][a-z0-9._~-]*$/;
const RESERVED = new Set(["node_modules", "favicon.ico"]);

/**
 * The ref of an npm package named `id` (`name` or `@scope/name`).
 *
 * @throws {BadRequestError} when `id` is not an npm package name.
 * @example
 * npmRef("@acme/hello"); // { format: "npm", scope: "acme", name: "hello", key: "@acme/hello", id: "@acme/hello" }
 */
export function npmRef(id: string): PackageRef {
  const match = /^(?:@([^/]+)\/)?([^/]+)$/.exec(id);
  if (match === null || id.length > MAX_NAME_LENGTH) throw invalid(id);
  const [, scope, name] = match;
  if ((scope !== undefined && !READABLE_PART.test(scope)) || !READABLE_PART.test(name) || RESERVED.has(name)) {
    throw invalid(id);
  }
  return scope === undefined
    ? { format: "npm", name, key: keySegment(name), id }
    : { format: "npm", scope, name, key: `@${keySegment(scope)}/${keySegment(name)}`, id };
}

/** The ref of a plugin-supplied package name (`scope` without `@`). */
export function npmRefOf(pkg: { scope?: string; name: string }): PackageRef {
  return npmRef(pkg.scope === undefined || pkg.scope === "" ? pkg.name : `@${pkg.scope}/${pkg.name}`);
}

/**
 * Refuses names npm no longer accepts for new packages (capitals, `~'!()*`,
 * leading `.` or `_`).
 *
 * @throws {BadRequestError} naming the rule.
 */
export function assertPublishableName(ref: PackageRef): void {
  const parts = ref.scope === undefined ? [ref.name] : [ref.scope, ref.name];
  if (!parts.every((part) => PUBLISHABLE_PART.test(part))) {
    throw new BadRequestError(
      `"${ref.id}" cannot be published: new package names are lower case and use only a-z, 0-9, "-", "." and "_"` +
        ` (not at the start)`,
    );
  }
}

/** The tarball file name npm gives a version: the name without its scope, `-`, the version, `.tgz`. */
export function tarballFilename(ref: PackageRef, version: string): string {
  return `${ref.name}-${version}.tgz`;
}

/** The name as it appears in a URL path: `@scope%2fname` for scoped packages. */
export function escapedName(ref: PackageRef): string {
  return ref.scope === undefined ? encodeURIComponent(ref.name) : `@${ref.scope}%2f${encodeURIComponent(ref.name)}`;
}

function invalid(id: string): BadRequestError {
  return new BadRequestError(`"${id}" is not a valid npm package name`);
}
