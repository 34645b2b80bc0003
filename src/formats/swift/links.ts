/**
 * URLs and `Link` headers of the Swift registry API, in the exact shapes
 * SwiftPM parses: 2 fields for ordinary links, 4 for alternate manifests, and
 * no commas inside any URL (the client splits the header on commas).
 *
 * @module
 */
import type { PackageIndex, ReleaseRecord } from "./release.ts";
import { sortVersionsDescending } from "./version.ts";

/** A package's scope and name as shown in URLs. */
export interface PackageName {
  scope: string;
  name: string;
}

/** Absolute URLs of the API's resources under one base (`https://host/swift`). */
export class SwiftUrls {
  readonly base: string;

  constructor(base: string) {
    this.base = base;
  }

  /** `{base}/{scope}/{name}` */
  package(pkg: PackageName): string {
    return `${this.base}/${segment(pkg.scope)}/${segment(pkg.name)}`;
  }

  /** `{base}/{scope}/{name}/{version}` */
  release(pkg: PackageName, version: string): string {
    return `${this.package(pkg)}/${segment(version)}`;
  }

  /** `{base}/{scope}/{name}/{version}/Package.swift[?swift-version=X]` */
  manifest(pkg: PackageName, version: string, swiftVersion?: string): string {
    const url = `${this.release(pkg, version)}/Package.swift`;
    return swiftVersion === undefined ? url : `${url}?swift-version=${segment(swiftVersion)}`;
  }

  /** `{base}/-/publishes/{id}`: status of an asynchronous publish. */
  publishStatus(id: string): string {
    return `${this.base}/-/publishes/${segment(id)}`;
  }
}

function segment(value: string): string {
  return encodeURIComponent(value);
}

/** Makes a client-supplied URL safe inside `<...>` of a Link header. */
function linkTarget(url: string): string {
  return url.replace(/[\s,<>;"\\]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`);
}

function link(url: string, rel: string): string {
  return `<${linkTarget(url)}>; rel="${rel}"`;
}

/** `Link` of a release list: latest-version, plus canonical/alternate repository URLs when known. */
export function releaseListLinks(urls: SwiftUrls, pkg: PackageIndex): string {
  const [latest] = sortVersionsDescending(Object.keys(pkg.releases));
  const links = [link(urls.release(pkg, latest), "latest-version")];
  const repositoryUrls = pkg.releases[latest].metadata.repositoryURLs;
  if (Array.isArray(repositoryUrls) && repositoryUrls.length > 0) {
    const all = repositoryUrls.map(String);
    const canonical = all.find((u) => /^https:\/\//i.test(u)) ?? all[0];
    links.push(link(canonical, "canonical"));
    for (const other of all) if (other !== canonical) links.push(link(other, "alternate"));
  }
  return links.join(", ");
}

/** `Link` of a release: latest-version, and successor/predecessor versions when they exist. */
export function releaseLinks(urls: SwiftUrls, pkg: PackageIndex, version: string): string {
  const versions = sortVersionsDescending(Object.keys(pkg.releases));
  const index = versions.indexOf(version);
  const links = [link(urls.release(pkg, versions[0]), "latest-version")];
  if (index > 0) links.push(link(urls.release(pkg, versions[index - 1]), "successor-version"));
  if (index >= 0 && index < versions.length - 1) {
    links.push(link(urls.release(pkg, versions[index + 1]), "predecessor-version"));
  }
  return links.join(", ");
}

/** `Link` of `Package.swift`: one 4-field alternate per `Package@swift-X.swift`, or `null` when none. */
export function alternateManifestLinks(urls: SwiftUrls, pkg: PackageIndex, release: ReleaseRecord): string | null {
  const links = release.manifests
    .filter((m) => m.swiftVersion !== null)
    .map((m) =>
      `<${
        linkTarget(urls.manifest(pkg, release.version, m.swiftVersion!))
      }>; rel="alternate"; filename="${m.filename}"; swift-tools-version="${m.toolsVersion}"`
    );
  return links.length > 0 ? links.join(", ") : null;
}
