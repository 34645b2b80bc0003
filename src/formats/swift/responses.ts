/**
 * Response bodies and headers of the Swift registry's read endpoints. Bodies of
 * immutable documents are computed once per stored object and kept with their
 * ETag, so hot reads do no JSON work; local packages' answers are prepared
 * responses (src/http/prepared.ts) that the hot path answers from memory.
 *
 * @module
 */
import { packageId } from "./identity.ts";
import type { PackageIndex, ReleaseRecord } from "./release.ts";
import { ifNoneMatchHits } from "../../http/range.ts";
import { PreparedResponse, strongEtag } from "../../http/prepared.ts";

/** A serialised JSON body and its strong ETag. */
export interface PreparedJson {
  body: Uint8Array<ArrayBuffer>;
  etag: string;
}

/** `value` serialised once, with its strong ETag. */
export function prepareJson(value: unknown): PreparedJson {
  const body = new TextEncoder().encode(JSON.stringify(value));
  return { body, etag: strongEtag(body) };
}

// Release records are replaced, never mutated, so their identity keys the memo.
const releaseBodies = new WeakMap<ReleaseRecord, PreparedJson>();

/**
 * Release metadata: id, version, the source-archive resource, metadata,
 * publishedAt. A signed release's `signing` also names its `signer` (verified
 * at publish; SwiftPM ignores members it does not know).
 */
export function releaseBody(pkg: PackageIndex, release: ReleaseRecord): PreparedJson {
  let prepared = releaseBodies.get(release);
  if (prepared === undefined) {
    prepared = prepareJson({
      id: packageId(pkg),
      version: release.version,
      resources: [{
        name: "source-archive",
        type: "application/zip",
        checksum: release.checksum,
        ...(release.signing
          ? { signing: { ...release.signing, ...(release.signer ? { signer: release.signer } : {}) } }
          : {}),
      }],
      metadata: release.metadata,
      publishedAt: release.publishedAt,
    });
    releaseBodies.set(release, prepared);
  }
  return prepared;
}

/**
 * A prepared JSON body as a prepared response (src/http/prepared.ts), with
 * `Cache-Control: no-cache` and `headers` (the `Link` of the resource).
 */
export function preparedJsonResponse(prepared: PreparedJson, headers: Record<string, string>): PreparedResponse {
  return new PreparedResponse(prepared.body, {
    "Content-Type": "application/json",
    ETag: prepared.etag,
    "Cache-Control": "no-cache",
    ...headers,
  });
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
