/**
 * Repository URL normalisation for `/identifiers` lookups: the same repository
 * written as https, http, ssh, scp-like `git@host:owner/repo.git`, with or
 * without `.git`, a trailing slash or upper case, maps to one key.
 *
 * @module
 */

/**
 * Normalises a repository URL to `host/path` (lower case, no scheme, user,
 * default port, `.git` suffix or trailing slash), or `null` when it is not a
 * repository URL.
 *
 * @example
 * normalizeRepositoryUrl("git@GitHub.com:Mona/LinkedList.git"); // "github.com/mona/linkedlist"
 * normalizeRepositoryUrl("https://github.com/mona/LinkedList/"); // "github.com/mona/linkedlist"
 */
export function normalizeRepositoryUrl(raw: string): string | null {
  let text = raw.trim();
  if (text.length === 0 || text.length > 2048) return null;
  // scp-like syntax: [user@]host:path (no scheme, no "//").
  const scp = /^(?:[^@/:]+@)?([^/:]+):(?!\/\/)(.+)$/.exec(text);
  if (scp && !/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) text = `ssh://${scp[1]}/${scp[2]}`;

  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (!["https:", "http:", "ssh:", "git:", "git+ssh:", "ssh+git:"].includes(url.protocol)) return null;
  if (!url.hostname) return null;
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    return null;
  }
  path = path.replace(/\/+$/, "").replace(/\.git$/i, "").replace(/\/+$/, "").replace(/^\/+/, "");
  if (path === "" || path.split("/").some((segment) => segment === "" || segment === "." || segment === "..")) {
    return null;
  }
  return `${url.hostname}/${path}`.toLowerCase();
}
