/**
 * The package paths of the npm API, in every spelling npm clients use:
 * `@scope%2fname`, `@scope%2Fname` and `@scope/name` all name one package.
 *
 * @module
 */
import { BadRequestError, NotFoundError } from "../../errors.ts";

/** What a package path under `/npm` addresses. */
export type PackagePath =
  /** `/:name`: the packument (GET), a publish or metadata update (PUT). */
  | { kind: "packument"; name: string }
  /** `/:name/:version`: one version document (a version or a dist-tag). */
  | { kind: "version"; name: string; version: string }
  /** `/:name/-/:file`: a tarball. */
  | { kind: "tarball"; name: string; file: string }
  /** `/:name/-rev/:rev`: a revision-checked update or removal (`npm unpublish`). */
  | { kind: "revision"; name: string; rev: string }
  /** `/:name/-/:file/-rev/:rev`: removal of a tarball (`npm unpublish`). */
  | { kind: "tarball-revision"; name: string; file: string; rev: string };

/**
 * Reads a path below `/npm` (still percent-encoded, starting with `/`).
 *
 * @throws {NotFoundError} when it is no package path.
 * @throws {BadRequestError} when it is not percent-encoded properly.
 * @example
 * parsePackagePath("/@acme%2fhello/-/hello-1.0.0.tgz"); // { kind: "tarball", name: "@acme/hello", file: "hello-1.0.0.tgz" }
 */
export function parsePackagePath(path: string): PackagePath {
  const { name, rest } = splitName(path);
  if (rest.length === 0) return { kind: "packument", name };
  if (rest.length === 1 && rest[0] !== "-" && rest[0] !== "-rev") return { kind: "version", name, version: rest[0] };
  if (rest[0] === "-rev" && rest.length === 2) return { kind: "revision", name, rev: rest[1] };
  if (rest[0] === "-") {
    // npm publish itself writes `/@scope/name/-/@scope/name-1.0.0.tgz` into dist.tarball.
    const scoped = name.startsWith("@") && rest[1] === name.split("/")[0];
    const file = scoped ? rest.slice(2) : rest.slice(1);
    if (file.length === 1 && file[0] !== "") return { kind: "tarball", name, file: file[0] };
    if (file.length === 3 && file[1] === "-rev") return { kind: "tarball-revision", name, file: file[0], rev: file[2] };
  }
  throw notFound();
}

/**
 * The dist-tags path below `/npm/-/package`: `/:name/dist-tags` or `/:name/dist-tags/:tag`.
 *
 * @throws {NotFoundError} when it is not one.
 */
export function parseDistTagsPath(path: string): { name: string; tag?: string } {
  const { name, rest } = splitName(path);
  if (rest[0] !== "dist-tags" || rest.length > 2 || rest[1] === "") throw notFound();
  return rest.length === 2 ? { name, tag: rest[1] } : { name };
}

/** The package name at the start of `path` (one segment, or two for `@scope/name`) and the segments after it. */
function splitName(path: string): { name: string; rest: string[] } {
  const segments = path.split("/").slice(1).map(decode);
  if (segments.at(-1) === "") segments.pop();
  const [first, second] = segments;
  if (first === undefined || first === "" || first === "-") throw notFound();
  if (first.startsWith("@") && !first.includes("/")) {
    if (second === undefined || second === "") throw notFound();
    return { name: `${first}/${second}`, rest: segments.slice(2) };
  }
  return { name: first, rest: segments.slice(1) };
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new BadRequestError(`the path segment "${segment}" is not properly percent-encoded`);
  }
}

function notFound(): NotFoundError {
  return new NotFoundError("no such resource in the npm API");
}
