/**
 * RFC 7807 problem responses: the one place where errors become HTTP.
 *
 * @module
 */
import type { RegistryError } from "../errors.ts";

/** Media type of every error body. */
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** A problem+json response with `status`, `title`, `detail`, optional headers and extension `members`. */
export function problemResponse(
  status: number,
  title: string,
  detail: string,
  headers: Record<string, string> = {},
  members: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ ...members, type: "about:blank", title, status, detail }), {
    status,
    headers: { ...headers, "Content-Type": PROBLEM_CONTENT_TYPE, "Content-Language": "en" },
  });
}

/**
 * The headers of an error's response: its own, plus `challenge` as
 * `WWW-Authenticate` on a 401 that does not name one (the challenge is the
 * answering format's choice: SwiftPM hangs on `Basic`, pip needs it).
 */
export function errorHeaders(error: RegistryError, challenge: string): Record<string, string> {
  return error.status === 401 && !("WWW-Authenticate" in error.headers)
    ? { ...error.headers, "WWW-Authenticate": challenge }
    : error.headers;
}

/** A {@link RegistryError} as problem+json, with `challenge` on a 401 and any `extra` headers. */
export function problemFromError(
  error: RegistryError,
  challenge: string,
  extra: Record<string, string> = {},
): Response {
  return problemResponse(
    error.status,
    error.title,
    error.message,
    { ...errorHeaders(error, challenge), ...extra },
    error.members,
  );
}

/**
 * A {@link RegistryError} as plain text (what the go command, bazel, ccache,
 * pip and twine show), with `challenge` on a 401; `status` when the format's
 * clients need another (twine recognises a conflict as 400).
 */
export function textErrorResponse(error: RegistryError, challenge: string, status = error.status): Response {
  return new Response(`${error.message}\n`, {
    status,
    headers: { ...errorHeaders(error, challenge), "Content-Type": "text/plain; charset=utf-8" },
  });
}
