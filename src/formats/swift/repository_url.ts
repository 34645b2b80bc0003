/**
 * Repository URL normalisation for `/identifiers` lookups: the same repository
 * written as https, http, ssh, scp-like `git@host:owner/repo.git`, with or
 * without `.git`, a trailing slash or upper case, maps to one key.
 *
 * @module
 */

const SCHEMES = new Set(["https", "http", "ssh", "git", "git+ssh", "ssh+git"]);

/**
 * Normalises a repository URL to `host/path` (lower case, no scheme, user,
 * port, `.git` suffix or trailing slash), or `null` when it is not a
 * repository URL. Paths with `.`/`..`/empty segments or encoded slashes are
 * refused rather than resolved, so no spelling can alias another repository.
 *
 * @example
 * normalizeRepositoryUrl("git@GitHub.com:Mona/LinkedList.git"); // "github.com/mona/linkedlist"
 * normalizeRepositoryUrl("https://github.com/mona/LinkedList/"); // "github.com/mona/linkedlist"
 */
export function normalizeRepositoryUrl(raw: string): string | null {
  const text = raw.trim();
  if (text.length === 0 || text.length > 2048) return null;
  const parts = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:[?#].*)?$/i.exec(text) ??
    // scp-like syntax: [user@]host:path
    /^()(?:[^@/:]+@)?([^/:]+):(?!\/\/)([^?#]+)$/.exec(text);
  if (parts === null) return null;
  const [, scheme, authority, rawPath] = parts;
  if (scheme !== "" && !SCHEMES.has(scheme.toLowerCase())) return null;

  let host: string;
  try {
    host = new URL(`http://${authority.slice(authority.lastIndexOf("@") + 1)}/`).hostname;
  } catch {
    return null;
  }
  if (host === "") return null;

  const segments = rawPath.replace(/\/+$/, "").replace(/\.git$/i, "").replace(/\/+$/, "").replace(/^\/+/, "").split(
    "/",
  );
  const decoded: string[] = [];
  for (const segment of segments) {
    let value: string;
    try {
      value = decodeURIComponent(segment);
    } catch {
      return null;
    }
    if (value === "" || value === "." || value === ".." || /[/\\]/.test(value)) return null;
    decoded.push(value);
  }
  return `${host}/${decoded.join("/")}`.toLowerCase();
}
