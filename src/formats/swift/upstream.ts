/**
 * Pull-through from an upstream SE-0292 registry (`REGISTRY_SWIFT_UPSTREAM`),
 * for edge nodes in front of a central registry. A package this registry
 * does not have is served from the upstream: its release list, metadata,
 * manifests (alternates included) with links to this registry, and its
 * archives, which are checked against the upstream's checksum before they are
 * stored and then kept. Lists, metadata and manifests are revalidated after
 * `REGISTRY_UPSTREAM_TTL` and served stale while the upstream is down (the
 * core's {@link Upstream} does the fetching, caching and single flight).
 *
 * Rules that keep outsiders out:
 * - a package with local releases never mixes in upstream versions, and a
 *   scope that holds any local package is never filled from the upstream (an
 *   outsider cannot publish `mycorp.newthing` upstream and have it resolved
 *   here); `REGISTRY_SWIFT_UPSTREAM_SCOPES` can narrow the scopes further;
 * - the checksum (and signature) first seen for a version is pinned in
 *   storage: SwiftPM's TOFU depends on bytes that never change, so an
 *   upstream that later changes them is not followed.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { ArtifactInfo, Artifacts } from "../../core/artifacts.ts";
import type { Catalog, CatalogEntry } from "../../core/catalog.ts";
import type { Upstream, UpstreamDocument } from "../../core/upstream.ts";
import { BadGatewayError, BadRequestError, GoneError, NotFoundError } from "../../errors.ts";
import type { Logger } from "../../log.ts";
import { LocalScopes } from "../../core/local_scopes.ts";
import type { DocumentCache } from "../../storage/document_cache.ts";
import type { ObjectStore } from "../../storage/object_store.ts";
import { LruCache } from "../../util/lru_cache.ts";
import { isValidName, isValidScope, type PackageRef, packageRef } from "./identity.ts";
import { type ManifestLinkInfo, parseLinkHeader, type RepositoryLink } from "./links.ts";
import { MANIFEST_FILENAME, swiftVersionCandidates } from "./manifest.ts";
import { metadataSummary, newestAvailable } from "./registry.ts";
import { isObject, keys, type SigningRecord } from "./release.ts";
import type { ListedRelease, ReleaseListing, ReleaseProblem } from "./release_list.ts";
import { type PreparedJson, prepareJson } from "./responses.ts";
import { normalizeVersion, sortVersionsDescending } from "./version.ts";
import { normalizeRepositoryUrl } from "./repository_url.ts";

const JSON_ACCEPT = "application/vnd.swift.registry.v1+json";
const SWIFT_ACCEPT = "application/vnd.swift.registry.v1+swift";
/** Most pages of an upstream release list followed (`Link: rel="next"`). */
const MAX_LIST_PAGES = 100;

/** The checksums (and signatures) first seen for a package's versions. */
interface PinnedReleases {
  releases: Record<string, PinnedRelease>;
}

interface PinnedRelease {
  checksum: string;
  signing?: SigningRecord;
}

/** A release of an upstream package, as this registry serves it. */
export interface UpstreamRelease {
  /** The metadata body: the upstream's, with the pinned checksum and signature. */
  prepared: PreparedJson;
  checksum: string;
  signing?: SigningRecord;
  publishedAt?: string;
  /** Every version of the package, highest first (for the neighbour links). */
  versions: string[];
}

/** A manifest of an upstream release. */
export type UpstreamManifest =
  | {
    kind: "content";
    filename: string;
    content: Uint8Array<ArrayBuffer>;
    etag: string;
    alternates: ManifestLinkInfo[];
  }
  | { kind: "fallback" };

/** Dependencies of {@link SwiftUpstream}. */
export interface SwiftUpstreamOptions {
  upstream: Upstream;
  /** Lower-cased scopes that may be filled; every scope without local packages when absent. */
  scopes?: readonly string[];
  documents: DocumentCache;
  store: ObjectStore;
  artifacts: Artifacts;
  catalog: Catalog;
  logger: Logger;
}

