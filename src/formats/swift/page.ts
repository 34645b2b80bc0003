/**
 * The package page of a Swift package (see src/formats/package_page.ts): its
 * releases, the README from the source archive, the metadata's links, and
 * the `Package.swift` line that depends on it. Packages filled from the
 * upstream registry get one too, from its release list and metadata (their
 * README once an archive has been fetched for a client).
 *
 * @module
 */
import type { ArchiveReadmes } from "../../core/readmes.ts";
import { GoneError, NotFoundError } from "../../errors.ts";
import type { ObjectStore } from "../../storage/object_store.ts";
import {
  defaultVersion,
  type PackagePage,
  type PageLink,
  type PageReadme,
  type PageRequest,
  type PageSigner,
  type PageVersion,
} from "../package_page.ts";
import { packageId, type PackageRef } from "./identity.ts";
import { metadataSummary } from "./registry.ts";
import { signerName } from "./signer_certificate.ts";
import { keys, type PackageIndex } from "./release.ts";
import type { ReleaseListing } from "./release_list.ts";
import { SWIFT_BASE_PATH } from "./routes.ts";
import type { SwiftUpstream } from "./upstream.ts";
import { sortVersionsDescending } from "./version.ts";

/** The page of a package published here; `version` defaults to the latest release. */
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
  const { signer } = release;
  return describe(packageId(pkg), versions, version, release.metadata, request, {
    publishedAt: release.publishedAt,
    checksum: release.checksum,
    readme: await readmes.fromZip({ key: keys.archive(ref, version, release.checksum), size: release.size }),
    origin: "local",
    ...(signer === undefined ? {} : {
      signer: {
        name: signerName(signer),
        certificateSha256: signer.certificateSha256,
      },
    }),
  });
}

/** The page of a package filled from the upstream registry, from its release list and the shown release's metadata. */
export async function swiftUpstreamPage(
  listing: ReleaseListing,
  ref: PackageRef,
  request: PageRequest,
  upstream: SwiftUpstream,
  store: ObjectStore,
  readmes: ArchiveReadmes,
): Promise<PackagePage | null> {
  const versions: PageVersion[] = listing.releases.map(({ version, problem }) => ({
    version,
    prerelease: version.includes("-"),
    ...(problem === undefined ? {} : { yanked: problem.detail }),
  }));
  if (versions.length === 0) return null;
  const version = request.version ?? defaultVersion(versions)!;
  if (!versions.some((v) => v.version === version)) {
    throw new NotFoundError(`release ${version} of ${ref.id} not found`);
  }
  const release = await upstream.release(ref, version);
  const body = JSON.parse(new TextDecoder().decode(release.prepared.body)) as { metadata?: Record<string, unknown> };
  // Only an archive a client already made this registry fetch is read: a page view never downloads one.
  const archiveKey = keys.upstreamArchive(ref, version, release.checksum);
  const stored = await store.head(archiveKey);
  return describe(packageId(ref), versions, version, body.metadata ?? {}, request, {
    publishedAt: release.publishedAt,
    checksum: release.checksum,
    readme: stored === null ? undefined : await readmes.fromZip({ key: archiveKey, size: stored.size }),
    origin: "upstream",
  });
}

/** A page from a release's metadata (SE-0292 Appendix B) and what the registry knows of it. */
function describe(
  id: string,
  versions: PageVersion[],
  version: string,
  metadata: Record<string, unknown>,
  request: PageRequest,
  known: {
    publishedAt?: string;
    checksum: string;
    readme?: PageReadme;
    origin: PackagePage["origin"];
    signer?: PageSigner;
  },
): PackagePage {
  const text = (value: unknown) => typeof value === "string" && value !== "" ? value : undefined;
  const authors = metadataSummary(metadata).authors ?? [];
  const links: PageLink[] = [];
  for (const url of Array.isArray(metadata.repositoryURLs) ? metadata.repositoryURLs : []) {
    if (typeof url === "string") links.push({ label: "Repository", url });
  }
  if (text(metadata.licenseURL)) links.push({ label: "License", url: text(metadata.licenseURL)! });
  if (text(metadata.readmeURL)) links.push({ label: "README", url: text(metadata.readmeURL)! });
  return {
    id,
    description: text(metadata.description),
    versions,
    version,
    readme: known.readme,
    links,
    ...(authors.length > 0 ? { authors } : {}),
    publishedAt: known.publishedAt,
    checksum: { algorithm: "sha256", value: known.checksum },
    ...(known.signer ? { signer: known.signer } : {}),
    install: [{
      client: "Package.swift",
      line: `.package(id: "${id}", from: "${version}")`,
      setup: `swift package-registry set ${request.baseUrl}${SWIFT_BASE_PATH}`,
    }],
    origin: known.origin,
  };
}
