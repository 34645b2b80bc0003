/**
 * The one way build-cache entries become responses, for both APIs: small
 * ones are prepared responses the hot path answers again from memory while
 * they are current (src/http/hot_responses.ts); large ones are streamed.
 *
 * @module
 */
import type { Context } from "hono";
import { NotFoundError } from "../../errors.ts";
import { ifNoneMatchHits } from "../../http/range.ts";
import type { HttpServices } from "../format.ts";
import type { BlobCache, EntryOptions, FoundBlob } from "./blobs.ts";

/**
 * The entry at `key` as a response to a GET (its bytes, counted as a read) or
 * a HEAD (its headers only). Call it after the read was authorized.
 *
 * @throws {NotFoundError} saying `missing` when there is no such entry.
 */
export async function entryResponse(
  c: Context,
  http: HttpServices,
  blobs: BlobCache,
  key: string,
  options: EntryOptions,
  missing: string,
): Promise<Response> {
  const found = c.req.method === "HEAD" ? await blobs.head(key, options) : await blobs.read(key, options);
  if (found === null) throw new NotFoundError(missing);
  return await blobResponse(c, http, found);
}

/** A found entry as a response: from memory when small; else 304 when `If-None-Match` matches, headers only for HEAD, or streamed. */
export async function blobResponse(c: Context, http: HttpServices, found: FoundBlob): Promise<Response> {
  if (found.prepared !== undefined) return http.serve(c, found.prepared, found.fresh, found.used);
  if (ifNoneMatchHits(c.req.header("if-none-match"), found.etag)) {
    await found.body?.cancel();
    return new Response(null, { status: 304, headers: { ETag: found.etag } });
  }
  if (c.req.method === "HEAD") {
    await found.body?.cancel();
    return new Response(null, { headers: found.headers });
  }
  return new Response(found.body ?? null, { headers: found.headers });
}