/** Serves Swift packages from the upstream registry. */
export class SwiftUpstream {
  readonly #options: SwiftUpstreamOptions;
  readonly #upstream: Upstream;
  /** Scopes found to have no local packages by listing storage (data from before scope markers existed). */
  readonly #localScopes: LocalScopes;
  /** What was built from upstream documents, by resource, with the `checkedAt` of the documents. */
  readonly #built = new LruCache<string, { version: string; value: unknown }>(5_000);
  /** Listings whose catalog entry is up to date. */
  readonly #catalogued = new WeakSet<ReleaseListing>();

  constructor(options: SwiftUpstreamOptions) {
    this.#options = options;
    this.#upstream = options.upstream;
    // Packages published before scopes were marked are found under their scope's prefix.
    this.#localScopes = new LocalScopes({ ...options, format: "swift", packagesPrefix: (s) => `swift/packages/${s}/` });
  }

  /**
   * Whether `ref` may come from the upstream: its scope is allowed and holds
   * no local package (the caller has checked that `ref` itself is not local).
   */
  async fills(ref: PackageRef): Promise<boolean> {
    const scope = ref.scope.toLowerCase();
    if (this.#options.scopes !== undefined && !this.#options.scopes.includes(scope)) return false;
    return !await this.#localScopes.has(scope);
  }

  /** The release list of an upstream package (every page merged), or `null` when the upstream has none. */
  async listing(ref: PackageRef): Promise<ReleaseListing | null> {
    const path = packagePath(ref);
    const pages: UpstreamDocument[] = [];
    let next: string | undefined = path;
    while (next !== undefined && pages.length < MAX_LIST_PAGES) {
      const page = await this.#upstream.document(next, JSON_ACCEPT);
      if (page === null) {
        if (pages.length === 0) return null;
        break;
      }
      pages.push(page);
      next = this.#nextPage(path, page.link);
    }
    const listing = this.#build(`list ${ref.key}`, pages, () => listingOf(ref, pages));
    if (!this.#catalogued.has(listing)) {
      this.#catalogued.add(listing);
      await this.#recordInCatalog(ref, listing);
    }
    return listing;
  }

  /**
   * The metadata of an upstream release, with the checksum pinned.
   *
   * @throws {NotFoundError} when the upstream does not have it.
   * @throws {GoneError} when the upstream lists it as withdrawn and serves it no more.
   * @throws {BadGatewayError} when the upstream's answer is unusable.
   */
  async release(ref: PackageRef, version: string): Promise<UpstreamRelease> {
    const document = await this.#upstream.document(releasePath(ref, version), JSON_ACCEPT);
    // The list gives the neighbour links, or the reason a release is gone; metadata that is there is served without it.
    const listing = await this.listing(ref).catch((error) => {
      if (document === null) throw error;
      return null;
    });
    if (document === null) {
      await this.#forget(ref, version);
      const problem = listing?.releases.find((r) => r.version === version)?.problem;
      if (problem !== undefined) throw new GoneError(problem.detail);
      throw new NotFoundError(`release ${version} of ${ref.id} not found`);
    }
    const resource = `${ref.key}@${version}`;
    const parsed = this.#build(`metadata ${resource}`, [document], () => parseReleaseMetadata(document, ref, version));
    const pinned = await this.#pin(ref, version, parsed.pin);
    const versions = listing?.releases.map((r) => r.version) ?? [];
    return {
      prepared: this.#build(
        `release ${resource}`,
        [document],
        () => prepareJson(withPinnedArchive(parsed.body, pinned)),
      ),
      checksum: pinned.checksum,
      ...(pinned.signing ? { signing: pinned.signing } : {}),
      ...(parsed.publishedAt ? { publishedAt: parsed.publishedAt } : {}),
      versions: versions.includes(version) ? versions : sortVersionsDescending([...versions, version]),
    };
  }

