/**
 * PyPI test helpers: wheels and sdists built in the test (valid ones, and
 * hostile ones), uploads as twine sends them, and simple-page reads.
 *
 * @module
 */
import { packTar, type TarEntry } from "modern-tar";
import { buildZip, type TestEntry } from "./archives.ts";
import { ADMIN_TOKEN, sha256Hex } from "./server.ts";

/** A distribution file. */
export interface Dist {
  filename: string;
  bytes: Uint8Array<ArrayBuffer>;
}

/** The `Accept` header pip sends. */
export const PIP_ACCEPT =
  "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";

/** Core metadata text for `name` at `version`. */
export function coreMetadata(name: string, version: string, extra = ""): string {
  return `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\nSummary: ${name} for tests\n${extra}\n`;
}

/**
 * A wheel of `name` at `version` (`{name}-{version}.dist-info/` with METADATA,
 * WHEEL and RECORD), with `entries` added and `metadata` in place of the
 * default METADATA.
 */
export async function wheel(
  name: string,
  version: string,
  options: { entries?: TestEntry[]; metadata?: string; filename?: string; distInfo?: string } = {},
): Promise<Dist> {
  const escaped = name.replace(/[-_.]+/g, "_");
  const distInfo = options.distInfo ?? `${escaped}-${version}.dist-info`;
  const bytes = await buildZip([
    { name: `${escaped.toLowerCase()}/__init__.py`, content: "VALUE = 1\n" },
    ...(options.entries ?? []),
    { name: `${distInfo}/METADATA`, content: options.metadata ?? coreMetadata(name, version) },
    {
      name: `${distInfo}/WHEEL`,
      content: "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    },
    { name: `${distInfo}/RECORD`, content: "" },
  ]);
  return { filename: options.filename ?? `${escaped}-${version}-py3-none-any.whl`, bytes };
}

/** An sdist (`.tar.gz`) of `name` at `version`, with `entries` added (names relative to the archive). */
export async function sdist(
  name: string,
  version: string,
  options: { entries?: TarEntry[]; pkgInfo?: string | null } = {},
): Promise<Dist> {
  const top = `${name}-${version}`;
  const pkgInfo = options.pkgInfo === undefined ? coreMetadata(name, version) : options.pkgInfo;
  const entries: TarEntry[] = [
    { header: { name: `${top}/`, type: "directory", size: 0 } },
    ...(pkgInfo === null ? [] : [{ header: { name: `${top}/PKG-INFO`, size: pkgInfo.length }, body: pkgInfo }]),
    { header: { name: `${top}/setup.py`, size: 6 }, body: "pass\n\n" },
    ...(options.entries ?? []),
  ];
  return { filename: `${top}.tar.gz`, bytes: await gzip(await packTar(entries)) };
}

/** Gzips bytes. */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The name and version a distribution's file name gives. */
export function nameAndVersion(filename: string): { name: string; version: string } {
  const stem = filename.replace(/(\.tar\.gz|\.zip|-[^-]+-[^-]+-[^-]+\.whl)$/, "");
  const dash = stem.lastIndexOf("-");
  return { name: stem.slice(0, dash), version: stem.slice(dash + 1) };
}

/** The form twine sends for `dist`; `fields` override or add fields (`null` leaves one out). */
export async function uploadForm(dist: Dist, fields: Record<string, string | null> = {}): Promise<FormData> {
  const form = new FormData();
  const defaults: Record<string, string> = {
    ":action": "file_upload",
    protocol_version: "1",
    ...nameAndVersion(dist.filename),
    filetype: dist.filename.endsWith(".whl") ? "bdist_wheel" : "sdist",
    sha256_digest: await sha256Hex(dist.bytes),
  };
  for (const [key, value] of Object.entries({ ...defaults, ...fields })) {
    if (value !== null) form.append(key, value);
  }
  form.append("content", new File([dist.bytes], dist.filename));
  return form;
}

/**
 * Uploads `dist` as twine does (multipart POST at `<server>/pypi/`, Basic
 * `__token__` credentials), with {@link uploadForm}'s `fields`.
 */
export async function upload(
  server: string,
  dist: Dist,
  fields: Record<string, string | null> = {},
  token: string | null = ADMIN_TOKEN,
): Promise<Response> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.Authorization = `Basic ${btoa(`__token__:${token}`)}`;
  return await fetch(`${server}/pypi/`, { method: "POST", body: await uploadForm(dist, fields), headers });
}

/** A simple-API project page as JSON. */
export async function projectJson(server: string, project: string): Promise<SimpleProject> {
  const response = await fetch(`${server}/pypi/simple/${project}/`, { headers: { Accept: PIP_ACCEPT } });
  if (response.status !== 200) throw new Error(`GET ${project}: ${response.status} ${await response.text()}`);
  return await response.json();
}

/** A PEP 691 project page. */
export interface SimpleProject {
  meta: { "api-version": string };
  name: string;
  versions?: string[];
  files: Array<{
    filename: string;
    url: string;
    hashes: { sha256: string };
    "requires-python"?: string;
    "core-metadata"?: { sha256: string };
    yanked: boolean | string;
    size?: number;
    "upload-time"?: string;
  }>;
}
