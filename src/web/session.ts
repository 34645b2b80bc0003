/**
 * Signing in to the pages, and forms protected against cross-site requests.
 *
 * A person signs in with a token of this registry; the token is kept in an
 * `HttpOnly; SameSite=Strict` cookie (never in a URL or in script-readable
 * storage) and presented to the auth chain as a bearer token on each page
 * view, so every node of a cluster honours it and revoking the token ends the
 * session. Forms that change anything (sign in, sign out, run a job) carry a
 * token that must equal the one in a second `SameSite=Strict` cookie (a
 * double-submit token), and are refused when the browser says the request
 * came from another site (`Origin`, `Sec-Fetch-Site`).
 *
 * @module
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { timingSafeEqual } from "node:crypto";
import { ForbiddenError, UnsupportedMediaTypeError } from "../errors.ts";
import { isTokenText } from "../../plugins/credentials.ts";
import { readBoundedText } from "../http/body_limit.ts";
import { publicBaseUrl } from "../http/public_url.ts";

/** The cookie holding the signed-in token. */
export const SESSION_COOKIE = "registry_session";
/** The cookie holding the forms' anti-forgery token. */
export const CSRF_COOKIE = "registry_csrf";
/** How long a sign-in lasts. */
const SESSION_SECONDS = 8 * 60 * 60;
const CSRF_TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** Whether cookies for this request must be `Secure` (the server is reached over https). */
function secure(c: Context): boolean {
  return publicBaseUrl(c).startsWith("https:");
}

/** The signed-in token, if the request carries one. */
export function sessionToken(c: Context): string | undefined {
  const token = getCookie(c, SESSION_COOKIE);
  // A cookie no sign-in could have set (a forged one, say) is no session.
  return token === undefined || !isTokenText(token) ? undefined : token;
}

/**
 * The request as the auth chain should see it: with its own `Authorization`
 * header when it has one, else with the signed-in token as a bearer token.
 */
export function credentialedRequest(c: Context): Request {
  const token = sessionToken(c);
  if (c.req.raw.headers.has("authorization") || token === undefined) return c.req.raw;
  const headers = new Headers(c.req.raw.headers);
  headers.set("Authorization", `Bearer ${token}`);
  return new Request(c.req.url, { method: c.req.method, headers });
}

/** Signs in: keeps `token` in the session cookie. */
export function startSession(c: Context, token: string): void {
  setCookie(c, SESSION_COOKIE, token, {
    path: "/",
    httpOnly: true,
    sameSite: "Strict",
    secure: secure(c),
    maxAge: SESSION_SECONDS,
  });
}

/** Signs out: drops the session cookie. */
export function endSession(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: "/", httpOnly: true, sameSite: "Strict", secure: secure(c) });
}

/** The anti-forgery token for the forms of this page: the browser's, or a new one set as a cookie. */
export function csrfToken(c: Context): string {
  const known = getCookie(c, CSRF_COOKIE);
  if (known !== undefined && CSRF_TOKEN.test(known)) return known;
  const token = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))
    .replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  setCookie(c, CSRF_COOKIE, token, { path: "/", httpOnly: true, sameSite: "Strict", secure: secure(c) });
  return token;
}

/** The largest form the pages accept (their forms hold a token and a few short fields). */
const MAX_FORM_BYTES = 64 * 1024;

/**
 * The fields of a form one of the pages posted back: refused (403) when it
 * comes from another site (checked before the body is read) or does not carry
 * the CSRF cookie's value; the body is read bounded (413 over 64 KiB, chunked
 * or not) and must be `application/x-www-form-urlencoded` (415 otherwise).
 *
 * @throws {ForbiddenError} / {PayloadTooLargeError} / {UnsupportedMediaTypeError}
 */
export async function readForm(c: Context): Promise<URLSearchParams> {
  const origin = c.req.header("origin");
  if (origin !== undefined && origin !== new URL(publicBaseUrl(c)).origin) {
    throw new ForbiddenError("the form was sent from another site");
  }
  const site = c.req.header("sec-fetch-site");
  if (site !== undefined && site !== "same-origin" && site !== "none") {
    throw new ForbiddenError("the form was sent from another site");
  }
  const type = c.req.header("content-type")?.split(";")[0].trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") {
    await c.req.raw.body?.cancel();
    throw new UnsupportedMediaTypeError("the pages' forms are sent as application/x-www-form-urlencoded");
  }
  const form = new URLSearchParams(await readBoundedText(c.req.raw, MAX_FORM_BYTES));
  const field = form.get("csrf");
  const cookie = getCookie(c, CSRF_COOKIE);
  const encoder = new TextEncoder();
  if (
    field === null || cookie === undefined || !CSRF_TOKEN.test(cookie) ||
    field.length !== cookie.length || !timingSafeEqual(encoder.encode(field), encoder.encode(cookie))
  ) {
    throw new ForbiddenError("the form has expired: reload the page and try again");
  }
  return form;
}
