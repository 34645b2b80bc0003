/**
 * Release lists (SE-0292 §4.1) of local and upstream packages alike: versions
 * highest first, withdrawn releases with a `problem` (SwiftPM leaves them out
 * of resolution), in pages of `REGISTRY_SWIFT_PAGE_SIZE` with
 * `first`/`prev`/`next`/`last` links (SwiftPM 6.2 and later follow `next`).
 * Each page's body and `Link` are built once per listing and kept.
 *
 * @module
 */
import { NotFoundError } from "../../errors.ts";
import { link, type PackageName, type RepositoryLink, repositoryLinks, type SwiftUrls } from "./links.ts";
import type { PackageIndex, ReleaseRecord } from "./release.ts";
import { type PreparedJson, prepareJson } from "./responses.ts";
import { sortVersionsDescending } from "./version.ts";

/** The `problem` of a listed release that clients must not resolve (SwiftPM requires `detail`). */
export interface ReleaseProblem {
  status: number;
  title: string;
  detail: string;
  [extension: string]: unknown;
}

/** One release in a list. */
export interface ListedRelease {
  version: string;
  problem?: ReleaseProblem;
}

/** Everything a release list shows of a package. */
export interface ReleaseListing extends PackageName {
  /** Highest version first. */
  releases: ListedRelease[];
  /** The package's repository, advertised as `canonical` / `alternate` links. */
  repository: RepositoryLink[];
}

/** One page of a release list, ready to send. */
export interface ReleaseListPage {
  prepared: PreparedJson;
  link: string;
}

/**
 * The problem a yanked or taken-down release is listed with (410), or
 * `undefined` for an available release.
 */
export function withdrawalProblem(release: ReleaseRecord): ReleaseProblem | undefined {
  if (release.takedown !== undefined) {
    return {
      status: 410,
      title: "Gone",
      detail: `release ${release.version} was taken down: ${release.takedown.reason}`,
      takedown: release.takedown,
    };
  }
  if (release.yanked !== undefined) {
    return {
      status: 410,
      title: "Gone",
      detail: `release ${release.version} was yanked: ${release.yanked.reason}`,
      yanked: release.yanked,
    };
  }
  return undefined;
}

const localListings = new WeakMap<PackageIndex, ReleaseListing>();

/** The listing of a local package (kept per stored document). */
export function localListing(pkg: PackageIndex): ReleaseListing {
  let listing = localListings.get(pkg);
  if (listing === undefined) {
    const versions = sortVersionsDescending(Object.keys(pkg.releases));
    listing = {
      scope: pkg.scope,
      name: pkg.name,
      releases: versions.map((version) => {
        const problem = withdrawalProblem(pkg.releases[version]);
        return problem === undefined ? { version } : { version, problem };
      }),
      repository: repositoryLinks(pkg.releases[versions[0]].metadata),
    };
    localListings.set(pkg, listing);
  }
  return listing;
}

// One base URL and page size per listing: a request with another Host rebuilds, so Hosts cannot grow memory.
const pages = new WeakMap<ReleaseListing, { base: string; pageSize: number; pages: Map<number, ReleaseListPage> }>();

/**
 * Page `page` (from 1) of a listing.
 *
 * @throws {NotFoundError} when the listing has fewer pages.
 */
export function releaseListPage(
  urls: SwiftUrls,
  listing: ReleaseListing,
  page: number,
  pageSize: number,
): ReleaseListPage {
  const pageCount = Math.max(1, Math.ceil(listing.releases.length / pageSize));
  if (page > pageCount) {
    throw new NotFoundError(`page ${page} of the release list does not exist (it has ${pageCount})`);
  }
  let known = pages.get(listing);
  if (known === undefined || known.base !== urls.base || known.pageSize !== pageSize) {
    known = { base: urls.base, pageSize, pages: new Map() };
    pages.set(listing, known);
  }
  let built = known.pages.get(page);
  if (built === undefined) {
    const releases = listing.releases.slice((page - 1) * pageSize, page * pageSize);
    built = {
      prepared: prepareJson({
        releases: Object.fromEntries(
          releases.map(({ version, problem }) => [
            version,
            problem === undefined ? { url: urls.release(listing, version) } : {
              url: urls.release(listing, version),
              problem,
            },
          ]),
        ),
      }),
      link: listLinks(urls, listing, page, pageCount),
    };
    known.pages.set(page, built);
  }
  return built;
}

/** latest-version (the highest available release), the repository, and pagination when there are pages. */
function listLinks(urls: SwiftUrls, listing: ReleaseListing, page: number, pageCount: number): string {
  const latest = listing.releases.find((r) => r.problem === undefined) ?? listing.releases[0];
  const links = [link(urls.release(listing, latest.version), "latest-version")];
  for (const { url, rel } of listing.repository) links.push(link(url, rel));
  if (pageCount > 1) {
    links.push(link(urls.releasePage(listing, 1), "first"));
    if (page > 1) links.push(link(urls.releasePage(listing, page - 1), "prev"));
    if (page < pageCount) links.push(link(urls.releasePage(listing, page + 1), "next"));
    links.push(link(urls.releasePage(listing, pageCount), "last"));
  }
  return links.join(", ");
}
