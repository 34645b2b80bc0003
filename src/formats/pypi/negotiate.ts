/**
 * Content negotiation of the simple repository API (PEP 691): the media type
 * of a page from `Accept`, or from a `?format=` query parameter that wins
 * over it.
 *
 * @module
 */
import { NotAcceptableError } from "../../errors.ts";

/** The media types a simple page is served as. */
export type SimpleMediaType =
  | "application/vnd.pypi.simple.v1+json"
  | "application/vnd.pypi.simple.v1+html"
  | "text/html";

export const SIMPLE_JSON = "application/vnd.pypi.simple.v1+json";
export const SIMPLE_HTML = "application/vnd.pypi.simple.v1+html";

/** What each requestable media type is served as (`latest` is v1 here). */
const SERVED_AS: Record<string, SimpleMediaType> = {
  "application/vnd.pypi.simple.v1+json": SIMPLE_JSON,
  "application/vnd.pypi.simple.latest+json": SIMPLE_JSON,
  "application/vnd.pypi.simple.v1+html": SIMPLE_HTML,
  "application/vnd.pypi.simple.latest+html": SIMPLE_HTML,
  "text/html": "text/html",
};

/** `?format=` shorthands. */
const FORMAT_ALIASES: Record<string, SimpleMediaType> = { json: SIMPLE_JSON, html: "text/html" };

/**
 * Picks the media type to serve. Without `Accept`, or when only wildcards
 * match, `text/html` (the form every client understands); among types the
 * client names with equal weight, JSON first.
 *
 * @throws {NotAcceptableError} when the client accepts none of them.
 * @example
 * negotiate("application/vnd.pypi.simple.v1+json, text/html;q=0.01", undefined); // JSON
 */
export function negotiate(accept: string | undefined, format: string | undefined): SimpleMediaType {
  if (format !== undefined && format !== "") {
    const chosen = SERVED_AS[format.toLowerCase()] ?? FORMAT_ALIASES[format.toLowerCase()];
    if (chosen === undefined) {
      throw new NotAcceptableError(
        `unknown format "${format.slice(0, 100)}"; use ${Object.keys(SERVED_AS).join(", ")}, json or html`,
      );
    }
    return chosen;
  }
  if (accept === undefined || accept.trim() === "") return "text/html";
  const ranges = accept.split(",").map(parseRange).filter((r) => r !== null);
  let best: { type: SimpleMediaType; q: number; explicit: boolean; rank: number } | undefined;
  for (const [requested, type] of Object.entries(SERVED_AS)) {
    const match = bestMatch(ranges, requested);
    if (match === undefined || match.q <= 0) continue;
    // Explicitly named types beat wildcard matches; then JSON before HTML, except under wildcards.
    const explicit = match.type === requested;
    const rank = explicit ? preference(type, ["json", "v1+html", "text/html"]) : preference(type, ["text/html"]);
    const better = best === undefined || match.q > best.q ||
      (match.q === best.q && (explicit && !best.explicit || explicit === best.explicit && rank < best.rank));
    if (better) best = { type, q: match.q, explicit, rank };
  }
  if (best === undefined) {
    throw new NotAcceptableError(
      `none of the accepted media types is served; use ${SIMPLE_JSON}, ${SIMPLE_HTML} or text/html`,
    );
  }
  return best.type;
}

interface MediaRange {
  type: string;
  q: number;
}

function parseRange(text: string): MediaRange | null {
  const [type, ...params] = text.split(";").map((s) => s.trim());
  if (!type || !type.includes("/")) return null;
  let q = 1;
  for (const param of params) {
    const match = /^q\s*=\s*([0-9.]+)$/i.exec(param);
    if (match) q = Math.min(1, Number(match[1]) || 0);
  }
  return { type: type.toLowerCase(), q };
}

/** The most specific range matching `type` (exact, then `major/*`, then `*\/*`). */
function bestMatch(ranges: MediaRange[], type: string): MediaRange | undefined {
  const major = type.split("/")[0];
  return ranges.find((r) => r.type === type) ?? ranges.find((r) => r.type === `${major}/*`) ??
    ranges.find((r) => r.type === "*/*");
}

function preference(type: SimpleMediaType, order: string[]): number {
  const index = order.findIndex((o) => type.endsWith(o));
  return index < 0 ? order.length : index;
}
