/**
 * Path rules shared by archive checks: safe relative entry paths, and where
 * a symlink points once extracted.
 *
 * @module
 */

/** A relative path of non-empty segments, none of them `.` or `..`, without backslashes, drive letters or controls. */
export function isSafeRelativePath(path: string): boolean {
  if (path === "" || path.startsWith("/") || path.includes("\\") || /^[a-zA-Z]:/.test(path)) return false;
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f]/.test(path)) return false;
  return path.split("/").every((s) => s !== "" && s !== "." && s !== "..");
}

/**
 * Where the symlink `path` (with `target`) finally points, following symlinks
 * met on the way as the kernel would after extraction; `null` for absolute
 * targets, paths climbing above the archive and loops.
 */
export function resolveLink(path: string, target: string, links: Map<string, string>): string | null {
  const resolved = path.split("/").slice(0, -1);
  let pending = target.split("/");
  let hops = 0;
  if (target === "" || target.startsWith("/") || target.includes("\\") || /^[a-zA-Z]:/.test(target)) return null;
  while (pending.length > 0) {
    const [segment, ...rest] = pending;
    pending = rest;
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (resolved.length === 0) return null;
      resolved.pop();
      continue;
    }
    resolved.push(segment);
    const link = links.get(resolved.join("/"));
    if (link !== undefined) {
      if (++hops > 40 || link.startsWith("/")) return null;
      resolved.pop();
      pending = [...link.split("/"), ...pending];
    }
  }
  return resolved.length === 0 ? null : resolved.join("/");
}
