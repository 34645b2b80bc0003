/**
 * The bazel-remote HTTP cache protocol under `/cache`, as bazel
 * (`--remote_cache=http://HOST:PORT/cache`) and ccache
 * (`remote_storage = http://HOST:PORT/cache|layout=bazel`) use it:
 *
 * - `GET`/`HEAD`/`PUT /cache/cas/<sha256>`: content-addressed blobs; a body
 *   that does not hash to its key is refused (400) and nothing is stored; a
 *   second upload of a key is a no-op success.
 * - `GET`/`HEAD`/`PUT /cache/ac/<key>`: action-cache entries, the client's own
 *   bytes under an opaque key (never checked against the CAS); the last
 *   upload wins.
 *
 * Uploads answer 200 with an empty body, misses 404, errors plain text.
 *
 * @module
 */
import { Hono } from "hono";
import { authorizeAction, authorizeRead } from "../../auth/access.ts";
import type { PackageRef } from "../../core/package.ts";
import { MethodNotAllowedError } from "../../errors.ts";
import type { AppEnv } from "../../http/middleware.ts";
import { PreparedResponse } from "../../http/prepared.ts";
import type { HttpServices } from "../format.ts";
import type { BlobCache, EntryOptions, FoundBlob } from "./blobs.ts";
import { blobResponse, entryResponse } from "./responses.ts";
import { acKey, casKey, EMPTY_SHA256 } from "./keys.ts";

/** Path the protocol is mounted under. */
export const BAZEL_BASE_PATH = "/cache";

/**
 * The challenge of a 401 under `/cache`: ccache and bazel send Basic
 * credentials from the URL (`http://user:TOKEN@host/cache`) without waiting
 * for one, and people trying the URL in a browser or curl get asked for them.
 */
export const BAZEL_AUTH_CHALLENGE = 'Basic realm="build-cache", charset="UTF-8"';

/** The package auth plugins are shown for the shared bazel-protocol cache (unscoped). */
export const BAZEL_CACHE_REF: PackageRef = { format: "cache", name: "bazel", key: "bazel", id: "bazel" };

const OCTETS = "application/octet-stream";
/** Bazel asks for the empty blob without uploading it: it is always there. */
const EMPTY_BLOB: FoundBlob = {
  prepared: new PreparedResponse(new Uint8Array(0), { "Content-Type": OCTETS, ETag: `"${EMPTY_SHA256}"` }),
  fresh: () => true,
};

/** Builds the bazel-protocol routes (at their full paths under {@link BAZEL_BASE_PATH}). */
export function createBazelApi(deps: { blobs: BlobCache; http: HttpServices }): Hono<AppEnv> {
  const { blobs, http } = deps;
  const { auth } = http;
  const app = new Hono<AppEnv>({ strict: false });
  const entries = {
    cas: (hash: string): [string, EntryOptions] => [
      casKey(hash),
      { namespace: "cas", mutable: false, contentType: OCTETS, etag: `"${hash}"` },
    ],
    ac: (key: string): [string, EntryOptions] => [acKey(key), { namespace: "ac", mutable: true, contentType: OCTETS }],
  };

  for (const kind of ["cas", "ac"] as const) {
    app.get(`/${kind}/:key`, async (c) => {
      const [key, options] = entries[kind](c.req.param("key"));
      await authorizeRead(auth, c.req.raw, BAZEL_CACHE_REF);
      if (kind === "cas" && c.req.param("key") === EMPTY_SHA256) return await blobResponse(c, http, EMPTY_BLOB);
      return await entryResponse(c, http, blobs, key, options, `${kind}/${c.req.param("key")} is not in the cache`);
    });

    app.put(`/${kind}/:key`, async (c) => {
      const [key, options] = entries[kind](c.req.param("key"));
      await authorizeAction(auth, c.req.raw, "publish", BAZEL_CACHE_REF);
      await blobs.write(key, c.req.raw.body, { ...options, sha256: kind === "cas" ? c.req.param("key") : undefined });
      return new Response(null, { status: 200 });
    });

    app.all(`/${kind}/:key`, () => {
      throw new MethodNotAllowedError("method not allowed; use GET, HEAD or PUT", "GET, HEAD, PUT");
    });
  }
  return new Hono<AppEnv>().route(BAZEL_BASE_PATH, app);
}
