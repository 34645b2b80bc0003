/**
 * Reading an upstream index's project page, PEP 691 JSON or PEP 503 HTML,
 * into the files this registry can proxy: wheels and sdists with a SHA-256 to
 * verify them by. Other files (eggs, installers, files offered without a
 * SHA-256) are left out.
 *
 * @module
 */
import { normalizeName, normalizeVersion, parseDistributionFilename } from "./names.ts";
import type { PageFile } from "./pages.ts";
import { sortVersions } from "./project.ts";

/**
 * A file of an upstream project, as a project page lists it: `url` is on the
 * upstream (or its file host), and `coreMetadataSha256` is there when the
 * upstream offers the core metadata with a hash.
 */
export type UpstreamFile = PageFile;

/** An upstream project page, parsed. */
export interface UpstreamProject {
  /** The normalised name. */
  name: string;
  versions: string[];
  files: UpstreamFile[];
}

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Parses the page of project `name` fetched from `pageUrl` (relative links
 * resolve against it), by its content type.
 *
 * @throws {Error} when a JSON page is not valid JSON.
 */
export function parseUpstreamPage(
  name: string,
  pageUrl: string,
  body: Uint8Array,
  contentType: string,
): UpstreamProject {
  const text = new TextDecoder().decode(body);
  const raw = /json/i.test(contentType) ? fromJson(JSON.parse(text), pageUrl) : fromHtml(text, pageUrl);
  const files: UpstreamFile[] = [];
  const seen = new Set<string>();
  const versions = new Set<string>();
  for (const file of raw) {
    if (seen.has(file.filename) || !SHA256.test(file.sha256)) continue;
    let version: string | null;
    try {
      const parsed = parseDistributionFilename(file.filename);
      if (normalizeName(parsed.name) !== name) continue;
      version = normalizeVersion(parsed.version);
    } catch {
      continue; // not a wheel or sdist this registry serves
    }
    if (version === null) continue;
    seen.add(file.filename);
    versions.add(version);
    files.push(file);
  }
  return { name, versions: sortVersions(versions), files };
}

function fromJson(document: unknown, pageUrl: string): UpstreamFile[] {
  const files = (document as { files?: unknown })?.files;
  if (!Array.isArray(files)) return [];
  const out: UpstreamFile[] = [];
  for (const entry of files) {
    if (typeof entry !== "object" || entry === null) continue;
    const f = entry as Record<string, unknown>;
    if (typeof f.filename !== "string" || typeof f.url !== "string") continue;
    const url = absolute(f.url, pageUrl);
    const sha256 = (f.hashes as Record<string, unknown> | undefined)?.sha256;
    if (url === null || typeof sha256 !== "string") continue;
    url.hash = "";
    const metadata = f["core-metadata"] ?? f["dist-info-metadata"];
    const metadataSha256 = (metadata as Record<string, unknown> | undefined)?.sha256;
    out.push({
      filename: f.filename,
      url: url.href,
      sha256: sha256.toLowerCase(),
      ...(typeof f.size === "number" && Number.isSafeInteger(f.size) && f.size >= 0 ? { size: f.size } : {}),
      ...(typeof f["upload-time"] === "string" ? { uploadTime: f["upload-time"] } : {}),
      ...(typeof f["requires-python"] === "string" && f["requires-python"] !== ""
        ? { requiresPython: f["requires-python"] }
        : {}),
      yanked: f.yanked === true ? "" : typeof f.yanked === "string" ? f.yanked : false,
      ...(typeof metadataSha256 === "string" && SHA256.test(metadataSha256.toLowerCase())
        ? { coreMetadataSha256: metadataSha256.toLowerCase() }
        : {}),
    });
  }
  return out;
}

function fromHtml(html: string, pageUrl: string): UpstreamFile[] {
  const out: UpstreamFile[] = [];
  for (const match of html.matchAll(/<a\s([^>]*)>/gi)) {
    const attributes = parseAttributes(match[1]);
    const href = attributes.get("href");
    if (href === undefined) continue;
    const parsed = absolute(href, pageUrl);
    if (parsed === null) continue;
    const sha256 = /^sha256=([0-9a-fA-F]{64})$/.exec(parsed.hash.slice(1))?.[1];
    if (sha256 === undefined) continue;
    parsed.hash = "";
    let filename: string;
    try {
      filename = decodeURIComponent(parsed.pathname.split("/").pop() ?? "");
    } catch {
      continue;
    }
    const metadata = attributes.get("data-core-metadata") ?? attributes.get("data-dist-info-metadata");
    const metadataSha256 = /^sha256=([0-9a-fA-F]{64})$/.exec(metadata ?? "")?.[1];
    const requiresPython = attributes.get("data-requires-python");
    const yanked = attributes.get("data-yanked");
    out.push({
      filename,
      url: parsed.href,
      sha256: sha256.toLowerCase(),
      ...(requiresPython ? { requiresPython } : {}),
      yanked: yanked === undefined ? false : yanked,
      ...(metadataSha256 ? { coreMetadataSha256: metadataSha256.toLowerCase() } : {}),
    });
  }
  return out;
}

/** The attributes of a start tag, names lower-cased, values with character references decoded. */
function parseAttributes(text: string): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const match of text.matchAll(/([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g)) {
    const name = match[1].toLowerCase();
    if (!attributes.has(name)) attributes.set(name, decodeEntities(match[2] ?? match[3] ?? match[4] ?? ""));
  }
  return attributes;
}

const NAMED_ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, ref: string) => {
    if (ref[0] !== "#") return NAMED_ENTITIES[ref.toLowerCase()] ?? whole;
    const code = ref[1] === "x" || ref[1] === "X" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

function absolute(href: string, base: string): URL | null {
  try {
    const url = new URL(href, base);
    return url.protocol === "http:" || url.protocol === "https:" ? url : null;
  } catch {
    return null;
  }
}
