/**
 * The read endpoints SwiftPM resolves with: the release list, release
 * metadata, `Package.swift` (and alternates) and the source archive. Local
 * packages come first; a package this registry does not have comes from the
 * upstream, when one is configured and may fill it. Local packages are
 * answered with prepared responses (built once per package document) that the
 * hot path answers again from memory (src/http/hot_responses.ts).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Context, Hono } from "hono";
import { authorizeRead } from "../../auth/access.ts";
import { BadRequestError, GoneError, NotFoundError } from "../../errors.ts";
import type { AppEnv } from "../../http/middleware.ts";
import { ifNoneMatchHits } from "../../http/range.ts";
import { packageId, type PackageRef, packageRef } from "./identity.ts";
import { alternateManifestLinks, releaseLinks, type SwiftUrls } from "./links.ts";
import { swiftVersionCandidates } from "./manifest.ts";
import type { ReleaseView } from "./registry.ts";
import type { PackageIndex, SigningRecord } from "./release.ts";
import { localListing, type ReleaseListing, releaseListPage } from "./release_list.ts";
import { jsonResponse, preparedJsonResponse, releaseBody } from "./responses.ts";
import { PreparedResponse } from "../../http/prepared.ts";
import type { SwiftApiDeps } from "./routes.ts";
import type { SwiftUpstream } from "./upstream.ts";
import { parseVersion, sortVersionsDescending } from "./version.ts";

/** A manifest about to be served. */
interface ManifestToServe {
  filename: string;
  etag: string;
  /** The alternate-manifest `Link` (unqualified `Package.swift` only). */
  link: string | null;
  /** Known without reading it (for HEAD), when it is. */
  size?: number;
  read(): Promise<Uint8Array<ArrayBuffer>>;
}

/** Adds the read endpoints to `app`. */
export function addReadRoutes(app: Hono<AppEnv>, deps: SwiftApiDeps, urlsFor: (c: Context) => SwiftUrls): void {
  const { registry } = deps;
  const readAccess = (c: Context, ref: PackageRef) => authorizeRead(deps.auth, c.req.raw, ref);
  /** The upstream a package comes from when it is not local, or `undefined` (it is not found). */
  const upstreamFor = async (ref: PackageRef): Promise<SwiftUpstream | undefined> =>
    deps.upstream !== undefined && await deps.upstream.fills(ref) ? deps.upstream : undefined;

  app.get("/:scope/:name", async (c) => {
    const ref = packageRef(c.req.param("scope"), stripSuffix(c.req.param("name"), ".json"));
    const page = parsePage(c.req.query("page"));
    await readAccess(c, ref);
    const urls = urlsFor(c);
    const pkg = await registry.getPackage(ref);
    if (pkg !== null) {
      const response = await deps.prepare(pkg, `list ${page} ${deps.pageSize} ${urls.base}`, () => {
        const { prepared, link } = releaseListPage(urls, localListing(pkg), page, deps.pageSize);
        return preparedJsonResponse(prepared, { Link: link });
      });
      return deps.serve(c, response, registry.stillCurrent(ref, pkg));
    }
    const listing: ReleaseListing | null = await (await upstreamFor(ref))?.listing(ref) ?? null;
    if (listing === null) throw new NotFoundError(`package ${packageId(ref)} not found`);
    const { prepared, link } = releaseListPage(urls, listing, page, deps.pageSize);
    return jsonResponse(prepared, c.req.header("if-none-match"), { Link: link });
  });

  app.get("/:scope/:name/:version", async (c) => {
    const raw = c.req.param("version");
    const isArchive = raw.endsWith(".zip");
    const ref = packageRef(c.req.param("scope"), c.req.param("name"));
    const version = parseVersion(stripSuffix(stripSuffix(raw, ".zip"), ".json"));
    await readAccess(c, ref);
    const pkg = await registry.getPackage(ref);
    if (pkg !== null) {
      const view = requireRelease(ref, pkg, version);
      const { release } = view;
      const fresh = registry.stillCurrent(ref, pkg);
      if (isArchive) {
        return await deps.serveArtifact(c, {
          info: registry.archiveInfo(ref, release),
          headers: archiveHeaders(pkg, version, release),
          document: pkg,
          resource: `archive ${version}`,
          fresh,
        });
      }
      const urls = urlsFor(c);
      const response = await deps.prepare(pkg, `release ${version} ${urls.base}`, () => {
        const versions = sortVersionsDescending(Object.keys(pkg.releases));
        return preparedJsonResponse(releaseBody(pkg, release), { Link: releaseLinks(urls, pkg, versions, version) });
      });
      return deps.serve(c, response, fresh);
    }
    const upstream = await upstreamFor(ref);
    if (upstream === undefined) throw new NotFoundError(`package ${packageId(ref)} not found`);
    const release = await upstream.release(ref, version);
    if (isArchive) {
      // Kept with the upstream's release, never remembered by the hot path (the upstream decides what stands).
      return await deps.serveArtifact(c, {
        info: await upstream.archive(ref, release, version),
        headers: archiveHeaders(ref, version, release),
        document: release,
        resource: `archive ${version}`,
        recover: () => upstream.archive(ref, release, version),
      });
    }
    return jsonResponse(release.prepared, c.req.header("if-none-match"), {
      Link: releaseLinks(urlsFor(c), ref, release.versions, version),
    });
  });

  app.get("/:scope/:name/:version/Package.swift", async (c) => {
    const ref = packageRef(c.req.param("scope"), c.req.param("name"));
    const version = parseVersion(c.req.param("version"));
    await readAccess(c, ref);
    const urls = urlsFor(c);
    const requested = c.req.query("swift-version");
    const fallback = () => new Response(null, { status: 303, headers: { Location: urls.manifest(ref, version) } });
    const pkg = await registry.getPackage(ref);
    if (pkg !== null) {
      const { release } = requireRelease(ref, pkg, version);
      let filename = "Package.swift";
      if (requested !== undefined) {
        const candidates = swiftVersionCandidates(requested);
        if (candidates === null) {
          throw new BadRequestError(`invalid swift-version "${requested}": expected e.g. 5.9 or 5.9.0`);
        }
        const found = candidates.find((name) => release.manifests.some((m) => m.filename === name));
        if (found === undefined) return fallback();
        filename = found;
      }
      const manifest: ManifestToServe = {
        filename,
        etag: `"${release.checksum}-${filename}"`,
        link: requested === undefined ? alternateManifestLinks(urls, pkg, version, release.manifests) : null,
        size: release.manifests.find((m) => m.filename === filename)!.size,
        read: () => registry.readManifest(ref, release, filename),
      };
      const response = await deps.prepare(
        pkg,
        `manifest ${version} ${filename} ${manifest.link !== null} ${urls.base}`,
        async () => new PreparedResponse(await manifest.read(), manifestHeaders(manifest)),
      );
      return deps.serve(c, response, registry.stillCurrent(ref, pkg));
    }
    const upstream = await upstreamFor(ref);
    if (upstream === undefined) throw new NotFoundError(`package ${packageId(ref)} not found`);
    const manifest = await upstream.manifest(ref, version, requested);
    if (manifest.kind === "fallback") return fallback();
    return await manifestResponse(c, {
      filename: manifest.filename,
      etag: manifest.etag,
      link: requested === undefined ? alternateManifestLinks(urls, ref, version, manifest.alternates) : null,
      size: manifest.content.byteLength,
      read: () => Promise.resolve(manifest.content),
    });
  });
}

