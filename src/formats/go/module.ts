/**
 * Module paths and versions as the go command checks them (the rules of
 * golang.org/x/mod/module and golang.org/x/mod/semver): valid paths, the
 * major-version suffix (`/v2`, `gopkg.in/x.v2`), canonical versions,
 * pseudo-versions, the `!` case-encoding of paths and versions in URLs, and
 * the file paths a module zip may hold.
 *
 * @module
 */
import semver from "semver";

/** Why a path or version is refused: a sentence to show the client. */
export class ModuleRuleError extends Error {}

const WINDOWS_RESERVED = new Set([
  "con",
  "prn",
  "aux",
  "nul",
  ...Array.from({ length: 9 }, (_, i) => `com${i + 1}`),
  ...Array.from({ length: 9 }, (_, i) => `lpt${i + 1}`),
]);

type PathKind = "module" | "file";

/**
 * Checks a module path (`module.CheckPath`): ASCII letters, digits and `-._~`
 * in `/`-separated elements, a first element with a dot and only lower-case
 * letters, and a well-formed major-version suffix.
 *
 * @throws {ModuleRuleError} naming the problem.
 */
export function checkModulePath(path: string): void {
  const fail = (why: string) => new ModuleRuleError(`malformed module path "${path}": ${why}`);
  const problem = checkPath(path, "module");
  if (problem !== null) throw fail(problem);
  const first = path.split("/")[0];
  if (!first.includes(".")) throw fail("missing dot in first path element");
  if (first.startsWith("-")) throw fail("leading dash in first path element");
  for (const ch of first) {
    if (!/[-.0-9a-z]/.test(ch)) throw fail(`invalid char "${ch}" in first path element`);
  }
  if (splitPathVersion(path) === null) throw fail("invalid version suffix");
}

/**
 * Checks a file path inside a module zip, after the `<module>@<version>/`
 * prefix (`module.CheckFilePath`): no empty, `.` or `..` elements, no
 * characters that some file systems or shells refuse, no Windows device names.
 *
 * @returns why the path is refused, or `null` when it is fine.
 */
export function filePathProblem(path: string): string | null {
  return checkPath(path, "file");
}

function checkPath(path: string, kind: PathKind): string | null {
  if (path === "") return "empty string";
  if (path.includes("\uFFFD") || hasLoneSurrogate(path)) return "invalid UTF-8";
  if (path.startsWith("-") && kind !== "file") return "leading dash";
  if (path.includes("//")) return "double slash";
  if (path.endsWith("/")) return "trailing slash";
  for (const element of path.split("/")) {
    const problem = checkElement(element, kind);
    if (problem !== null) return problem;
  }
  return null;
}

function checkElement(element: string, kind: PathKind): string | null {
  if (element === "") return "empty path element";
  if (/^\.+$/.test(element)) return `invalid path element "${element}"`;
  if (element.startsWith(".") && kind === "module") return "leading dot in path element";
  if (element.endsWith(".")) return "trailing dot in path element";
  for (const ch of element) {
    if (!(kind === "module" ? modulePathChar(ch) : fileNameChar(ch))) return `invalid char ${JSON.stringify(ch)}`;
  }
  const short = element.split(".")[0];
  if (WINDOWS_RESERVED.has(short.toLowerCase())) return `"${short}" disallowed as path element component on Windows`;
  if (kind === "module" && /~\d+$/.test(short)) return "trailing tilde and digits in path element";
  return null;
}

function modulePathChar(ch: string): boolean {
  return /^[-._~0-9A-Za-z]$/.test(ch);
}

function fileNameChar(ch: string): boolean {
  if (/^[0-9A-Za-z]$/.test(ch)) return true;
  if (ch.codePointAt(0)! < 0x80) return "!#$%&()+,-.=@[]^_{}~ ".includes(ch);
  return /^\p{L}$/u.test(ch);
}

function hasLoneSurrogate(text: string): boolean {
  return /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

/**
 * Splits a module path into its prefix and major-version suffix
 * (`module.SplitPathVersion`): `example.com/m/v2` → `["example.com/m", "/v2"]`,
 * `gopkg.in/yaml.v3` → `["gopkg.in/yaml", ".v3"]`, `example.com/m` → `["example.com/m", ""]`.
 *
 * @returns `null` when the suffix is malformed (`/v1`, `/v0`, `/v2.1`, a gopkg.in path without one).
 */
export function splitPathVersion(path: string): [prefix: string, pathMajor: string] | null {
  if (path.startsWith("gopkg.in/")) {
    const match = /^(.+)(\.v(?:0|[1-9]\d*))(-unstable)?$/.exec(path);
    return match === null ? null : [match[1], match[2] + (match[3] ?? "")];
  }
  const match = /^(.*[^/])\/v([0-9.]+)$/.exec(path);
  if (match === null) return [path, ""];
  const digits = match[2];
  if (digits.includes(".") || digits.startsWith("0") || digits === "1") return null;
  return [match[1], `/v${digits}`];
}

/** The numeric major of a path's suffix (`/v2` → 2, `.v3` → 3), or `undefined` without one. */
function suffixMajor(pathMajor: string): number | undefined {
  const match = /^[./]v(\d+)/.exec(pathMajor);
  return match === null ? undefined : Number(match[1]);
}

const CANONICAL =
  /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*)?(\+incompatible)?$/;

