/**
 * Response bodies and headers of the Swift registry's read endpoints. Bodies of
 * immutable documents are computed once per stored object and kept with their
 * ETag, so hot reads do no JSON work.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { packageId } from "./identity.ts";
import type { PackageIndex, ReleaseRecord } from "./release.ts";
import { sortVersionsDescending } from "./version.ts";
import { ifNoneMatchHits } from "../../http/range.ts";
import type { SwiftUrls } from "./links.ts";

/** A serialised JSON body and its strong ETag. */
export interface PreparedJson {
  body: Uint8Array<ArrayBuffer>;
  etag: string;
}

function prepare(value: unknown): PreparedJson {
  const body = new TextEncoder().encode(JSON.stringify(value));
  return { body, etag: `"${createHash("sha1").update(body).digest("hex")}"` };
}

// Package indexes are replaced, never mutated, so their identity keys the memo.
// One body per document: a request with another base URL (Host) rebuilds it,
// so clients varying Host cannot grow memory.
const listBodies = new WeakMap<PackageIndex, { base: string; prepared: PreparedJson }>();
const releaseBodies = new WeakMap<ReleaseRecord, { base: string; prepared: PreparedJson }>();

function memo<K extends object>(
  store: WeakMap<K, { base: string; prepared: PreparedJson }>,
  owner: K,
  base: string,
  make: () => unknown,
): PreparedJson {
  const known = store.get(owner);
  if (known?.base === base) return known.prepared;
  const prepared = prepare(make());
  store.set(owner, { base, prepared });
  return prepared;
}

/** `{"releases": {"<version>": {"url": ...}}}`, highest version first. */
export function releaseListBody(urls: SwiftUrls, pkg: PackageIndex): PreparedJson {
  return memo(listBodies, pkg, urls.base, () => ({
    releases: Object.fromEntries(
      sortVersionsDescending(Object.keys(pkg.releases)).map((v) => [v, { url: urls.release(pkg, v) }]),
    ),
  }));
}

/** Release metadata: id, version, the source-archive resource, metadata, publishedAt. */
export function releaseBody(urls: SwiftUrls, pkg: PackageIndex, release: ReleaseRecord): PreparedJson {
  return memo(releaseBodies, release, urls.base, () => ({
    id: packageId(pkg),
    version: release.version,
    resources: [{
      name: "source-archive",
      type: "application/zip",
      checksum: release.checksum,
      ...(release.signing ? { signing: release.signing } : {}),
    }],
    metadata: release.metadata,
    publishedAt: release.publishedAt,
  }));
}

/** A 200 JSON response, or 304 when `If-None-Match` matches. */
export function jsonResponse(
  prepared: PreparedJson,
  ifNoneMatch: string | undefined,
  headers: Record<string, string> = {},
): Response {
  const common = { ...headers, ETag: prepared.etag, "Cache-Control": "no-cache" };
  if (ifNoneMatchHits(ifNoneMatch, prepared.etag)) return new Response(null, { status: 304, headers: common });
  return new Response(prepared.body, {
    status: 200,
    headers: { ...common, "Content-Type": "application/json", "Content-Length": String(prepared.body.byteLength) },
  });
}
