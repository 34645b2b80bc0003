/**
 * The package page of an npm package (see src/formats/package_page.ts), from
 * the stored document of a package published here, or from the packument of
 * one cached from the upstream: versions (deprecations marked), the README
 * npm keeps for the package (that of its `latest` version), license, links
 * and the `npm install` line.
 *
 * @module
 */
import * as semver from "semver";
import type { PackageRef } from "../../core/package.ts";
import { NotFoundError } from "../../errors.ts";
import { defaultVersion, type PackagePage, type PageLink, type PageRequest } from "../package_page.ts";
import { manifestSummary, type NpmPackageDocument, sortVersionsDescending } from "./document.ts";
import { asObject } from "./packument.ts";
import { NPM_BASE_PATH } from "./routes.ts";

/** What a page needs of a package, from either source. */
interface NpmPageSource {
  versions: Record<string, { manifest: Record<string, unknown>; publishedAt?: string; integrity?: string }>;
  latest?: string;
  readme?: string;
  origin: PackagePage["origin"];
}

/** The page of a package published here. */
export function npmPage(doc: NpmPackageDocument, ref: PackageRef, request: PageRequest): PackagePage | null {
  return page(
    {
      versions: Object.fromEntries(
        Object.entries(doc.versions).map(([version, record]) => [version, {
          manifest: record.deprecated === undefined
            ? record.manifest
            : { ...record.manifest, deprecated: record.deprecated },
          publishedAt: record.publishedAt,
          integrity: record.tarball.integrity,
        }]),
      ),
      latest: doc.distTags.latest,
      readme: doc.readme,
      origin: "local",
    },
    ref,
    request,
  );
}

/** The page of a package cached from the upstream, from its packument. */
export function npmUpstreamPage(
  packument: Record<string, unknown>,
  ref: PackageRef,
  request: PageRequest,
): PackagePage | null {
  const versions = asObject(packument.versions);
  const times = asObject(packument.time);
  const latest = asObject(packument["dist-tags"]).latest;
  return page(
    {
      versions: Object.fromEntries(
        Object.entries(versions).map(([version, manifest]) => {
          const integrity = asObject(asObject(manifest).dist).integrity;
          const time = times[version];
          return [version, {
            manifest: asObject(manifest),
            ...(typeof time === "string" ? { publishedAt: time } : {}),
            ...(typeof integrity === "string" ? { integrity } : {}),
          }];
        }),
      ),
      latest: typeof latest === "string" ? latest : undefined,
      readme: typeof packument.readme === "string" ? packument.readme : undefined,
      origin: "upstream",
    },
    ref,
    request,
  );
}

function page(source: NpmPageSource, ref: PackageRef, request: PageRequest): PackagePage | null {
  const valid = Object.keys(source.versions).filter((v) => semver.valid(v) !== null);
  if (valid.length === 0) return null;
  const versions = sortVersionsDescending(valid).map((version) => {
    const { manifest, publishedAt } = source.versions[version];
    const deprecated = manifest.deprecated;
    return {
      version,
      ...(publishedAt === undefined ? {} : { publishedAt }),
      prerelease: semver.prerelease(version) !== null,
      ...(typeof deprecated === "string" && deprecated !== "" ? { deprecated } : {}),
    };
  });
  const latest = source.latest !== undefined && valid.includes(source.latest) ? source.latest : undefined;
  const version = request.version ?? latest ?? defaultVersion(versions)!;
  const shown = Object.hasOwn(source.versions, version) ? source.versions[version] : undefined;
  if (shown === undefined) throw new NotFoundError(`${ref.id}@${version} not found`);
  const { manifest } = shown;
  const summary = manifestSummary(manifest);
  const license = typeof manifest.license === "string"
    ? manifest.license
    : typeof asObject(manifest.license).type === "string"
    ? asObject(manifest.license).type as string
    : undefined;
  return {
    id: ref.id,
    ...(summary.description === undefined ? {} : { description: summary.description }),
    versions,
    version,
    // npm keeps one README per package: the latest version's.
    ...(source.readme && (latest === undefined || version === latest)
      ? { readme: { text: source.readme, markup: "markdown" as const } }
      : {}),
    ...(license === undefined ? {} : { license }),
    links: links(manifest),
    ...(summary.authors === undefined ? {} : { authors: summary.authors }),
    ...(summary.keywords === undefined ? {} : { keywords: summary.keywords }),
    ...(shown.publishedAt === undefined ? {} : { publishedAt: shown.publishedAt }),
    ...(shown.integrity === undefined ? {} : { checksum: { algorithm: "integrity", value: shown.integrity } }),
    install: [{
      client: "npm",
      line: `npm install ${ref.id}@${version}`,
      setup: `npm config set ${
        ref.scope === undefined ? "" : `@${ref.scope}:`
      }registry ${request.baseUrl}${NPM_BASE_PATH}/`,
    }],
    origin: source.origin,
  };
}

/** Repository, homepage and issue tracker of a manifest. */
function links(manifest: Record<string, unknown>): PageLink[] {
  const found: PageLink[] = [];
  const repository = typeof manifest.repository === "string" ? manifest.repository : asObject(manifest.repository).url;
  if (typeof repository === "string" && repository !== "") {
    found.push({ label: "Repository", url: repository.replace(/^git\+/, "").replace(/\.git$/, "") });
  }
  if (typeof manifest.homepage === "string" && manifest.homepage !== "") {
    found.push({ label: "Homepage", url: manifest.homepage });
  }
  const bugs = typeof manifest.bugs === "string" ? manifest.bugs : asObject(manifest.bugs).url;
  if (typeof bugs === "string" && bugs !== "") found.push({ label: "Issues", url: bugs });
  return found;
}
