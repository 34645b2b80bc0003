/**
 * RFC 7807 problem responses: the one place where errors become HTTP.
 *
 * @module
 */
import { RegistryError, UnauthorizedError } from "../errors.ts";
import type { Logger } from "../log.ts";

/** Media type of every error body. */
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** A problem+json response with `status`, `title`, `detail` and optional headers. */
export function problemResponse(
  status: number,
  title: string,
  detail: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ type: "about:blank", title, status, detail }), {
    status,
    headers: { ...headers, "Content-Type": PROBLEM_CONTENT_TYPE, "Content-Language": "en" },
  });
}

/**
 * Maps any thrown value to a response: {@link RegistryError}s to their status,
 * anything else to a 500 whose cause is logged (not sent). A 401 without its
 * own challenge gets `challenge`, the `WWW-Authenticate` value of the format
 * that answers.
 */
export function errorResponse(
  error: unknown,
  logger: Logger,
  requestId: string | undefined,
  challenge: string,
): Response {
  if (error instanceof RegistryError) {
    const headers = error instanceof UnauthorizedError && !("WWW-Authenticate" in error.headers)
      ? { ...error.headers, "WWW-Authenticate": challenge }
      : error.headers;
    return problemResponse(error.status, error.title, error.message, headers);
  }
  logger.log("error", "unhandled error", {
    id: requestId,
    error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    stack: error instanceof Error ? error.stack : undefined,
  });
  return problemResponse(500, "Internal Server Error", `internal error (request id ${requestId ?? "unknown"})`);
}
