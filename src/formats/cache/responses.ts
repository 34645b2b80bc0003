/**
 * The one way build-cache entries become responses, for both APIs.
 *
 * @module
 */
import type { Context } from "hono";
import { NotFoundError } from "../../errors.ts";
import { ifNoneMatchHits } from "../../http/range.ts";
import type { BlobCache, EntryOptions, FoundBlob } from "./blobs.ts";

/**
 * The entry at `key` as a response to a GET (its bytes, counted as a read) or
 * a HEAD (its headers only).
 *
 * @throws {NotFoundError} saying `missing` when there is no such entry.
 */
export async function entryResponse(
  c: Context,
  blobs: BlobCache,
  key: string,
  options: EntryOptions,
  missing: string,
): Promise<Response> {
  const found = c.req.method === "HEAD" ? await blobs.head(key, options) : await blobs.read(key, options);
  if (found === null) throw new NotFoundError(missing);
  return await blobResponse(c, found);
}

/** A found entry as a response: 304 when `If-None-Match` matches, headers only for HEAD, else the bytes. */
export async function blobResponse(c: Context, found: FoundBlob): Promise<Response> {
  if (ifNoneMatchHits(c.req.header("if-none-match"), found.etag)) {
    await found.body?.cancel();
    return new Response(null, { status: 304, headers: { ETag: found.etag } });
  }
  if (c.req.method === "HEAD") {
    await found.body?.cancel();
    return new Response(null, { headers: found.headers });
  }
  return new Response(found.bytes ?? found.body ?? null, { headers: found.headers });
}
