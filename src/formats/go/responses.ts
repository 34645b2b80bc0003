/**
 * Response bodies of the GOPROXY read endpoints. Bodies of stored module
 * documents (the version list, `@latest`, each `.info`) are computed once per
 * document and kept with their ETag, so hot reads do no work; answers built
 * from the upstream are prepared per request.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { ifNoneMatchHits } from "../../http/range.ts";
import { isPseudoVersion, latestVersion } from "./module.ts";
import { type LocalVersion, type ModuleDocument, sortVersions } from "./registry.ts";

/** A body with its content type and strong ETag. */
export interface PreparedBody {
  body: Uint8Array<ArrayBuffer>;
  contentType: string;
  etag: string;
}

const TEXT = "text/plain; charset=utf-8";
const JSON_TYPE = "application/json";

/** Prepares a body: its bytes and ETag. */
export function prepareBody(text: string, contentType: string): PreparedBody {
  const body = new TextEncoder().encode(text);
  return { body, contentType, etag: `"${createHash("sha1").update(body).digest("hex")}"` };
}

/** The `@v/list` body: one version per line, lowest first, without pseudo-versions. */
export function listBody(versions: readonly string[]): PreparedBody {
  return prepareBody(versions.map((v) => `${v}\n`).join(""), TEXT);
}

/** An `.info` body: `{"Version":"v1.2.3","Time":"2024-01-02T03:04:05Z"}`. */
export function infoBody(version: string, time: string): PreparedBody {
  return prepareBody(JSON.stringify({ Version: version, Time: time }), JSON_TYPE);
}

// Documents are replaced, never mutated, so their identity keys the memo.
const listMemo = new WeakMap<ModuleDocument, { list: PreparedBody; latest: PreparedBody | null }>();
const infoMemo = new WeakMap<LocalVersion, PreparedBody>();

/** The list and `@latest` of a module's own versions. */
export function localBodies(document: ModuleDocument): { list: PreparedBody; latest: PreparedBody | null } {
  let bodies = listMemo.get(document);
  if (bodies === undefined) {
    const all = Object.keys(document.versions);
    const latest = latestVersion(all);
    bodies = {
      list: listBody(sortVersions(all.filter((v) => !isPseudoVersion(v)))),
      latest: latest === undefined ? null : localInfoBody(document.versions[latest]),
    };
    listMemo.set(document, bodies);
  }
  return bodies;
}

/** The `.info` of a version published here. */
export function localInfoBody(record: LocalVersion): PreparedBody {
  let body = infoMemo.get(record);
  if (body === undefined) {
    body = infoBody(record.version, record.time);
    infoMemo.set(record, body);
  }
  return body;
}

/** A 200 response of a prepared body, or 304 when `If-None-Match` matches. */
export function preparedResponse(
  prepared: PreparedBody,
  ifNoneMatch: string | undefined,
  cacheControl = "no-cache",
): Response {
  const headers = { ETag: prepared.etag, "Cache-Control": cacheControl };
  if (ifNoneMatchHits(ifNoneMatch, prepared.etag)) return new Response(null, { status: 304, headers });
  return new Response(prepared.body, {
    status: 200,
    headers: { ...headers, "Content-Type": prepared.contentType, "Content-Length": String(prepared.body.byteLength) },
  });
}
