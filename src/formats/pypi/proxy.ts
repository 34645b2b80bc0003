/**
 * Pull-through from an upstream simple index (`REGISTRY_PYPI_UPSTREAM`) for
 * projects nobody uploaded here: their pages come from the upstream (cached,
 * revalidated, served stale while it fails, through the core `Upstream`),
 * and their files are downloaded once, verified against the upstream's
 * SHA-256, and then served like local ones.
 *
 * @module
 */
import type { ArtifactInfo } from "../../core/artifacts.ts";
import { type Catalog, catalogIdentity } from "../../core/catalog.ts";
import type { PackageRef } from "../../core/package.ts";
import type { ExpectedDigests, Upstream } from "../../core/upstream.ts";
import { BadGatewayError, NotFoundError } from "../../errors.ts";
import type { ObjectStore } from "../../storage/object_store.ts";
import { LruCache } from "../../util/lru_cache.ts";
import { SIMPLE_HTML, SIMPLE_JSON } from "./negotiate.ts";
import { keys, latestVersion } from "./project.ts";
import { contentTypeOf } from "./registry.ts";
import { parseUpstreamPage, type UpstreamFile, type UpstreamProject } from "./upstream_page.ts";

/** What this registry asks the upstream for: JSON first, HTML from indexes that have only that. */
const UPSTREAM_ACCEPT = `${SIMPLE_JSON}, ${SIMPLE_HTML};q=0.2, text/html;q=0.01`;

/** Dependencies of {@link UpstreamProjects}. */
export interface UpstreamProjectsOptions {
  upstream: Upstream;
  /** How long a page is used before the upstream is asked again (`REGISTRY_UPSTREAM_TTL`). */
  ttlMs: number;
  catalog: Catalog;
  store: ObjectStore;
  now: () => number;
}

/** Projects of the upstream index, as this registry serves them. */
export class UpstreamProjects {
  readonly #options: UpstreamProjectsOptions;
  /** Parsed pages by project, with when the upstream last confirmed them. */
  readonly #pages = new LruCache<string, { checkedAt: number; project: UpstreamProject }>(2_000);
  /** Files known to be stored, by key (keys include the SHA-256: they never point at other bytes). */
  readonly #stored = new LruCache<string, ArtifactInfo>(10_000);

  constructor(options: UpstreamProjectsOptions) {
    this.#options = options;
  }

  /**
   * The upstream's page of a project, or `null` when it does not have the
   * project. Parsed once per version of the upstream's document.
   *
   * @throws {BadGatewayError} / {GatewayTimeoutError} when the upstream fails and nothing is cached.
   */
  async project(ref: PackageRef): Promise<UpstreamProject | null> {
    const { upstream, now, ttlMs } = this.#options;
    const known = this.#pages.get(ref.key);
    if (known !== undefined && now() - known.checkedAt < ttlMs) return known.project;
    const document = await upstream.document(`${ref.key}/`, UPSTREAM_ACCEPT);
    if (document === null) return null;
    if (known?.checkedAt === document.checkedAt) return known.project;
    let project: UpstreamProject;
    try {
      project = parseUpstreamPage(ref.key, `${upstream.url}/${ref.key}/`, document.body, document.contentType);
    } catch (error) {
      throw new BadGatewayError(`the upstream's page of ${ref.id} cannot be read: ${(error as Error).message}`);
    }
    this.#pages.set(ref.key, { checkedAt: document.checkedAt, project });
    await this.#record(ref, project);
    return project;
  }

  /**
   * True while `project` (as {@link project} returned it) may be served
   * without asking the upstream again: it is still the one known, within the TTL.
   */
  isFresh(ref: PackageRef, project: UpstreamProject): boolean {
    const known = this.#pages.get(ref.key);
    return known?.project === project && this.#options.now() - known.checkedAt < this.#options.ttlMs;
  }

  /**
   * Makes sure `filename` of the upstream project is stored (downloaded once,
   * verified against the upstream's SHA-256) and says how to serve it.
   *
   * @throws {NotFoundError} when the upstream does not list the file.
   * @throws {BadGatewayError} when it cannot be downloaded or does not match its hash.
   */
  async file(ref: PackageRef, project: UpstreamProject, filename: string): Promise<ArtifactInfo> {
    const file = find(ref, project, filename);
    const expected = file.size === undefined ? { sha256: file.sha256 } : { sha256: file.sha256, size: file.size };
    return await this.#ensure(
      file.url,
      keys.upstreamFile(ref, file.sha256, filename),
      expected,
      contentTypeOf(filename),
      keys.legacyUpstreamFile(ref, file.sha256, filename),
    );
  }

  /**
   * The core metadata of an upstream file (`<url>.metadata`), downloaded once
   * and verified against the hash the upstream's page gives.
   *
   * @throws {NotFoundError} when the upstream offers no metadata for the file.
   */
  async metadata(ref: PackageRef, project: UpstreamProject, filename: string): Promise<ArtifactInfo> {
    const file = find(ref, project, filename);
    const sha256 = file.coreMetadataSha256;
    if (sha256 === undefined) throw new NotFoundError(`${filename} has no metadata file`);
    const key = `${keys.upstreamFile(ref, file.sha256, filename)}.metadata`;
    const legacy = `${keys.legacyUpstreamFile(ref, file.sha256, filename)}.metadata`;
    return await this.#ensure(`${file.url}.metadata`, key, { sha256 }, "text/plain; charset=utf-8", legacy);
  }

  /** Forgets that `key` is stored (it was evicted): the next request for it downloads it again. */
  forget(key: string): void {
    this.#stored.delete(key);
  }

  /** Downloads `url` to `key` unless it is there (or at `legacyKey`), verified against `expected`. */
  async #ensure(
    url: string,
    key: string,
    expected: ExpectedDigests,
    contentType: string,
    legacyKey: string,
  ): Promise<ArtifactInfo> {
    const known = this.#stored.get(key);
    if (known !== undefined) return known;
    const head = await this.#options.upstream.fetchArtifact(url, key, expected, contentType, legacyKey);
    const info = { key, size: head.size, etag: `"${expected.sha256}"`, lastModified: head.lastModified };
    this.#stored.set(key, info);
    return info;
  }

  /** Lists the project in the catalog (once, and again when its versions change). */
  async #record(ref: PackageRef, project: UpstreamProject): Promise<void> {
    const { catalog, now } = this.#options;
    const latest = latestVersion(project.versions);
    if (latest === undefined) return;
    const known = await catalog.get("pypi", ref.key);
    if (known?.origin === "local") return;
    if (known?.latestVersion === latest && known.versions === project.versions.length) return;
    const uploaded = project.files.map((f) => f.uploadTime).filter((t) => t !== undefined).sort().at(-1);
    await catalog.record({
      ...catalogIdentity(ref),
      name: project.name, // as uploaded, where the ref's is normalised
      latestVersion: latest,
      versions: project.versions.length,
      updatedAt: uploaded ?? new Date(now()).toISOString(),
      origin: "upstream",
    });
  }
}

function find(ref: PackageRef, project: UpstreamProject, filename: string): UpstreamFile {
  const file = project.files.find((f) => f.filename === filename);
  if (file === undefined) throw new NotFoundError(`${ref.id} has no file ${filename}`);
  return file;
}
