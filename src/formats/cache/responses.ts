/**
 * The one way build-cache entries become responses, for both APIs.
 *
 * @module
 */
import type { Context } from "hono";
import { ifNoneMatchHits } from "../../http/range.ts";
import type { FoundBlob } from "./blobs.ts";

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
