/**
 * The answers of the GOPROXY read endpoints as prepared responses
 * (src/http/prepared.ts): body and headers built once, then answered again
 * from memory (304 and HEAD included).
 *
 * @module
 */
import type { ArtifactInfo } from "../../core/artifacts.ts";
import { PreparedResponse, strongEtag } from "../../http/prepared.ts";
import { isPseudoVersion, latestVersion } from "./module.ts";
import { type LocalVersion, type ModuleDocument, sortVersions } from "./registry.ts";

const TEXT = "text/plain; charset=utf-8";
/** `Cache-Control` of what never changes: a version's `.info`, `.mod` and `.zip`. */
export const IMMUTABLE = "public, max-age=31536000, immutable";
/** `Cache-Control` of what changes with new versions: the list and `@latest`. */
const REVALIDATE = "no-cache";

/** The `@v/list` answer: one version per line, as given (lowest first, without pseudo-versions). */
export function listResponse(versions: readonly string[]): PreparedResponse {
  const body = versions.map((v) => `${v}\n`).join("");
  return new PreparedResponse(body, { "Content-Type": TEXT, ETag: strongEtag(body), "Cache-Control": REVALIDATE });
}

/** An `.info` answer, `{"Version":"v1.2.3","Time":"2024-01-02T03:04:05Z"}`; `@latest`'s is revalidated. */
export function infoResponse(version: string, time: string, latest = false): PreparedResponse {
  return PreparedResponse.json({ Version: version, Time: time }, {
    "Cache-Control": latest ? REVALIDATE : IMMUTABLE,
  });
}

/** A `.mod` answer: its stored bytes, with the ETag and Last-Modified of `file`. */
export function modResponse(bytes: Uint8Array<ArrayBuffer>, file: ArtifactInfo): PreparedResponse {
  return new PreparedResponse(bytes, {
    "Content-Type": TEXT,
    "Cache-Control": IMMUTABLE,
    ETag: file.etag,
    "Last-Modified": file.lastModified.toUTCString(),
  });
}

/** The list of a module's own versions. */
export function localListResponse(document: ModuleDocument): PreparedResponse {
  return listResponse(sortVersions(Object.keys(document.versions).filter((v) => !isPseudoVersion(v))));
}

/** The `@latest` of a module with versions of its own. */
export function localLatestResponse(document: ModuleDocument): PreparedResponse {
  const latest: LocalVersion = document.versions[latestVersion(Object.keys(document.versions))!];
  return infoResponse(latest.version, latest.time, true);
}