  /**
   * `Package.swift`, or the alternate for `swiftVersion` (`fallback` when the
   * release has none: the caller redirects to `Package.swift`).
   *
   * @throws {NotFoundError} when the upstream does not have the release.
   * @throws {BadRequestError} for a `swiftVersion` that is not a version.
   */
  async manifest(ref: PackageRef, version: string, swiftVersion?: string): Promise<UpstreamManifest> {
    const path = `${releasePath(ref, version)}/Package.swift`;
    const main = await this.#upstream.document(path, SWIFT_ACCEPT);
    if (main === null) throw new NotFoundError(`release ${version} of ${ref.id} not found`);
    const alternates = this.#build(`alternates ${ref.key}@${version}`, [main], () => alternatesOf(main.link));
    let document = main;
    let filename = "Package.swift";
    if (swiftVersion !== undefined) {
      const candidates = swiftVersionCandidates(swiftVersion);
      if (candidates === null) {
        throw new BadRequestError(`invalid swift-version "${swiftVersion}": expected e.g. 5.9 or 5.9.0`);
      }
      const alternate = alternates.find((m) => candidates.includes(m.filename));
      if (alternate === undefined) return { kind: "fallback" };
      const found = await this.#upstream.document(`${path}?swift-version=${alternate.swiftVersion}`, SWIFT_ACCEPT);
      if (found === null) return { kind: "fallback" };
      document = found;
      filename = alternate.filename;
    }
    return this.#build(`manifest ${ref.key}@${version}/${filename}`, [document], () => ({
      kind: "content",
      filename,
      content: document.body,
      etag: `"${createHash("sha256").update(document.body).digest("hex")}"`,
      alternates,
    }));
  }

  /**
   * Makes sure the archive of an upstream release is stored (downloaded once
   * however many clients miss at once, refused unless it matches the pinned
   * checksum) and describes it for serving.
   */
  async archive(ref: PackageRef, release: UpstreamRelease, version: string): Promise<ArtifactInfo> {
    const key = keys.upstreamArchive(ref, version, release.checksum);
    const stored = await this.#upstream.fetchArtifact(
      this.#upstream.url + `/${releasePath(ref, version)}.zip`,
      key,
      { sha256: release.checksum },
      "application/zip",
      keys.legacyUpstreamArchive(ref, version, release.checksum),
    );
    return {
      key,
      size: stored.size,
      etag: `"${release.checksum}"`,
      lastModified: new Date(release.publishedAt ?? stored.lastModified),
    };
  }

  /** Identifiers the upstream knows for a repository URL, limited to packages this registry may fill. */
  async identifiers(url: string): Promise<string[]> {
    if (normalizeRepositoryUrl(url) === null) return [];
    const document = await this.#upstream.document(`identifiers?url=${encodeURIComponent(url)}`, JSON_ACCEPT);
    if (document === null) return [];
    const listed = (parseJson(document, "identifiers") as { identifiers?: unknown }).identifiers;
    const found = new Set<string>();
    for (const identifier of Array.isArray(listed) ? listed : []) {
      const ref = refOf(identifier);
      if (ref !== null && await this.fills(ref)) found.add(ref.id);
    }
    return [...found].sort();
  }

  /** The upstream path of the page after `link`'s `rel="next"`, on the upstream's own base. */
  #nextPage(path: string, link: string | undefined): string | undefined {
    const next = parseLinkHeader(link).find((l) => l.params.rel === "next");
    if (next === undefined || !URL.canParse(next.url, this.#upstream.url)) return undefined;
    const url = new URL(next.url, this.#upstream.url);
    // A central registry behind another public URL: keep its query, ask on the configured base.
    return url.origin === new URL(this.#upstream.url).origin ? url.href : `${path}${url.search}`;
  }

  /** `make()`, built again only when one of `documents` was fetched again. */
  #build<T>(key: string, documents: UpstreamDocument[], make: () => T): T {
    const version = documents.map((d) => `${d.checkedAt}:${d.body.byteLength}`).join(",");
    const known = this.#built.get(key);
    if (known?.version === version) return known.value as T;
    const value = make();
    this.#built.set(key, { version, value });
    return value;
  }

  /** Pins the first checksum seen for a version; later ones that differ are logged and ignored. */
  async #pin(ref: PackageRef, version: string, seen: PinnedRelease): Promise<PinnedRelease> {
    const key = keys.upstreamPins(ref);
    let pinned = (await this.#options.documents.read<PinnedReleases>(key))?.releases[version];
    if (pinned === undefined) {
      const stored = await this.#options.documents.update<PinnedReleases>(key, (current) => {
        if (current?.releases[version] !== undefined) return undefined;
        return { releases: { ...current?.releases, [version]: seen } };
      });
      pinned = stored.releases[version];
    }
    if (pinned.checksum !== seen.checksum) {
      this.#options.logger.log("error", "the upstream changed the checksum of a release; serving the first one", {
        package: ref.id,
        version,
        pinned: pinned.checksum,
        upstream: seen.checksum,
      });
    }
    return pinned;
  }

  /** Drops the stored archive of a release the upstream no longer serves (taken down there). */
  async #forget(ref: PackageRef, version: string): Promise<void> {
    const pinned = (await this.#options.documents.read<PinnedReleases>(keys.upstreamPins(ref)))?.releases[version];
    if (pinned === undefined) return;
    await this.#options.artifacts.delete(keys.upstreamArchive(ref, version, pinned.checksum));
    await this.#options.artifacts.delete(keys.legacyUpstreamArchive(ref, version, pinned.checksum));
  }

  /** Records (or refreshes) the package's catalog entry, origin "upstream", when it changed. */
  async #recordInCatalog(ref: PackageRef, listing: ReleaseListing): Promise<void> {
    const withdrawn = new Set(listing.releases.filter((r) => r.problem !== undefined).map((r) => r.version));
    const latest = newestAvailable(listing.releases.map((r) => r.version), (v) => withdrawn.has(v));
    if (latest === undefined) return;
    try {
      const document = await this.#upstream.document(releasePath(ref, latest), JSON_ACCEPT);
      const release = document === null ? undefined : parseReleaseMetadata(document, ref, latest);
      const entry = upstreamEntry(ref, listing, latest, release);
      await this.#options.catalog.record(entry);
    } catch (error) {
      this.#options.logger.log("warn", "could not record an upstream package in the catalog", {
        package: ref.id,
        error: String(error),
      });
    }
  }
}

