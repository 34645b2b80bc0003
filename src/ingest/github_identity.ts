/**
 * Package identity of a GitHub repository: `owner.repo` under the spec's
 * rules. The owner is the scope (GitHub owner names already follow the scope
 * rules). The repository name becomes the package name with characters the
 * spec forbids mapped deterministically: every run of `.`, `-` and `_` that
 * is not a single `-` or `_` becomes one `_` (so `URITemplate.swift` is
 * `URITemplate_swift`), separators at either end are dropped, and the result
 * is cut to 100 characters.
 *
 * @module
 */
import { isValidName, isValidScope, type PackageRef, packageRef } from "../formats/swift/identity.ts";

/** The package a GitHub repository is mirrored as, or `null` when no valid identity exists. */
export function packageForRepository(owner: string, repo: string): PackageRef | null {
  const name = repo
    .replace(/[._-]{2,}|\./g, "_")
    .replace(/^[-_]+|[-_]+$/g, "")
    .slice(0, 100)
    .replace(/[-_]+$/, "");
  if (!isValidScope(owner) || !isValidName(name)) return null;
  return packageRef(owner, name);
}

/** The fields of the API's repository document (`GET /repos/{owner}/{repo}`) that locate the repository. */
export interface RepositoryLocation {
  html_url?: string | null;
  clone_url?: string | null;
  ssh_url?: string | null;
}

/**
 * The URLs a repository is known by, for `/identifiers`, as its repository
 * document gives them: the web page (`html_url`), the https clone URL
 * (`clone_url`), the scp-like ssh URL (`ssh_url`) and its `ssh://` form. So
 * GitHub Enterprise, an API proxy or a compatible server map the URLs its
 * users clone from, whatever host name the API answers on.
 *
 * @example
 * repositoryUrls({ html_url: "https://github.com/mona/LinkedList", ssh_url: "git@github.com:mona/LinkedList.git" });
 * // ["https://github.com/mona/LinkedList", "git@github.com:mona/LinkedList.git", "ssh://git@github.com/mona/LinkedList.git"]
 */
export function repositoryUrls(location: RepositoryLocation): string[] {
  const urls = [location.html_url, location.clone_url, location.ssh_url].filter(
    (url): url is string => typeof url === "string" && url.trim() !== "",
  );
  const scp = /^([^@/:]+)@([^/:]+):([^/].*)$/.exec(location.ssh_url ?? "");
  if (scp !== null) urls.push(`ssh://${scp[1]}@${scp[2]}/${scp[3]}`);
  return [...new Set(urls)];
}

/**
 * The URLs built from the host name of the API (`api.github.com` is read as
 * `github.com`): what releases were mirrored with before the repository
 * document was used, and the fallback for a document that names no URL.
 */
export function hostRepositoryUrls(host: string, owner: string, repo: string): string[] {
  return repositoryUrls({
    html_url: `https://${host}/${owner}/${repo}`,
    clone_url: `https://${host}/${owner}/${repo}.git`,
    ssh_url: `git@${host}:${owner}/${repo}.git`,
  });
}