/**
 * True when `version` is a canonical Go version: `vMAJOR.MINOR.PATCH`, an
 * optional pre-release, and no build metadata other than `+incompatible`
 * (what `module.CanonicalVersion` returns unchanged).
 */
export function isCanonicalVersion(version: string): boolean {
  return CANONICAL.test(version);
}

/** The major version number of a canonical version. */
function majorOf(version: string): number {
  return Number(/^v(\d+)/.exec(version)![1]);
}

const PSEUDO = /^v[0-9]+\.(0\.0-|\d+\.\d+-([^+]*\.)?0\.)\d{14}-[A-Za-z0-9]+(\+[0-9a-zA-Z-]+)?$/;

/** True for pseudo-versions (`v0.0.0-20240102030405-abcdefabcdef`), which version lists leave out. */
export function isPseudoVersion(version: string): boolean {
  return version.split("-").length >= 3 && isCanonicalVersion(version) && PSEUDO.test(version);
}

/** True for versions with a pre-release part (pseudo-versions included). */
export function isPrerelease(version: string): boolean {
  return version.replace(/\+incompatible$/, "").includes("-");
}

/**
 * Checks a canonical version against the module path (`module.Check` and the
 * go command's `+incompatible` rule): v2 and up need the path's `/vN` suffix,
 * unless marked `+incompatible` on a path without a suffix; `+incompatible` is
 * only for v2 and up.
 *
 * @throws {ModuleRuleError} naming the problem.
 */
export function checkVersionForPath(path: string, version: string): void {
  if (!isCanonicalVersion(version)) {
    throw new ModuleRuleError(`version "${version}" is not a canonical version (such as v1.2.3 or v2.0.0-rc.1)`);
  }
  const split = splitPathVersion(path);
  if (split === null) throw new ModuleRuleError(`malformed module path "${path}": invalid version suffix`);
  const [, pathMajor] = split;
  const major = majorOf(version);
  const incompatible = version.endsWith("+incompatible");
  if (incompatible && pathMajor !== "") {
    throw new ModuleRuleError(`${path}@${version}: +incompatible is not allowed on a path with a major-version suffix`);
  }
  if (incompatible && major < 2) {
    throw new ModuleRuleError(
      `${path}@${version}: +incompatible suffix not allowed: major version v${major} is compatible`,
    );
  }
  const wanted = suffixMajor(pathMajor);
  if (wanted === undefined) {
    if (major >= 2 && !incompatible) {
      throw new ModuleRuleError(
        `${path}@${version}: version v${major} needs the module path to end in /v${major} ` +
          `(or the version to be marked +incompatible, for code without a go.mod)`,
      );
    }
    return;
  }
  // gopkg.in/x.v1 may carry the v0.0.0 pseudo-versions an old go command made.
  if (major === wanted || (pathMajor.startsWith(".") && wanted === 1 && version.startsWith("v0.0.0-"))) return;
  throw new ModuleRuleError(`${path}@${version}: the path's suffix ${pathMajor} needs v${wanted} versions`);
}

/** Compares canonical versions by SemVer precedence (build metadata such as `+incompatible` ignored). */
export function compareVersions(a: string, b: string): number {
  return semver.compare(a.slice(1).replace(/\+incompatible$/, ""), b.slice(1).replace(/\+incompatible$/, ""));
}

/**
 * The version `@latest` names among `versions`: the highest release, else
 * the highest pre-release (or pseudo-version); `undefined` when there is none.
 */
export function latestVersion(versions: Iterable<string>): string | undefined {
  const all = [...versions].sort(compareVersions);
  return all.filter((v) => !isPrerelease(v)).at(-1) ?? all.at(-1);
}

/**
 * Case-encodes a path or version for URLs and file names (`module.EscapePath`):
 * each upper-case letter becomes `!` and its lower case.
 *
 * @example
 * escapeCase("github.com/Azure/go"); // "github.com/!azure/go"
 */
export function escapeCase(text: string): string {
  return text.replace(/[A-Z]/g, (ch) => `!${ch.toLowerCase()}`);
}

/**
 * Undoes {@link escapeCase}; `null` when `text` is not a valid encoding (an
 * upper-case letter, or `!` not followed by a lower-case letter).
 */
export function unescapeCase(text: string): string | null {
  if (/[A-Z]/.test(text) || /![^a-z]|!$/.test(text)) return null;
  return text.replace(/!([a-z])/g, (_, ch: string) => ch.toUpperCase());
}
