/**
 * Refuses an upload by its declared `Content-Length` before a byte of it is
 * read: a client announcing more than the registry would accept gets 413 at
 * once instead of after streaming it. Chunked bodies (no `Content-Length`) are
 * bounded while they are read (`stageStream`).
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { PayloadTooLargeError } from "../errors.ts";
import type { AppEnv } from "./middleware.ts";

/** The largest body a path accepts, and the setting that decides it (for the error message). */
export interface UploadLimit {
  bytes: number;
  setting: string;
}

/** Answers 413 to a PUT or POST whose `Content-Length` is over the limit of its path. */
export function contentLengthLimit(limitFor: (path: string) => UploadLimit): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const method = c.req.method;
    if (method === "PUT" || method === "POST") {
      const length = c.req.raw.headers.get("content-length");
      const limit = length === null ? undefined : limitFor(c.req.path);
      if (limit !== undefined && Number(length) > limit.bytes) {
        throw new PayloadTooLargeError(
          `the body is ${length} bytes, over the ${limit.bytes}-byte limit (${limit.setting})`,
        );
      }
    }
    await next();
  };
}
