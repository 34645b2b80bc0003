/**
 * URLs and `Link` headers of the Swift registry API, in the exact shapes
 * SwiftPM parses: 2 fields for ordinary links, 4 for alternate manifests, and
 * no commas inside any URL (the client splits the header on commas).
 *
 * @module
 */
import type { ManifestRecord } from "./release.ts";

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

  /** `{base}/{scope}/{name}?page={page}`: one page of a release list. */
  releasePage(pkg: PackageName, page: number): string {
    return `${this.package(pkg)}?page=${page}`;
  }

  /** `{base}/search?q=...&limit=...&offset=...` */
  search(query: string, limit: number, offset: number): string {
    return `${this.base}/search?q=${segment(query)}&limit=${limit}&offset=${offset}`;
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

/** One `Link` entry in the 2-field shape SwiftPM parses: `<url>; rel="rel"`. */
export function link(url: string, rel: string): string {
  return `<${linkTarget(url)}>; rel="${rel}"`;
}

/** A repository URL of a package, as its release list advertises it. */
export interface RepositoryLink {
  url: string;
  rel: "canonical" | "alternate";
}

/** The canonical (first https) and alternate links of a release's `metadata.repositoryURLs`. */
export function repositoryLinks(metadata: Record<string, unknown>): RepositoryLink[] {
  const urls = metadata.repositoryURLs;
  if (!Array.isArray(urls) || urls.length === 0) return [];
  const all = urls.map(String);
  const canonical = all.find((u) => /^https:\/\//i.test(u)) ?? all[0];
  return [
    { url: canonical, rel: "canonical" },
    ...all.filter((u) => u !== canonical).map((url) => ({ url, rel: "alternate" as const })),
  ];
}

/** `Link` of a release: latest-version, and successor/predecessor versions when they exist. */
export function releaseLinks(urls: SwiftUrls, pkg: PackageName, versions: readonly string[], version: string): string {
  const index = versions.indexOf(version);
  const links = [link(urls.release(pkg, versions[0] ?? version), "latest-version")];
  if (index > 0) links.push(link(urls.release(pkg, versions[index - 1]), "successor-version"));
  if (index >= 0 && index < versions.length - 1) {
    links.push(link(urls.release(pkg, versions[index + 1]), "predecessor-version"));
  }
  return links.join(", ");
}

/** What an alternate-manifest link says about one manifest. */
export type ManifestLinkInfo = Pick<ManifestRecord, "filename" | "swiftVersion" | "toolsVersion">;

/** `Link` of `Package.swift`: one 4-field alternate per `Package@swift-X.swift`, or `null` when none. */
export function alternateManifestLinks(
  urls: SwiftUrls,
  pkg: PackageName,
  version: string,
  manifests: readonly ManifestLinkInfo[],
): string | null {
  const links = manifests
    .filter((m) => m.swiftVersion !== null)
    .map((m) =>
      `<${
        linkTarget(urls.manifest(pkg, version, m.swiftVersion!))
      }>; rel="alternate"; filename="${m.filename}"; swift-tools-version="${m.toolsVersion}"`
    );
  return links.length > 0 ? links.join(", ") : null;
}

/** One entry of a parsed `Link` header. */
export interface ParsedLink {
  url: string;
  /** Parameters by lower-cased name, unquoted (`rel`, `filename`, ...). */
  params: Record<string, string>;
}

/**
 * Parses a `Link` header (RFC 8288) as registries send it: `<url>; k="v"; k=v`
 * entries separated by commas. Malformed entries are skipped.
 */
export function parseLinkHeader(value: string | null | undefined): ParsedLink[] {
  const links: ParsedLink[] = [];
  for (const match of (value ?? "").matchAll(/<([^>]*)>((?:\s*;\s*[^;,=\s]+\s*=\s*(?:"[^"]*"|[^;,\s]*))*)/g)) {
    const params: Record<string, string> = {};
    for (const param of match[2].matchAll(/;\s*([^;,=\s]+)\s*=\s*(?:"([^"]*)"|([^;,\s]*))/g)) {
      params[param[1].toLowerCase()] = param[2] ?? param[3];
    }
    links.push({ url: match[1], params });
  }
  return links;
}
