/**
 * Refuses an upload by its declared `Content-Length` before a byte of it is
 * read: a client announcing more than the registry would accept gets 413 at
 * once instead of after streaming it. Chunked bodies (no `Content-Length`) are
 * bounded while they are read (`stageStream`).
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { MAX_METADATA_BYTES } from "../core/release.ts";
import { PayloadTooLargeError } from "../errors.ts";
import type { AppEnv } from "./middleware.ts";

/**
 * What a publish body may carry besides the archive: the metadata part (at most
 * MAX_METADATA_BYTES), two signatures (64 KiB each) and the part headers and
 * boundaries (8 KiB a part at most), rounded up.
 */
export const MULTIPART_ENVELOPE_BYTES = MAX_METADATA_BYTES + 512 * 1024;

/** Answers 413 to a PUT or POST whose `Content-Length` is over `maxBytes`. */
export function contentLengthLimit(maxBytes: number): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const method = c.req.method;
    if (method === "PUT" || method === "POST") {
      const length = c.req.raw.headers.get("content-length");
      if (length !== null && Number(length) > maxBytes) {
        throw new PayloadTooLargeError(
          `the body is ${length} bytes, over the ${maxBytes}-byte limit (REGISTRY_MAX_ARCHIVE_BYTES and room for metadata and signatures)`,
        );
      }
    }
    await next();
  };
}