function packagePath(ref: PackageRef): string {
  return `${encodeURIComponent(ref.scope)}/${encodeURIComponent(ref.name)}`;
}

function releasePath(ref: PackageRef, version: string): string {
  return `${packagePath(ref)}/${encodeURIComponent(version)}`;
}

function parseJson(document: UpstreamDocument, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(document.body));
  } catch {
    throw new BadGatewayError(`the upstream's ${what} is not JSON`);
  }
}

/** The release list documents (every page) as a listing: strict SemVer keys, withdrawn ones with their problem. */
function listingOf(ref: PackageRef, pages: UpstreamDocument[]): ReleaseListing {
  const problems = new Map<string, ReleaseProblem | undefined>();
  for (const page of pages) {
    const releases = (parseJson(page, `release list of ${ref.id}`) as { releases?: unknown }).releases;
    if (!isObject(releases)) throw new BadGatewayError(`the upstream's release list of ${ref.id} has no releases`);
    for (const [version, value] of Object.entries(releases)) {
      if (normalizeVersion(version) !== version) continue; // SwiftPM drops what is not strict SemVer too
      const problem = isObject(value) && isObject(value.problem) ? value.problem : undefined;
      problems.set(
        version,
        problem === undefined ? undefined : {
          status: typeof problem.status === "number" ? problem.status : 410,
          title: typeof problem.title === "string" ? problem.title : "Gone",
          detail: typeof problem.detail === "string" ? problem.detail : `release ${version} is not available`,
        },
      );
    }
  }
  const releases: ListedRelease[] = sortVersionsDescending(problems.keys()).map((version) => {
    const problem = problems.get(version);
    return problem === undefined ? { version } : { version, problem };
  });
  if (releases.length === 0) throw new BadGatewayError(`the upstream's release list of ${ref.id} is empty`);
  const repository: RepositoryLink[] = parseLinkHeader(pages[0].link)
    .filter((l) => (l.params.rel === "canonical" || l.params.rel === "alternate") && !/[\s<>]/.test(l.url))
    .map((l) => ({ url: l.url, rel: l.params.rel as RepositoryLink["rel"] }));
  return { scope: ref.scope, name: ref.name, releases, repository };
}

