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

/** The URLs a GitHub repository is known by (https and ssh forms), for `/identifiers`. */
export function repositoryUrls(host: string, owner: string, repo: string): string[] {
  return [
    `https://${host}/${owner}/${repo}`,
    `https://${host}/${owner}/${repo}.git`,
    `git@${host}:${owner}/${repo}.git`,
    `ssh://git@${host}/${owner}/${repo}.git`,
  ];
}
