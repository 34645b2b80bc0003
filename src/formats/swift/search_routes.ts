/**
 * `GET /search?q=&limit=&offset=` (SE-0536), answered from the catalog in
 * memory, with only the packages the caller may read.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { authorizeRead, mayRead } from "../../auth/access.ts";
import type { CatalogEntry } from "../../core/catalog.ts";
import { BadRequestError } from "../../errors.ts";
import type { AppEnv } from "../../http/middleware.ts";
import type { PackageRef } from "./identity.ts";
import { link, type SwiftUrls } from "./links.ts";
import type { SwiftApiDeps } from "./routes.ts";
import { parseSearchQuery } from "./search.ts";

/** Default and largest `limit` (SE-0536). */
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;

/** Adds the search endpoint to `app`. */
export function addSearchRoute(app: Hono<AppEnv>, deps: SwiftApiDeps, urlsFor: (c: Context) => SwiftUrls): void {
  app.get("/search", async (c) => {
    const principal = await authorizeRead(deps.auth, c.req.raw);
    const limit = integerParam(c.req.query("limit"), "limit", DEFAULT_LIMIT, 1, MAX_LIMIT);
    const offset = integerParam(c.req.query("offset"), "offset", 0, 0, 1_000_000_000);
    const q = c.req.query("q") ?? "";
    const query = parseSearchQuery(q);
    const canRead = (entry: CatalogEntry) => mayRead(deps.auth, principal, catalogRef(entry));
    const { results, total } = await deps.search.search(query, canRead, offset, limit);
    const urls = urlsFor(c);
    const headers: Record<string, string> = {};
    if (total > limit || offset > 0) headers.Link = searchLinks(urls, q, offset, limit, total);
    return c.json({ results: results.map((entry) => searchResult(urls, entry)), total, offset, limit }, 200, headers);
  });
}

/**
 * An integer query parameter from `min` to `max`, `fallback` when absent.
 *
 * @throws {BadRequestError} naming the parameter otherwise.
 */
function integerParam(raw: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = /^\d{1,10}$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= min && value <= max)) {
    throw new BadRequestError(`invalid ${name} "${raw}": expected an integer from ${min} to ${max}`);
  }
  return value;
}

/** The ref of a package in the catalog (validated when it was recorded). */
function catalogRef(entry: CatalogEntry): PackageRef {
  return { format: "swift", scope: entry.scope ?? "", name: entry.name, key: entry.key, id: entry.id };
}

/** One search result as SE-0536 defines it. */
function searchResult(urls: SwiftUrls, entry: CatalogEntry) {
  return {
    identity: entry.id,
    ...(entry.description === undefined ? {} : { summary: entry.description }),
    latestVersion: entry.latestVersion,
    ...(entry.authors?.[0] === undefined ? {} : { author: entry.authors[0] }),
    ...(entry.license === undefined ? {} : { licenseURL: entry.license }),
    url: urls.package({ scope: entry.scope ?? "", name: entry.name }),
  };
}

/** `Link` first/prev/next/last of a search with more than one page. */
function searchLinks(urls: SwiftUrls, q: string, offset: number, limit: number, total: number): string {
  const at = (start: number, rel: string) => link(urls.search(q, limit, start), rel);
  const links = [at(0, "first")];
  if (offset > 0) links.push(at(Math.max(0, offset - limit), "prev"));
  if (offset + limit < total) links.push(at(offset + limit, "next"));
  links.push(at(total === 0 ? 0 : Math.floor((total - 1) / limit) * limit, "last"));
  return links.join(", ");
}
