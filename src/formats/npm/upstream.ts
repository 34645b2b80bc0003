/**
 * Pull-through from an upstream npm registry (`REGISTRY_NPM_UPSTREAM`) for
 * names that have never had a local release: the upstream's packument (cached,
 * revalidated, served stale while the upstream fails, by the core's
 * {@link Upstream}) with tarball URLs rewritten to this server; tarballs
 * downloaded once, checked against the packument's `dist.integrity` (SHA-512)
 * or `dist.shasum` (SHA-1), stored, then served like local ones.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { ArtifactInfo } from "../../core/artifacts.ts";
import { type Catalog, catalogIdentity } from "../../core/catalog.ts";
import { keySegment, type PackageRef } from "../../core/package.ts";
import type { ExpectedDigests, Upstream } from "../../core/upstream.ts";
import { LocalScopes } from "../../core/local_scopes.ts";
import { BadGatewayError, NotFoundError } from "../../errors.ts";
import type { DocumentCache } from "../../storage/document_cache.ts";
import type { ObjectStore } from "../../storage/object_store.ts";
import { LruCache } from "../../util/lru_cache.ts";
import { manifestSummary } from "./document.ts";
import { escapedName, tarballFilename } from "./names.ts";
import { abbreviate, asObject, type NpmUrls, type PackumentKind } from "./packument.ts";

/** Where a tarball of an upstream package comes from and what it must hash to. */
interface UpstreamTarball {
  version: string;
  url: string;
  expected: ExpectedDigests;
  /** The digest in its storage key (hex). */
  digestHex: string;
}

/**
 * An upstream packument, parsed once per confirmation, with what was derived
 * from it. A new confirmation gives a new object: answers built from one are
 * kept with it (src/http/prepared.ts).
 */
export interface UpstreamPackument {
  /** When the upstream last confirmed it. */
  readonly checkedAt: number;
  /** Served from the cache because the upstream failed. */
  stale: boolean;
  /** The upstream's packument. */
  readonly raw: Record<string, unknown>;
  /** By our file name. */
  readonly tarballs: Map<string, UpstreamTarball>;
  readonly size: number;
}

/** Dependencies of an {@link NpmUpstream}. */
export interface NpmUpstreamOptions {
  upstream: Upstream;
  store: ObjectStore;
  documents: DocumentCache;
  catalog: Catalog;
  /** How long a confirmed packument is used without asking the core (its TTL). */
  ttlMs: number;
  now: () => number;
}

/** Parsed packuments kept in memory (by their body size). */
const MEMORY_BYTES = 64 * 1024 * 1024;

/** Packages of an upstream npm registry, served as this registry's. */
export class NpmUpstream {
  readonly #options: NpmUpstreamOptions;
  readonly #packuments = new LruCache<string, UpstreamPackument>(MEMORY_BYTES, (p) => p.size);
  readonly #stored = new LruCache<string, { size: number; lastModified: Date }>(10_000);

  readonly #localScopes: LocalScopes;

