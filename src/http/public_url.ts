/**
 * The request's authority, checked before anything routes on it, and the
 * public base URL that absolute `Location` and `Link` URLs are built from.
 *
 * Deno builds `Request.url` by pasting the `Host` header in front of the
 * request target, so a `Host` such as `x/swift/a/b/1.0.0.zip?` would move the
 * path Hono routes on. {@link authorityCheck} answers 400 to any `Host` (or
 * absolute-form target authority) that is not an RFC 3986 `host[:port]`.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { BadRequestError } from "../errors.ts";
import type { AppEnv } from "./middleware.ts";

/** How {@link publicBaseUrl} derives the base URL. */
export interface PublicUrlPolicy {
  /** `REGISTRY_PUBLIC_URL`, when set: always used. */
  publicUrl?: string;
  /** Peers whose `X-Forwarded-Proto` / `X-Forwarded-Host` are believed (`REGISTRY_TRUSTED_PROXIES`). */
  trustedProxies: ReadonlySet<string>;
}

// RFC 3986 host: IP-literal, or reg-name (which covers IPv4address); then an optional port.
const AUTHORITY = /^(?:\[[0-9A-Fa-f:.]+\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+)(?::(\d{0,5}))?$/;

/**
 * Whether `value` is an RFC 3986 `host[:port]` with a port of at most 65535
 * that a WHATWG URL also accepts (percent-encoded and bracketed hosts are
 * checked with `URL`, which is only paid for those).
 */
export function isValidAuthority(value: string): boolean {
  const match = AUTHORITY.exec(value);
  if (match === null || (match[1] !== undefined && match[1] !== "" && Number(match[1]) > 65535)) return false;
  if (!value.includes("%") && !value.startsWith("[")) return true;
  try {
    new URL(`http://${value}/`);
    return true;
  } catch {
    return false;
  }
}

/** The authority part of a `Request.url` Deno built: from after `://` to the first `/` or `?`. */
function urlAuthority(url: string): string {
  const start = url.indexOf("://") + 3;
  let end = start;
  while (end < url.length && url[end] !== "/" && url[end] !== "?") end++;
  return url.slice(start, end);
}

/**
 * Middleware answering 400 to a request whose `Host` header, or whose URL's
 * authority, is not a valid `host[:port]`, before any handler sees it; then
 * remembers `policy` for {@link publicBaseUrl}. Runs first, so nothing routes
 * on a path a bad `Host` moved.
 */
export function authorityCheck(policy: PublicUrlPolicy): MiddlewareHandler<AppEnv> {
  // Not an async function: a check that passes hands on next()'s promise, adding no layer of its own.
  return (c, next) => {
    const host = c.req.raw.headers.get("host");
    const url = c.req.url;
    if (
      (host !== null && host !== "" && !isValidAuthority(host)) || !/^https?:\/\//.test(url) ||
      !isValidAuthority(urlAuthority(url))
    ) {
      throw new BadRequestError("the Host header must be a valid host[:port] (RFC 9110, section 7.2)");
    }
    c.set("urlPolicy", policy);
    return next();
  };
}

/**
 * The absolute base URL clients reach this server at, without a trailing
 * slash: `REGISTRY_PUBLIC_URL` when set; else, from a trusted proxy, its
 * `X-Forwarded-Proto` and `X-Forwarded-Host` (each when valid); else the
 * scheme and `Host` of the request itself.
 */
export function publicBaseUrl(c: Context): string {
  const policy = (c as Context<AppEnv>).get("urlPolicy");
  if (policy?.publicUrl !== undefined) return policy.publicUrl;
  const url = c.req.url;
  let scheme = url.slice(0, url.indexOf(":"));
  let authority = urlAuthority(url);
  const peer = (c.env as { remoteAddr?: { hostname?: string } } | undefined)?.remoteAddr?.hostname;
  if (peer !== undefined && policy?.trustedProxies.has(peer)) {
    const proto = firstValue(c.req.header("x-forwarded-proto"))?.toLowerCase();
    if (proto === "http" || proto === "https") scheme = proto;
    const host = firstValue(c.req.header("x-forwarded-host"));
    if (host !== undefined && isValidAuthority(host)) authority = host;
  }
  // Commas would split a Link header value in SwiftPM's parser.
  return `${scheme}://${authority.replaceAll(",", "%2C")}`;
}

/** The first of a comma-separated header's values (the one the client-facing proxy set). */
function firstValue(header: string | undefined): string | undefined {
  const value = header?.split(",")[0].trim();
  return value === "" ? undefined : value;
}
