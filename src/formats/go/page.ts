/**
 * The package page of a Go module (see src/formats/package_page.ts): the
 * versions published here (or, for a module served from the upstream, those
 * pinned so far), the README from the module zip, and the `go get` line.
 *
 * @module
 */
import type { ArchiveReadmes } from "../../core/readmes.ts";
import type { PackageRef } from "../../core/package.ts";
import { NotFoundError } from "../../errors.ts";
import { defaultVersion, type PackagePage, type PageRequest } from "../package_page.ts";
import { compareVersions, isPrerelease } from "./module.ts";
import {
  hasLocalVersions,
  type LocalVersion,
  type ModuleDocument,
  storageKey,
  type UpstreamVersion,
} from "./registry.ts";
import { GO_BASE_PATH } from "./routes.ts";

/** Hosts whose module paths name a repository in their first three elements. */
const REPOSITORY_HOSTS = new Set(["github.com", "gitlab.com", "bitbucket.org", "codeberg.org"]);

/** The page of the module `ref` as `document` holds it; `version` defaults to the latest. */
export async function goPage(
  document: ModuleDocument,
  ref: PackageRef,
  request: PageRequest,
  readmes: ArchiveReadmes,
): Promise<PackagePage | null> {
  const local = hasLocalVersions(document);
  const records: Record<string, LocalVersion | UpstreamVersion> = local
    ? document.versions
    : (document as ModuleDocument).upstream ?? {};
  const versions = Object.values(records).sort((a, b) => compareVersions(b.version, a.version)).map((record) => ({
    version: record.version,
    ...(record.time === undefined ? {} : { publishedAt: record.time }),
    prerelease: isPrerelease(record.version),
  }));
  if (versions.length === 0) return null;
  const version = request.version ?? defaultVersion(versions)!;
  const record = records[version];
  if (record === undefined) throw new NotFoundError(`${ref.name}@${version} is not known here`);
  const zip = record.zip;
  const [host, owner, repo] = ref.name.split("/");
  return {
    id: ref.name,
    versions,
    version,
    readme: zip === undefined ? undefined : await readmes.fromZip(
      { key: storageKey(ref, version, "zip", zip.sha256, local ? "local" : "upstream"), size: zip.size },
      `${ref.name}@${version}/`,
    ),
    links: REPOSITORY_HOSTS.has(host) && repo !== undefined
      ? [{ label: "Repository", url: `https://${host}/${owner}/${repo}` }]
      : [],
    publishedAt: record.time,
    ...(zip === undefined ? {} : { checksum: { algorithm: "go.sum", value: zip.h1 } }),
    install: [{
      client: "go",
      line: `go get ${ref.name}@${version}`,
      setup: `export GOPROXY=${request.baseUrl}${GO_BASE_PATH}` + (local ? ` GONOSUMDB=${ref.name}` : ""),
      ...(local ? { note: "GONOSUMDB: modules published here are not in the public checksum database." } : {}),
    }],
    origin: local ? "local" : "upstream",
  };
}
