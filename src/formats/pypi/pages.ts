/**
 * Pages of the simple repository API: a project's files and the index of
 * projects, as PEP 503 HTML or PEP 691 JSON (api-version 1.1, PEP 700), with
 * PEP 592 yanking, PEP 658/714 metadata and `Requires-Python`, rendered into
 * prepared responses (src/http/prepared.ts) that the routes keep per stored
 * document, base URL and media type, so hot reads do no rendering work.
 *
 * @module
 */
import { PreparedResponse, strongEtag } from "../../http/prepared.ts";
import { SIMPLE_JSON, type SimpleMediaType } from "./negotiate.ts";

/** One file as a project page lists it. */
export interface PageFile {
  filename: string;
  /** Absolute URL of the file, without fragment. */
  url: string;
  sha256: string;
  /** Bytes (known for every local file; upstream pages may not say). */
  size?: number;
  /** ISO 8601 time of the upload. */
  uploadTime?: string;
  requiresPython?: string;
  /** `false`, or the reason the release was yanked (`""` when none was given). */
  yanked: false | string;
  /** SHA-256 of the file's core metadata served at `<url>.metadata`, when there is one. */
  coreMetadataSha256?: string;
}

/** A project's page, before it is rendered. */
export interface ProjectPage {
  /** The normalised project name. */
  name: string;
  versions: string[];
  files: PageFile[];
}

/** Escapes text for HTML element content and double-quoted attributes. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** A page with its headers: it varies on `Accept` (and `?format=`), and clients revalidate it every time. */
function prepared(text: string, contentType: SimpleMediaType): PreparedResponse {
  return new PreparedResponse(text, {
    "Content-Type": contentType === SIMPLE_JSON ? contentType : `${contentType}; charset=utf-8`,
    ETag: strongEtag(text),
    Vary: "Accept",
    "Cache-Control": "max-age=0",
  });
}

/** PEP 700's `size` is mandatory in 1.1: a page of an upstream that does not give sizes is served as 1.0. */
function apiVersion(page: ProjectPage): "1.0" | "1.1" {
  return page.files.every((f) => f.size !== undefined) ? "1.1" : "1.0";
}

/** A project page as HTML (PEP 503, with the data attributes of PEPs 592, 658, 714 and 503's Requires-Python). */
function renderProjectHtml(page: ProjectPage, contentType: SimpleMediaType): PreparedResponse {
  const links = page.files.map((file) => {
    const attributes = [`href="${escapeHtml(`${file.url}#sha256=${file.sha256}`)}"`];
    if (file.requiresPython !== undefined) {
      attributes.push(`data-requires-python="${escapeHtml(file.requiresPython)}"`);
    }
    if (file.coreMetadataSha256 !== undefined) {
      // Both spellings: pip 23.0 (Debian's) reads only the older one (PEP 658), newer clients the newer (PEP 714).
      attributes.push(`data-dist-info-metadata="sha256=${file.coreMetadataSha256}"`);
      attributes.push(`data-core-metadata="sha256=${file.coreMetadataSha256}"`);
    }
    if (file.yanked !== false) attributes.push(`data-yanked="${escapeHtml(file.yanked)}"`);
    return `    <a ${attributes.join(" ")}>${escapeHtml(file.filename)}</a><br />`;
  });
  const title = `Links for ${escapeHtml(page.name)}`;
  return prepared(
    [
      "<!DOCTYPE html>",
      "<html>",
      "  <head>",
      `    <meta name="pypi:repository-version" content="${apiVersion(page)}">`,
      `    <title>${title}</title>`,
      "  </head>",
      "  <body>",
      `    <h1>${title}</h1>`,
      ...links,
      "  </body>",
      "</html>",
      "",
    ].join("\n"),
    contentType,
  );
}

/**
 * A project page as PEP 691 JSON (api-version 1.1 adds `versions`, `size` and
 * `upload-time`).
 */
function renderProjectJson(page: ProjectPage): PreparedResponse {
  const version = apiVersion(page);
  const files = page.files.map((file) => {
    return {
      filename: file.filename,
      url: file.url,
      hashes: { sha256: file.sha256 },
      ...(file.requiresPython === undefined ? {} : { "requires-python": file.requiresPython }),
      // Only the PEP 714 key: pip before 23.2 fails hard on any "dist-info-metadata" in JSON.
      ...(file.coreMetadataSha256 === undefined ? {} : { "core-metadata": { sha256: file.coreMetadataSha256 } }),
      yanked: file.yanked === false ? false : file.yanked === "" ? true : file.yanked,
      ...(version === "1.1" ? { size: file.size } : {}),
      ...(file.uploadTime === undefined ? {} : { "upload-time": file.uploadTime }),
    };
  });
  const body = {
    meta: { "api-version": version },
    name: page.name,
    ...(version === "1.1" ? { versions: page.versions } : {}),
    files,
  };
  return prepared(JSON.stringify(body), SIMPLE_JSON);
}

/** A project page in `type`. */
export function renderProject(page: ProjectPage, type: SimpleMediaType): PreparedResponse {
  return type === SIMPLE_JSON ? renderProjectJson(page) : renderProjectHtml(page, type);
}

/** A project of the index page: its name as published, and its page's URL. */
export interface IndexProject {
  name: string;
  url: string;
}

/** The index of projects (`/simple/`). */
export function renderIndex(projects: IndexProject[], type: SimpleMediaType): PreparedResponse {
  if (type === SIMPLE_JSON) {
    return prepared(
      JSON.stringify({ meta: { "api-version": "1.1" }, projects: projects.map((p) => ({ name: p.name })) }),
      type,
    );
  }
  return prepared(
    [
      "<!DOCTYPE html>",
      "<html>",
      "  <head>",
      '    <meta name="pypi:repository-version" content="1.1">',
      "    <title>Simple index</title>",
      "  </head>",
      "  <body>",
      ...projects.map((p) => `    <a href="${escapeHtml(p.url)}">${escapeHtml(p.name)}</a><br />`),
      "  </body>",
      "</html>",
      "",
    ].join("\n"),
    type,
  );
}