/**
 * A release of a local package.
 *
 * @throws {NotFoundError} when there is no such version.
 * @throws {GoneError} when it was taken down.
 */
function requireRelease(ref: PackageRef, pkg: PackageIndex, version: string): ReleaseView {
  const release = pkg.releases[version];
  if (release === undefined) throw new NotFoundError(`release ${version} of ${packageId(ref)} not found`);
  if (release.takedown !== undefined) {
    const { at, reason } = release.takedown;
    throw new GoneError(`release ${version} of ${packageId(pkg)} was taken down on ${at}: ${reason}`);
  }
  return { pkg, release };
}

/** The `page` query parameter of a release list (from 1; default 1). */
function parsePage(raw: string | undefined): number {
  if (raw === undefined) return 1;
  if (!/^[1-9]\d{0,8}$/.test(raw)) throw new BadRequestError(`invalid page "${raw}": expected a number from 1`);
  return Number(raw);
}

function stripSuffix(value: string, suffix: string): string {
  return value.endsWith(suffix) ? value.slice(0, -suffix.length) : value;
}

/** The headers of a manifest (besides its length). */
function manifestHeaders(manifest: ManifestToServe): Record<string, string> {
  const headers: Record<string, string> = {
    "Content-Type": "text/x-swift",
    "Content-Disposition": `attachment; filename="${manifest.filename}"`,
    "Cache-Control": "public, immutable",
    ETag: manifest.etag,
  };
  if (manifest.link !== null) headers.Link = manifest.link;
  return headers;
}

/** A manifest with its headers, 304 on a matching `If-None-Match`; HEAD reads nothing when the size is known. */
async function manifestResponse(c: Context, manifest: ManifestToServe): Promise<Response> {
  const headers = manifestHeaders(manifest);
  if (ifNoneMatchHits(c.req.header("if-none-match"), manifest.etag)) {
    return new Response(null, { status: 304, headers });
  }
  if (c.req.method === "HEAD" && manifest.size !== undefined) {
    return new Response(null, { headers: { ...headers, "Content-Length": String(manifest.size) } });
  }
  const content = await manifest.read();
  return new Response(content, { headers: { ...headers, "Content-Length": String(content.byteLength) } });
}

/** The headers of a source archive besides those every artifact gets (ETag, Last-Modified, length, ranges). */
function archiveHeaders(
  pkg: { name: string },
  version: string,
  { checksum, signing }: { checksum: string; signing?: SigningRecord },
): Record<string, string> {
  return {
    "Content-Type": "application/zip",
    "Content-Disposition": `attachment; filename="${pkg.name}-${version}.zip"`,
    "Cache-Control": "public, immutable",
    Digest: `sha-256=${Buffer.from(checksum, "hex").toString("base64")}`,
    ...(signing === undefined ? {} : {
      "X-Swift-Package-Signature-Format": signing.signatureFormat,
      "X-Swift-Package-Signature": signing.signatureBase64Encoded,
    }),
  };
}
