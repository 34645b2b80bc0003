/**
 * Bounds on request bodies: an upload whose declared `Content-Length` is over
 * its path's limit gets 413 before a byte of it is read; a body without one
 * (chunked) is bounded while it is read, by `stageStream` for uploads and by
 * `readBounded` (src/util/bytes.ts) for the small bodies read into memory (forms, JSON).
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { PayloadTooLargeError } from "../errors.ts";
import type { AppEnv } from "./middleware.ts";
import { readBounded } from "../util/bytes.ts";

/** The largest body a path accepts, and the setting that decides it (for the error message). */
export interface UploadLimit {
  bytes: number;
  setting: string;
}

/** Answers 413 to a PUT or POST whose `Content-Length` is over the limit of its path. */
export function contentLengthLimit(limitFor: (path: string) => UploadLimit): MiddlewareHandler<AppEnv> {
  // Not an async function: a check that passes hands on next()'s promise, adding no layer of its own.
  return (c, next) => {
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
    return next();
  };
}

/** A small request body as text (forms, JSON), bounded as `readBounded` bounds it. */
export async function readBoundedText(request: Request, maxBytes: number): Promise<string> {
  return new TextDecoder().decode(await readBounded(request.body, maxBytes));
}