/** The upstream's release metadata, checked for what SwiftPM needs. */
function parseReleaseMetadata(document: UpstreamDocument, ref: PackageRef, version: string) {
  const body = parseJson(document, `metadata of ${ref.id} ${version}`);
  const resources = isObject(body) && Array.isArray(body.resources) ? body.resources : [];
  const archive = resources.find((r) => isObject(r) && r.name === "source-archive");
  const checksum = isObject(archive) && typeof archive.checksum === "string" ? archive.checksum.toLowerCase() : "";
  if (!isObject(body) || !/^[0-9a-f]{64}$/.test(checksum)) {
    throw new BadGatewayError(`the upstream's metadata of ${ref.id} ${version} has no source-archive checksum`);
  }
  const signing = isObject(archive) && isObject(archive.signing) &&
      typeof archive.signing.signatureBase64Encoded === "string" && typeof archive.signing.signatureFormat === "string"
    ? {
      signatureBase64Encoded: archive.signing.signatureBase64Encoded,
      signatureFormat: archive.signing.signatureFormat,
    }
    : undefined;
  return {
    body,
    pin: signing === undefined ? { checksum } : { checksum, signing },
    metadata: isObject(body.metadata) ? body.metadata : {},
    publishedAt: typeof body.publishedAt === "string" && !Number.isNaN(Date.parse(body.publishedAt))
      ? body.publishedAt
      : undefined,
  };
}

/** The metadata body with the source archive's checksum and signature as pinned. */
function withPinnedArchive(body: Record<string, unknown>, pinned: PinnedRelease): Record<string, unknown> {
  const resources = (body.resources as unknown[]).map((resource) => {
    if (!isObject(resource) || resource.name !== "source-archive") return resource;
    const { signing: _signing, ...rest } = resource;
    return { ...rest, checksum: pinned.checksum, ...(pinned.signing ? { signing: pinned.signing } : {}) };
  });
  return { ...body, resources };
}

/** The alternate manifests a `Package.swift` `Link` header names (only well-formed ones). */
function alternatesOf(link: string | undefined): ManifestLinkInfo[] {
  const alternates: ManifestLinkInfo[] = [];
  for (const { params } of parseLinkHeader(link)) {
    const swiftVersion = MANIFEST_FILENAME.exec(params.filename ?? "")?.[1];
    const toolsVersion = params["swift-tools-version"];
    if (params.rel !== "alternate" || swiftVersion === undefined) continue;
    if (toolsVersion === undefined || !/^\d+(?:\.\d+){0,2}$/.test(toolsVersion)) continue;
    if (alternates.some((m) => m.filename === params.filename)) continue;
    alternates.push({ filename: params.filename, swiftVersion, toolsVersion });
  }
  return alternates;
}

/** `scope.name` as a ref, or `null` when it is not a valid identifier. */
function refOf(identifier: unknown): PackageRef | null {
  if (typeof identifier !== "string") return null;
  const dot = identifier.indexOf(".");
  const [scope, name] = [identifier.slice(0, dot), identifier.slice(dot + 1)];
  return dot > 0 && isValidScope(scope) && isValidName(name) ? packageRef(scope, name) : null;
}

/** The catalog entry of an upstream package, from its latest release's metadata (when it could be read). */
function upstreamEntry(
  ref: PackageRef,
  listing: ReleaseListing,
  latest: string,
  release: ReturnType<typeof parseReleaseMetadata> | undefined,
): CatalogEntry {
  // The upstream's spelling of the identity (requests may use any case).
  const named = refOf(release?.body.id);
  const { scope, name } = named?.key === ref.key ? named : ref;
  return {
    format: "swift",
    key: ref.key,
    id: `${scope}.${name}`,
    scope,
    name,
    ...metadataSummary(release?.metadata ?? {}),
    latestVersion: latest,
    versions: listing.releases.filter((r) => r.problem === undefined).length,
    updatedAt: release?.publishedAt ?? "1970-01-01T00:00:00Z",
    origin: "upstream",
  };
}
