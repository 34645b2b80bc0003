/**
 * The package page of a PyPI project (see src/formats/package_page.ts): its
 * releases (yanked ones marked), and for the shown release the long
 * description, license, links and authors from a wheel's core metadata (the
 * `METADATA` stored beside each wheel, read once and kept in memory), the
 * SHA-256 of its files, and the `pip install` line. Projects served from the
 * upstream index show their versions and files (their metadata is not
 * fetched for a page view).
 *
 * @module
 */
import { explain } from "@renovatebot/pep440";
import type { PackageRef } from "../../core/package.ts";
import { NotFoundError } from "../../errors.ts";
import {
  defaultVersion,
  type PackagePage,
  type PageLink,
  type PageReadme,
  type PageRequest,
  type PageVersion,
} from "../package_page.ts";
import { type CoreMetadata, field, keywordsOf, parseCoreMetadata } from "./metadata.ts";
import { normalizeVersion, parseDistributionFilename, versionIdentity } from "./names.ts";
import { type FileRecord, filesByRelease, type PypiProject, sortVersions } from "./project.ts";
import { PYPI_BASE_PATH } from "./routes.ts";
import type { UpstreamProject } from "./upstream_page.ts";

/** The page of a project uploaded here; `readMetadata` reads a wheel's `METADATA`. */
export async function pypiPage(
  project: PypiProject,
  ref: PackageRef,
  request: PageRequest,
  readMetadata: (file: FileRecord) => Promise<Uint8Array>,
): Promise<PackagePage | null> {
  const byRelease = filesByRelease(project);
  const filesOf = (version: string) => byRelease.get(versionIdentity(version)) ?? [];
  const releases = new Map(Object.values(project.releases).map((r) => [r.version, r]));
  const versions = newestFirst([...releases.keys()]).filter((v) => filesOf(v).length > 0).map((version) => {
    const uploads = filesOf(version).map((f) => f.uploadedAt).sort();
    const yanked = releases.get(version)?.yanked;
    return {
      version,
      ...(uploads[0] === undefined ? {} : { publishedAt: uploads[0] }),
      prerelease: isPrerelease(version),
      ...(yanked === undefined ? {} : { yanked: yanked.reason }),
    } satisfies PageVersion;
  });
  if (versions.length === 0) return null;
  const version = request.version ?? defaultVersion(versions)!;
  if (!releases.has(version)) throw new NotFoundError(`${ref.id} has no release ${version}`);
  const shown = filesOf(version).toSorted((a, b) => a.filename.localeCompare(b.filename));
  const publishedAt = versions.find((v) => v.version === version)?.publishedAt;
  const wheel = shown.find((f) => f.metadata !== undefined);
  const metadata = wheel === undefined ? undefined : describeMetadata(await readMetadata(wheel), wheel.filename);
  return {
    id: project.name,
    ...(metadata?.summary ?? project.summary ? { description: metadata?.summary ?? project.summary } : {}),
    versions,
    version,
    ...(metadata?.readme === undefined ? {} : { readme: metadata.readme }),
    ...(metadata?.license === undefined ? {} : { license: metadata.license }),
    links: metadata?.links ?? [],
    ...(metadata?.authors.length ? { authors: metadata.authors } : {}),
    ...(metadata?.keywords.length ? { keywords: metadata.keywords } : {}),
    ...(publishedAt === undefined ? {} : { publishedAt }),
    checksum: { algorithm: `sha256 of ${shown[0].filename}`, value: shown[0].sha256 },
    install: [installLine(project.name, version, request)],
    origin: "local",
  };
}

/** The page of a project served from the upstream index: its versions and files as the index lists them. */
export function pypiUpstreamPage(project: UpstreamProject, request: PageRequest): PackagePage | null {
  const byVersion = new Map(
    project.versions.map((v) => [v, project.files.filter((f) => fileVersion(f.filename) === v)]),
  );
  const versions = newestFirst(project.versions).map((version): PageVersion => {
    const files = byVersion.get(version) ?? [];
    const uploaded = files.map((f) => f.uploadTime).filter((t): t is string => t !== undefined).sort()[0];
    const yanked = files.length > 0 && files.every((f) => f.yanked !== false) ? files[0].yanked : false;
    return {
      version,
      ...(uploaded === undefined ? {} : { publishedAt: uploaded }),
      prerelease: isPrerelease(version),
      ...(yanked === false ? {} : { yanked }),
    };
  });
  if (versions.length === 0) return null;
  const version = request.version ?? defaultVersion(versions)!;
  const shown = versions.find((v) => v.version === version);
  if (shown === undefined) throw new NotFoundError(`${project.name} has no release ${version}`);
  const file = byVersion.get(version)?.[0];
  return {
    id: project.name,
    versions,
    version,
    links: [],
    ...(shown.publishedAt === undefined ? {} : { publishedAt: shown.publishedAt }),
    ...(file === undefined ? {} : { checksum: { algorithm: `sha256 of ${file.filename}`, value: file.sha256 } }),
    install: [installLine(project.name, version, request)],
    origin: "upstream",
  };
}

function installLine(name: string, version: string, request: PageRequest) {
  return {
    client: "pip",
    line: `pip install --index-url ${request.baseUrl}${PYPI_BASE_PATH}/simple/ ${name}==${version}`,
  };
}

/** What a page shows of a core metadata file: header fields, and the body as the README. */
function describeMetadata(bytes: Uint8Array, filename: string) {
  const fields: CoreMetadata = parseCoreMetadata(bytes, `${filename} METADATA`);
  const text = new TextDecoder().decode(bytes);
  const blank = text.search(/\r?\n\r?\n/);
  const body = blank < 0 ? field(fields, "description") : text.slice(blank).trim();
  const contentType = field(fields, "description-content-type") ?? "";
  const readme: PageReadme | undefined = body
    ? { text: body, markup: /^text\/markdown/i.test(contentType) ? "markdown" : "plain" }
    : undefined;
  const links: PageLink[] = [];
  const home = field(fields, "home-page");
  if (home !== undefined) links.push({ label: "Homepage", url: home });
  for (const entry of fields.get("project-url") ?? []) {
    const comma = entry.indexOf(",");
    if (comma > 0) links.push({ label: entry.slice(0, comma).trim(), url: entry.slice(comma + 1).trim() });
  }
  const classifier = (fields.get("classifier") ?? []).find((c) => c.startsWith("License :: "))?.split(" :: ").at(-1);
  const declared = field(fields, "license-expression") ?? field(fields, "license");
  const license = declared !== undefined && declared.length <= 100 && !declared.includes("\n") ? declared : classifier;
  const keywords = keywordsOf(fields);
  const authors = [field(fields, "author"), field(fields, "maintainer")]
    .filter((a): a is string => a !== undefined);
  return { summary: field(fields, "summary"), readme, license, links, authors, keywords };
}

/**
 * The normalised version in a wheel's or sdist's file name
 * (`name-1.0-py3-none-any.whl`, `python-dateutil-2.8.2.tar.gz`), as the
 * upstream page's versions are.
 */
function fileVersion(filename: string): string | null {
  return normalizeVersion(parseDistributionFilename(filename).version);
}

function newestFirst(versions: string[]): string[] {
  return sortVersions(new Set(versions)).reverse();
}

function isPrerelease(version: string): boolean {
  return explain(version)?.is_prerelease === true;
}
