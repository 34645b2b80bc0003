/**
 * The package page of a Swift package (see src/formats/package_page.ts): its
 * releases, the README from the source archive, the metadata's links, and
 * the `Package.swift` line that depends on it.
 *
 * @module
 */
import type { ArchiveReadmes } from "../../core/readmes.ts";
import { GoneError, NotFoundError } from "../../errors.ts";
import { defaultVersion, type PackagePage, type PageLink, type PageRequest } from "../package_page.ts";
import { packageId, type PackageRef } from "./identity.ts";
import { keys, type PackageIndex } from "./release.ts";
import { SWIFT_BASE_PATH } from "./routes.ts";
import { sortVersionsDescending } from "./version.ts";

/** The page of `ref` as `pkg` holds it; `version` defaults to the latest release. */
export async function swiftPage(
  pkg: PackageIndex,
  ref: PackageRef,
  request: PageRequest,
  readmes: ArchiveReadmes,
): Promise<PackagePage | null> {
  // Taken-down releases are gone: their bytes are deleted and every endpoint answers 410.
  const live = Object.values(pkg.releases).filter((r) => r.takedown === undefined);
  if (live.length === 0) return null;
  const versions = sortVersionsDescending(live.map((r) => r.version)).map((version) => {
    const { publishedAt, yanked } = pkg.releases[version];
    return { version, publishedAt, prerelease: version.includes("-"), ...(yanked ? { yanked: yanked.reason } : {}) };
  });
  const version = request.version ?? defaultVersion(versions)!;
  const release = pkg.releases[version];
  if (release === undefined) throw new NotFoundError(`release ${version} of ${packageId(pkg)} not found`);
  if (release.takedown !== undefined) {
    throw new GoneError(`release ${version} of ${packageId(pkg)} was taken down: ${release.takedown.reason}`);
  }
  const metadata = release.metadata;
  const text = (value: unknown) => typeof value === "string" && value !== "" ? value : undefined;
  const author = metadata.author as { name?: unknown; organization?: { name?: unknown } } | undefined;
  const authors = [text(author?.name), text(author?.organization?.name)].filter((n) => n !== undefined);
  const links: PageLink[] = [];
  for (const url of Array.isArray(metadata.repositoryURLs) ? metadata.repositoryURLs : []) {
    if (typeof url === "string") links.push({ label: "Repository", url });
  }
  if (text(metadata.licenseURL)) links.push({ label: "License", url: text(metadata.licenseURL)! });
  if (text(metadata.readmeURL)) links.push({ label: "README", url: text(metadata.readmeURL)! });
  const id = packageId(pkg);
  return {
    id,
    description: text(metadata.description),
    versions,
    version,
    readme: await readmes.fromZip({ key: keys.archive(ref, version, release.checksum), size: release.size }),
    links,
    ...(authors.length > 0 ? { authors } : {}),
    publishedAt: release.publishedAt,
    checksum: { algorithm: "sha256", value: release.checksum },
    install: [{
      client: "Package.swift",
      line: `.package(id: "${id}", from: "${version}")`,
      setup: `swift package-registry set ${request.baseUrl}${SWIFT_BASE_PATH}`,
    }],
    origin: "local",
  };
}
