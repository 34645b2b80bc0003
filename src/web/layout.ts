/**
 * The frame of every page (header with the search box, main, footer), and
 * the headers every page and asset is sent with: a Content-Security-Policy
 * allowing scripts and styles from this server only (no inline script or
 * style), images from it and from https, no framing, forms only to this
 * server; `nosniff`; and a same-origin referrer policy.
 *
 * @module
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { createHash } from "node:crypto";
import { ICON_ASSET, SCRIPT_ASSET, STYLESHEET } from "./assets.ts";
import { type Html, html } from "./html.ts";

/** The Content-Security-Policy of every page. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' https:",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

/** Headers sent with every page, error page and asset. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": CONTENT_SECURITY_POLICY,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "same-origin",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Opener-Policy": "same-origin",
};

/** What the frame shows besides the page itself. */
export interface Frame {
  title: string;
  /** The search box's text. */
  query?: string;
  /** Set when the visitor is signed in: the sign-out form needs the anti-forgery token. */
  signedIn?: { csrf: string };
  /** The server's version, in the footer. */
  version: string;
}

/** A whole HTML document: the frame around `content`. */
export function document(frame: Frame, content: Html): Html {
  return html`
    <!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="color-scheme" content="light dark">
        <title>${frame.title} · Registry</title>
        <link rel="stylesheet" href="${STYLESHEET.path}">
        <link rel="icon" href="${ICON_ASSET.path}" type="image/svg+xml">
        <script src="${SCRIPT_ASSET.path}" defer></script>
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="site">
          <div class="bar">
            <a class="brand" href="/">Registry</a>
            <form class="search" role="search" method="get" action="/-/web/search">
              <input type="search" name="q" value="${frame.query ??
                ""}" placeholder="Search packages" aria-label="Search packages">
              <button type="submit">Search</button>
            </form>
            <nav aria-label="Site">
    <a href="/-/web/admin">Operator</a>
    ${frame.signedIn === undefined ? "" : html`
      <form class="inline" method="post" action="/-/web/sign-out">
        <input type="hidden" name="csrf" value="${frame.signedIn.csrf}">
        <button class="quiet" type="submit">Sign out</button>
      </form>
    `}
            </nav>
          </div>
        </header>
        <main id="main">
    ${content}
        </main>
        <footer class="site">Registry ${frame.version}</footer>
      </body>
    </html>
  `;
}

/** The headers of an HTML page (cookies set on `c` are added by Hono). */
export function pageHeaders(extra: Record<string, string> = {}): Record<string, string> {
  // Pages are never stored by shared caches: they may show a signed-in visitor's state.
  return {
    ...SECURITY_HEADERS,
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "private, no-cache",
    Vary: "Cookie",
    ...extra,
  };
}

/**
 * An HTML page with the security headers and cookies set on `c`, an ETag of
 * the body, and `304` when the request already has it.
 */
export function respondHtml(c: Context, status: ContentfulStatusCode, body: Html): Response {
  const etag = `"${createHash("sha1").update(body.value).digest("base64url")}"`;
  if (status === 200 && c.req.header("if-none-match") === etag) return c.body(null, 304, pageHeaders({ ETag: etag }));
  return c.body(body.value, status, pageHeaders({ ETag: etag }));
}

/** An ISO 8601 time as a `<time>` element people read (`2026-01-02 03:04:05 UTC`), or "—" when absent. */
export function timeElement(iso: string | undefined): Html | string {
  if (iso === undefined) return "—";
  return html`<time datetime="${iso}">${iso.replace("T", " ").replace(/(\.\d+)?Z$/, " UTC")}</time>`;
}

/** `iso` as a short date (`2026-01-02`), or "" when absent. */
export function shortDate(iso: string | undefined): string {
  return iso === undefined ? "" : iso.slice(0, 10);
}
