/**
 * Packuments: the full document (`application/json`) and the abbreviated one
 * npm's installers may ask for (`application/vnd.npm.install-v1+json`), built
 * from a stored package document or an upstream's packument, with tarball
 * URLs pointing at this server. The routes serve them as prepared responses,
 * built once per stored document, base URL and kind, so hot reads do no JSON
 * work.
 *
 * @module
 */
import { PreparedResponse } from "../../http/prepared.ts";
import type { NpmPackageDocument, NpmVersionRecord } from "./document.ts";

/** Media type of abbreviated packuments. */
export const ABBREVIATED_TYPE = "application/vnd.npm.install-v1+json";

/** Which packument a request asks for. */
export type PackumentKind = "full" | "abbreviated";

/** The fields of a version that the abbreviated packument keeps (npm's registry keeps the same). */
const ABBREVIATED_FIELDS = [
  "name",
  "version",
  "deprecated",
  "dependencies",
  "optionalDependencies",
  "devDependencies",
  "bundleDependencies",
  "bundledDependencies",
  "peerDependencies",
  "peerDependenciesMeta",
  "acceptDependencies",
  "bin",
  "directories",
  "engines",
  "cpu",
  "os",
  "libc",
  "funding",
  "license",
  "dist",
  "_hasShrinkwrap",
  "hasInstallScript",
] as const;

/** The packument kind an `Accept` header asks for (npm sends several types with q-values: matched by substring). */
export function packumentKind(accept: string | undefined): PackumentKind {
  return accept?.includes(ABBREVIATED_TYPE) ? "abbreviated" : "full";
}

/** Builds URLs of this server's npm API. */
export class NpmUrls {
  /** `https://host/npm` */
  readonly base: string;

  constructor(base: string) {
    this.base = base;
  }

  /** The tarball URL of a file of `name` (clients fetch it verbatim). */
  tarball(name: string, filename: string): string {
    return `${this.base}/${name}/-/${encodeURIComponent(filename)}`;
  }
}

/** One version as served in the full packument. */
export function versionDocument(
  name: string,
  version: string,
  record: NpmVersionRecord,
  urls: NpmUrls,
): Record<string, unknown> {
  const { tarball } = record;
  const scripts = record.manifest.scripts as Record<string, unknown> | undefined;
  const hasInstallScript = typeof scripts === "object" && scripts !== null &&
    ["preinstall", "install", "postinstall"].some((s) => typeof scripts[s] === "string");
  return {
    ...record.manifest,
    name,
    version,
    _id: `${name}@${version}`,
    ...(record.deprecated === undefined ? {} : { deprecated: record.deprecated }),
    ...(hasInstallScript ? { hasInstallScript: true } : {}),
    _hasShrinkwrap: record.hasShrinkwrap,
    dist: {
      tarball: urls.tarball(name, tarball.filename),
      shasum: tarball.shasum,
      integrity: tarball.integrity,
      fileCount: tarball.fileCount,
      unpackedSize: tarball.unpackedSize,
    },
  };
}

/** The full packument of a stored package. */
export function fullPackument(doc: NpmPackageDocument, urls: NpmUrls): Record<string, unknown> {
  const versions: Record<string, unknown> = {};
  const time: Record<string, string> = { created: doc.created, modified: doc.modified };
  for (const [version, record] of Object.entries(doc.versions)) {
    versions[version] = versionDocument(doc.name, version, record, urls);
    time[version] = record.publishedAt;
  }
  const latest = doc.versions[doc.distTags.latest]?.manifest ?? {};
  const top = Object.fromEntries(
    ["description", "keywords", "license", "homepage", "repository", "bugs", "author", "maintainers"]
      .filter((field) => latest[field] !== undefined).map((field) => [field, latest[field]]),
  );
  return {
    _id: doc.name,
    _rev: doc.rev,
    name: doc.name,
    ...top,
    "dist-tags": doc.distTags,
    versions,
    time,
    ...(doc.readme === undefined ? {} : { readme: doc.readme }),
    ...(doc.readmeFilename === undefined ? {} : { readmeFilename: doc.readmeFilename }),
  };
}

/** The abbreviated form of a full packument (ours or an upstream's). */
export function abbreviate(full: Record<string, unknown>): Record<string, unknown> {
  const versions: Record<string, unknown> = {};
  for (const [version, document] of Object.entries(asObject(full.versions))) {
    const source = asObject(document);
    versions[version] = Object.fromEntries(
      ABBREVIATED_FIELDS.filter((field) => source[field] !== undefined).map((field) => [field, source[field]]),
    );
  }
  const time = asObject(full.time);
  return {
    name: full.name,
    ...(typeof time.modified === "string" ? { modified: time.modified } : {}),
    "dist-tags": asObject(full["dist-tags"]),
    versions,
  };
}

/** The packument of `kind` of a stored package. */
export function localPackument(doc: NpmPackageDocument, urls: NpmUrls, kind: PackumentKind): Record<string, unknown> {
  const full = fullPackument(doc, urls);
  return kind === "full" ? full : abbreviate(full);
}

/**
 * A packument as a prepared response (src/http/prepared.ts): strong ETag,
 * `no-cache`, and `Vary: Accept`, since its URL answers both kinds.
 */
export function packumentResponse(value: unknown, kind: PackumentKind): PreparedResponse {
  return PreparedResponse.json(value, {
    "Content-Type": kind === "full" ? "application/json" : ABBREVIATED_TYPE,
    "Cache-Control": "no-cache",
    Vary: "Accept",
  });
}

/** `value` when it is a JSON object, else an empty one. */
export function asObject(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : {};
}
