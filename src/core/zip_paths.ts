/**
 * Paths inside an archive as extraction would create them: which names are
 * safe, which collide on case-insensitive disks or lie inside a file or a
 * symlink ({@link PathTree}), and where a symlink finally points
 * ({@link resolveLink}).
 *
 * @module
 */
import type { ZipEntryInfo } from "./zip_scan.ts";

const MAX_LINK_HOPS = 40;

/** Why `name` is not a safe relative path, or `null` when it is one. */
export function unsafeName(name: string): string | null {
  if (name.startsWith("/")) return "absolute";
  if (name.includes("\\")) return "backslash";
  if (/^[a-zA-Z]:/.test(name)) return "drive letter";
  if (name.includes("\0")) return "NUL character";
  const segments = name.split("/");
  if (segments.includes("..")) return '".." segment';
  if (segments.includes(".")) return '"." segment';
  if (segments.includes("")) return "empty segment";
  return null;
}

/**
 * Where the symlink `name` (pointing to `target`) finally points, as a path
 * inside the archive, following every symlink met on the way like the kernel
 * would after extraction; `null` for absolute targets, paths climbing out of
 * `root` (even on the way), `root` itself and loops.
 *
 * `root` is the directory the link must stay in: the archive itself (`""`,
 * the default), or a top-level directory that clients strip or rename when
 * they extract (npm's `package/`, a Swift package's directory), so that
 * `root/a -> ../root/b` would leave it.
 *
 * @example
 * resolveLink("pkg/a/link", "../b", new Map()); // "pkg/b"
 * resolveLink("pkg/a", "../pkg/b", new Map(), "pkg"); // null
 */
export function resolveLink(name: string, target: string, links: Map<string, string>, root = ""): string | null {
  const rootDepth = root === "" ? 0 : root.split("/").length;
  if (root !== "" && !name.startsWith(`${root}/`)) return null;
  const resolved = name.split("/").slice(0, -1);
  let pending = target.split("/");
  let hops = 0;
  if (isAbsolute(target)) return null;
  while (pending.length > 0) {
    const [segment, ...rest] = pending;
    pending = rest;
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (resolved.length <= rootDepth) return null;
      resolved.pop();
      continue;
    }
    resolved.push(segment);
    const link = links.get(resolved.join("/"));
    if (link !== undefined) {
      if (++hops > MAX_LINK_HOPS || isAbsolute(link)) return null;
      resolved.pop();
      pending = [...link.split("/"), ...pending];
    }
  }
  return resolved.length <= rootDepth ? null : resolved.join("/");
}

function isAbsolute(target: string): boolean {
  return target === "" || target.startsWith("/") || target.includes("\\") || /^[a-zA-Z]:/.test(target);
}

/**
 * The paths of the entries listed so far and of the directories they imply,
 * to refuse, whatever the order of the entries, names differing only by case
 * and entries lying inside a file or a symlink.
 */
export class PathTree {
  /** Paths by their case-folded form. */
  readonly #spellings = new Map<string, string>();
  readonly #types = new Map<string, ZipEntryInfo["type"]>();
  /** The first entry seen inside each directory path. */
  readonly #firstInside = new Map<string, string>();

  /** Adds an entry; returns what is wrong with it, or `null`. */
  add({ name, type }: ZipEntryInfo): string | null {
    const segments = name.split("/");
    for (let depth = 1; depth < segments.length; depth++) {
      const parent = segments.slice(0, depth).join("/");
      const parentType = this.#types.get(parent);
      if (parentType === "file" || parentType === "symlink") {
        return `entry "${name}" lies inside the ${parentType} "${parent}"`;
      }
      if (!this.#firstInside.has(parent)) {
        this.#firstInside.set(parent, name);
        const collision = this.#spell(parent);
        if (collision !== null) return collision;
      }
    }
    const inside = this.#firstInside.get(name);
    if (inside !== undefined && type !== "directory") return `entry "${inside}" lies inside the ${type} "${name}"`;
    this.#types.set(name, type);
    return this.#spell(name);
  }

  #spell(path: string): string | null {
    const folded = path.normalize("NFC").toLowerCase();
    const other = this.#spellings.get(folded);
    if (other === undefined) this.#spellings.set(folded, path);
    else if (other !== path) return `entries "${other}" and "${path}" differ only by case`;
    return null;
  }
}