  constructor(options: NpmUpstreamOptions) {
    this.#options = options;
    this.#localScopes = new LocalScopes({
      ...options,
      format: "npm",
      packagesPrefix: (scope) => `npm/packages/@${keySegment(scope)}/`,
    });
  }

  /**
   * The package's packument from the upstream: within the TTL from memory,
   * then revalidated.
   *
   * @throws {NotFoundError} when the upstream does not have it, or its scope
   *   holds packages published here (no dependency confusion).
   * @throws {BadGatewayError} / {GatewayTimeoutError} when it fails and nothing is cached.
   */
  async packument(ref: PackageRef): Promise<UpstreamPackument> {
    if (ref.scope !== undefined && await this.#localScopes.has(ref.scope)) {
      throw new NotFoundError(
        `package ${ref.id} not found: @${ref.scope} has packages published here, so none of its names comes from the upstream`,
      );
    }
    const known = this.#packuments.get(ref.key);
    if (known !== undefined && this.isFresh(known)) return known;
    const document = await this.#options.upstream.document(escapedName(ref), "application/json");
    if (document === null) throw new NotFoundError(`package ${ref.id} not found here or upstream`);
    if (known !== undefined && known.checkedAt === document.checkedAt) {
      known.stale = document.stale;
      return known;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(new TextDecoder().decode(document.body));
    } catch {
      throw new BadGatewayError(`the upstream's packument of ${ref.id} is not valid JSON`);
    }
    if (typeof raw !== "object" || raw === null || Array.isArray(raw) || (raw as { name?: unknown }).name !== ref.id) {
      throw new BadGatewayError(`the upstream's packument of ${ref.id} is not a packument of that package`);
    }
    const parsed: UpstreamPackument = {
      checkedAt: document.checkedAt,
      stale: document.stale,
      raw: raw as Record<string, unknown>,
      tarballs: tarballsOf(ref, raw as Record<string, unknown>),
      size: document.body.byteLength,
    };
    this.#packuments.set(ref.key, parsed);
    await this.#options.catalog.record(catalogEntry(ref, parsed));
    return parsed;
  }

  /** True while `packument` may be served without asking the upstream again (within the TTL, not stale). */
  isFresh(packument: UpstreamPackument): boolean {
    return !packument.stale && this.#options.now() - packument.checkedAt < this.#options.ttlMs;
  }

  /** The packument of `kind`, with tarball URLs of this server (versions without a checksum dropped). */
  packumentOf(
    packument: UpstreamPackument,
    ref: PackageRef,
    urls: NpmUrls,
    kind: PackumentKind,
  ): Record<string, unknown> {
    const versions: Record<string, unknown> = {};
    for (const version of Object.keys(asObject(packument.raw.versions))) {
      const document = this.versionDocument(packument, ref, urls, version);
      if (document !== undefined) versions[version] = document;
    }
    const full = { ...packument.raw, versions };
    return kind === "full" ? full : abbreviate(full);
  }

  /** The version a version or dist-tag names, when the packument offers its tarball. */
  resolve(packument: UpstreamPackument, ref: PackageRef, versionOrTag: string): string | undefined {
    const tags = asObject(packument.raw["dist-tags"]);
    const version = typeof tags[versionOrTag] === "string" ? tags[versionOrTag] as string : versionOrTag;
    return packument.tarballs.has(tarballFilename(ref, version)) ? version : undefined;
  }

  /** One version's document, its tarball URL pointing here, or `undefined` when its tarball is not offered. */
  versionDocument(
    packument: UpstreamPackument,
    ref: PackageRef,
    urls: NpmUrls,
    version: string,
  ): Record<string, unknown> | undefined {
    const filename = tarballFilename(ref, version);
    const versions = asObject(packument.raw.versions);
    if (!packument.tarballs.has(filename) || !Object.hasOwn(versions, version)) return undefined;
    const source = asObject(versions[version]);
    return { ...source, dist: { ...asObject(source.dist), tarball: urls.tarball(ref.id, filename) } };
  }

  /** The upstream's packument of a package, as it sent it (for its page). */
  async raw(ref: PackageRef): Promise<Record<string, unknown>> {
    return (await this.packument(ref)).raw;
  }

  /** The dist-tags of an upstream packument. */
  distTags(packument: UpstreamPackument): Record<string, unknown> {
    return asObject(packument.raw["dist-tags"]);
  }

  /** Forgets that the tarball at `key` is stored (it was evicted): the next request downloads it again. */
  forget(key: string): void {
    this.#stored.delete(key);
  }

  /**
   * Where the tarball `filename` of an upstream package is stored: downloaded
   * and verified on first use.
   *
   * @throws {NotFoundError} when the packument has no such tarball.
   * @throws {BadGatewayError} when the upstream fails or its bytes do not match.
   */
  async tarball(ref: PackageRef, packument: UpstreamPackument, filename: string): Promise<ArtifactInfo> {
    const tarball = packument.tarballs.get(filename);
    if (tarball === undefined) throw new NotFoundError(`${ref.id} has no tarball ${filename}`);
    const key = `upstream/npm/tarballs/${ref.key}/${keySegment(tarball.version)}/${tarball.digestHex}.tgz`;
    let stored = this.#stored.get(key);
    if (stored === undefined) {
      const head = await this.#options.upstream.fetchArtifact(
        tarball.url,
        key,
        tarball.expected,
        "application/octet-stream",
      );
      stored = { size: head.size, lastModified: head.lastModified };
      this.#stored.set(key, stored);
    }
    return { key, etag: `"${tarball.digestHex}"`, ...stored };
  }
}

/** The tarballs a packument offers, by the file name this server gives them. */
function tarballsOf(ref: PackageRef, raw: Record<string, unknown>): Map<string, UpstreamTarball> {
  const tarballs = new Map<string, UpstreamTarball>();
  for (const [version, document] of Object.entries(asObject(raw.versions))) {
    const dist = asObject(asObject(document).dist);
    if (typeof dist.tarball !== "string" || !/^https?:\/\//i.test(dist.tarball)) continue;
    const expected: ExpectedDigests = {};
    const sha512 = typeof dist.integrity === "string"
      ? dist.integrity.split(/\s+/).find((h) => h.startsWith("sha512-"))?.slice("sha512-".length)
      : undefined;
    if (sha512 !== undefined) expected.sha512 = sha512;
    if (typeof dist.shasum === "string" && /^[0-9a-f]{40}$/i.test(dist.shasum)) {
      expected.sha1 = dist.shasum.toLowerCase();
    }
    // A tarball no checksum vouches for is never fetched.
    const digestHex = sha512 !== undefined ? Buffer.from(sha512, "base64").toString("hex") : expected.sha1;
    if (digestHex === undefined || digestHex === "") continue;
    tarballs.set(tarballFilename(ref, version), { version, url: dist.tarball, expected, digestHex });
  }
  return tarballs;
}

function catalogEntry(ref: PackageRef, packument: UpstreamPackument) {
  const tags = asObject(packument.raw["dist-tags"]);
  const versions = asObject(packument.raw.versions);
  const latestVersion = typeof tags.latest === "string" ? tags.latest : Object.keys(versions).at(-1) ?? "";
  const modified = asObject(packument.raw.time).modified;
  return {
    ...manifestSummary(asObject(versions[latestVersion])),
    ...catalogIdentity(ref),
    latestVersion,
    versions: Object.keys(versions).length,
    updatedAt: typeof modified === "string" ? modified : new Date(packument.checkedAt).toISOString(),
    origin: "upstream" as const,
  };
}
