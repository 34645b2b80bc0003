/**
 * Bounds on request bodies: an upload whose declared `Content-Length` is over
 * its path's limit gets 413 before a byte of it is read; a body without one
 * (chunked) is bounded while it is read, by `stageStream` for uploads and by
 * {@link readBounded} for the small bodies read into memory (forms, JSON).
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { PayloadTooLargeError } from "../errors.ts";
import type { AppEnv } from "./middleware.ts";
import { concatBytes } from "../util/bytes.ts";

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

/**
 * Reads a body (or part) into memory, refusing more than `maxBytes` as it
 * arrives: never buffers more than the limit, whatever the client declared.
 *
 * @throws the error `tooLarge` makes, once more than `maxBytes` arrived.
 */
export async function readBounded(
  source: AsyncIterable<Uint8Array> | null,
  maxBytes: number,
  tooLarge: () => Error = () => new PayloadTooLargeError(`the body is over the ${maxBytes}-byte limit`),
): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of source ?? []) {
    size += chunk.byteLength;
    if (size > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  return concatBytes(chunks, size);
}

/** A small request body as text (forms, JSON), bounded as {@link readBounded} bounds it. */
export async function readBoundedText(request: Request, maxBytes: number): Promise<string> {
  return new TextDecoder().decode(await readBounded(request.body, maxBytes));
}
