/**
 * npm packages on the format-neutral core: the npm side of a publish (tarball
 * inspection, the version record, dist-tags), metadata updates (deprecation),
 * dist-tag changes and admin removals (`npm unpublish`). Storage, transforms,
 * claims and the commit are the core's.
 *
 * @module
 */
import * as semver from "semver";
import type { ArchiveLimits } from "../../core/zip_scan.ts";
import type { ArtifactInfo, Artifacts } from "../../core/artifacts.ts";
import type { Catalog } from "../../core/catalog.ts";
import { markScopeLocal } from "../../core/local_scopes.ts";
import type { PackageRef } from "../../core/package.ts";
import type { DocumentCache } from "../../storage/document_cache.ts";
import type { FinalArtifact, PrepareOptions, Publisher, PublishPlan } from "../../core/publisher.ts";
import { hashFile, type StagedFile } from "../../core/staging.ts";
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError, UnprocessableError } from "../../errors.ts";
import type { Logger } from "../../log.ts";
import {
  highestVersion,
  nextRev,
  type NpmPackageDocument,
  type NpmVersionRecord,
  summarize,
  tarballKey,
} from "./document.ts";
import { tarballFilename } from "./names.ts";
import { inspectTarball, type TarballInspection } from "./tarball.ts";

/** SHA-1 (hex) and SHA-512 (base64) of a tarball. */
export interface TarballDigests {
  sha1Hex: string;
  sha512Base64: string;
}

/** A version on its way in, from a client's publish or an ingestion source. */
export interface NpmPublishInput {
  ref: PackageRef;
  version: string;
  /** The version document (package.json fields and npm's `_` fields). */
  manifest: Record<string, unknown>;
  readme?: { text: string; filename?: string };
  tarball: StagedFile;
  /** Digests of `tarball` when already known (a publish body's). */
  digests?: TarballDigests;
  /** What `inspectTarball` found in `tarball`, when the caller already looked (an ingested release). */
  inspection?: TarballInspection;
  /** The dist-tags to point at the version; `auto`: `latest` when it is the highest release. */
  tags: string[] | "auto";
}

/** What validation learned about the final tarball. */
interface ValidatedTarball {
  inspection: TarballInspection;
  digests: TarballDigests;
}

/** Dependencies of an {@link NpmRegistry}. */
export interface NpmRegistryOptions {
  publisher: Publisher;
  /** Where scopes with local packages are marked (see src/core/local_scopes.ts). */
  documents: DocumentCache;
  artifacts: Artifacts;
  catalog: Catalog;
  archiveLimits: ArchiveLimits;
  now: () => number;
  logger: Logger;
}

/** Fields of a published version document the registry sets itself (or keeps elsewhere). */
const REGISTRY_FIELDS = ["dist", "readme", "readmeFilename", "deprecated", "_attachments", "_rev"];

/** npm packages: read, publish, tag, deprecate, remove. */
export class NpmRegistry {
  readonly #options: NpmRegistryOptions;
  readonly #filenames = new WeakMap<NpmPackageDocument, Map<string, string>>();

  constructor(options: NpmRegistryOptions) {
    this.#options = options;
  }

  /** The package's document, or `null` when it was never published here. */
  read(ref: PackageRef): Promise<NpmPackageDocument | null> {
    return this.#options.publisher.read<NpmPackageDocument>(ref);
  }

  /**
   * `doc` (as {@link read} returned it), when it has versions.
   *
   * @throws {NotFoundError} when every version was unpublished.
   */
  requireVersions(ref: PackageRef, doc: NpmPackageDocument): NpmPackageDocument {
    if (Object.keys(doc.versions).length === 0) {
      throw new NotFoundError(`package ${ref.id} has no versions (every version was unpublished)`);
    }
    return doc;
  }

  /** True while `doc` (as {@link read} returned it, `null` included) is the package's current document. */
  stillCurrent(ref: PackageRef, doc: NpmPackageDocument | null): () => boolean {
    return this.#options.publisher.stillCurrent(ref, doc);
  }

  /** The version whose tarball is called `filename`, or `undefined`. */
  versionOfTarball(doc: NpmPackageDocument, filename: string): string | undefined {
    let index = this.#filenames.get(doc);
    if (index === undefined) {
      index = new Map(Object.entries(doc.versions).map(([version, record]) => [record.tarball.filename, version]));
      this.#filenames.set(doc, index);
    }
    return index.get(filename);
  }

  /**
   * Publishes a version through the core's pipeline (see {@link Publisher.prepare}): validated, transformed,
   * stored and committed. Returns the package's document.
   *
   * @throws {ForbiddenError} when the version exists or existed (npm's registry answers 403 too).
   * @throws {UnprocessableError} when the tarball is refused.
   */
  async publish(input: NpmPublishInput, options: PrepareOptions = {}): Promise<NpmPackageDocument> {
    try {
      const prepared = await this.#options.publisher.prepare(this.#plan(input), options);
      return await prepared.commit();
    } catch (error) {
      throw await this.#explainConflict(input, error);
    }
  }

  /**
   * Points `tag` at `version`.
   *
   * @throws {NotFoundError} when the package or version does not exist.
   * @throws {BadRequestError} when the tag is not a valid tag name.
   */
  async setTag(ref: PackageRef, tag: string, version: string): Promise<Record<string, string>> {
    checkTagName(tag);
    const doc = await this.#change(ref, (current) => {
      if (!Object.hasOwn(current.versions, version)) {
        throw new NotFoundError(`version ${version} of ${ref.id} not found`);
      }
      if (current.distTags[tag] === version) return undefined;
      return { ...current, distTags: { ...current.distTags, [tag]: version } };
    });
    return doc.distTags;
  }

  /**
   * Removes `tag`.
   *
   * @throws {NotFoundError} when the package has no such tag.
   * @throws {BadRequestError} for `latest`.
   */
  async removeTag(ref: PackageRef, tag: string): Promise<Record<string, string>> {
    if (tag === "latest") throw new BadRequestError('the "latest" tag cannot be removed; point it elsewhere instead');
    const doc = await this.#change(ref, (current) => {
      if (!Object.hasOwn(current.distTags, tag)) throw new NotFoundError(`${ref.id} has no dist-tag "${tag}"`);
      const { [tag]: _removed, ...distTags } = current.distTags;
      return { ...current, distTags };
    });
    return doc.distTags;
  }

  /**
   * Applies a metadata update (the whole packument, as `npm deprecate` PUTs
   * it): each listed version's `deprecated` is taken over; nothing else
   * changes. With `removals` (an admin's `npm unpublish`, revision-checked),
   * versions missing from `body` are removed.
   *
   * @throws {ConflictError} when `rev` is given and the package changed since.
   * @throws {BadRequestError} when the body lists versions the package does not have.
   */
  async updateMetadata(
    ref: PackageRef,
    body: Record<string, unknown>,
    options: { removals?: boolean; rev?: string } = {},
  ): Promise<void> {
    const listed = body.versions;
    if (typeof listed !== "object" || listed === null || Array.isArray(listed)) {
      throw new BadRequestError('a metadata update needs the package\'s "versions"');
    }
    const versions = listed as Record<string, unknown>;
    let removed: [string, NpmVersionRecord][] = [];
    const doc = await this.#change(ref, (current) => {
      removed = [];
      if (options.rev !== undefined && options.rev !== current.rev) {
        throw new ConflictError(`${ref.id} changed since revision ${options.rev} was read; read it again`);
      }
      const unknown = Object.keys(versions).filter((v) => !Object.hasOwn(current.versions, v));
      if (unknown.length > 0) {
        throw new BadRequestError(
          `${ref.id} has no version ${unknown.join(", ")}; new versions are published with their tarball`,
        );
      }
      let changed = false;
      const next: Record<string, NpmVersionRecord> = {};
      for (const [version, record] of Object.entries(current.versions)) {
        if (!Object.hasOwn(versions, version)) {
          if (options.removals) {
            removed.push([version, record]);
            changed = true;
            continue;
          }
          next[version] = record;
          continue;
        }
        const wanted = deprecationOf(versions[version]);
        if (wanted === record.deprecated) {
          next[version] = record;
          continue;
        }
        changed = true;
        const { deprecated: _old, ...rest } = record;
        next[version] = wanted === undefined ? rest : { ...rest, deprecated: wanted };
      }
      if (!changed) return undefined;
      return removed.length === 0 ? { ...current, versions: next } : this.#without(current, next, removed);
    });
    await this.#dropTarballs(ref, removed);
    if (removed.length > 0) await this.#recordCatalog(ref, doc);
  }

  /**
   * Removes every version of a package (an admin's `npm unpublish --force`):
   * the document stays, with the version numbers taken, so nothing can be
   * published under them again, and no upstream package takes the name.
   *
   * @throws {ConflictError} when the package changed since `rev`.
   */
  async removeAll(ref: PackageRef, rev: string): Promise<void> {
    let removed: [string, NpmVersionRecord][] = [];
    const doc = await this.#change(ref, (current) => {
      if (rev !== current.rev) {
        throw new ConflictError(`${ref.id} changed since revision ${rev} was read; read it again`);
      }
      removed = Object.entries(current.versions);
      return this.#without(current, {}, removed);
    });
    await this.#dropTarballs(ref, removed);
    await this.#recordCatalog(ref, doc);
  }

  /** The catalog entry after a change: removed when no version is left. */
  async #recordCatalog(ref: PackageRef, doc: NpmPackageDocument): Promise<void> {
    if (Object.keys(doc.versions).length === 0) await this.#options.catalog.remove("npm", ref.key);
    else await this.#options.catalog.record(summarize(ref, doc, "local"));
  }

  #without(
    current: NpmPackageDocument,
    versions: Record<string, NpmVersionRecord>,
    removed: [string, NpmVersionRecord][],
  ): NpmPackageDocument {
    const gone = new Set(removed.map(([version]) => version));
    const distTags = Object.fromEntries(Object.entries(current.distTags).filter(([, v]) => !gone.has(v)));
    const latest = distTags.latest ?? highestVersion(Object.keys(versions));
    if (latest !== undefined) distTags.latest = latest;
    const at = this.#isoNow();
    const unpublished = { ...current.unpublished, ...Object.fromEntries([...gone].map((v) => [v, at])) };
    return { ...current, versions, distTags, unpublished };
  }

  /** Deletes the tarballs of removed versions (after the commit: a failed delete leaves an unreferenced blob). */
  async #dropTarballs(ref: PackageRef, removed: [string, NpmVersionRecord][]): Promise<void> {
    for (const [version, record] of removed) {
      await this.#options.artifacts.delete(tarballKey(ref, version, record.tarball)).catch((error) =>
        this.#options.logger.log("warn", "could not delete an unpublished tarball", {
          package: ref.id,
          version,
          error: String(error),
        })
      );
      this.#options.logger.log("info", "version unpublished", { format: "npm", package: ref.id, version });
    }
  }

  /** Updates an existing package's document (stamping `modified` and `rev` when it changes). */
  #change(
    ref: PackageRef,
    mutate: (current: NpmPackageDocument) => NpmPackageDocument | undefined,
  ): Promise<NpmPackageDocument> {
    return this.#options.publisher.update<NpmPackageDocument>(ref, (current) => {
      if (current === null || Object.keys(current.versions).length === 0) {
        throw new NotFoundError(`package ${ref.id} not found`);
      }
      const next = mutate(current);
      return next === undefined ? undefined : { ...next, modified: this.#isoNow(), rev: nextRev(current.rev) };
    });
  }

  async #explainConflict(input: NpmPublishInput, error: unknown): Promise<unknown> {
    if (!(error instanceof ConflictError)) return error;
    const doc = await this.read(input.ref).catch(() => null);
    if (doc === null) return error;
    if (Object.hasOwn(doc.versions, input.version) || Object.hasOwn(doc.unpublished ?? {}, input.version)) {
      return new ForbiddenError(
        `cannot publish over the previously published version ${input.version} of ${input.ref.id}`,
      );
    }
    return error;
  }

  #isoNow(): string {
    return new Date(this.#options.now()).toISOString();
  }

  #plan(input: NpmPublishInput): PublishPlan<NpmPackageDocument, ValidatedTarball> {
    const { ref, version } = input;
    const filename = tarballFilename(ref, version);
    // One record per publish attempt: the commit may run again after a lost answer and must recognise itself.
    let record: NpmVersionRecord | undefined;
    const recordOf = (final: FinalArtifact, { inspection, digests }: ValidatedTarball): NpmVersionRecord =>
      record ??= {
        manifest: cleanManifest(final.metadata, ref, version),
        tarball: {
          filename,
          sha256: final.artifact.sha256Hex,
          size: final.artifact.size,
          shasum: digests.sha1Hex,
          integrity: `sha512-${digests.sha512Base64}`,
          fileCount: inspection.fileCount,
          unpackedSize: inspection.unpackedSize,
        },
        hasShrinkwrap: inspection.hasShrinkwrap,
        publishedAt: this.#isoNow(),
        publishId: crypto.randomUUID(),
      };
    const conflict = () => new ConflictError(`version ${version} of ${ref.id} already exists`);
    return {
      ref,
      version,
      artifact: input.tarball,
      // Transforms and hooks see the version document without what the registry sets itself.
      metadata: cleanManifest(input.manifest, ref, version),
      filename,
      ensureAbsent(doc) {
        if (doc !== null && (Object.hasOwn(doc.versions, version) || Object.hasOwn(doc.unpublished ?? {}, version))) {
          throw conflict();
        }
      },
      validate: async (final) => {
        // A transform may have replaced the tarball: what the caller found holds for its own only.
        const own = final.artifact === input.tarball;
        const inspection = own && input.inspection !== undefined
          ? input.inspection
          : await inspectTarball(final.artifact.path, this.#options.archiveLimits);
        const { name, version: declared } = inspection.packageJson;
        if (name !== ref.id || declared !== version) {
          throw new UnprocessableError(
            `the tarball's package.json is ${JSON.stringify(name)}@${JSON.stringify(declared)}, ` +
              `not ${ref.id}@${version}`,
          );
        }
        const digests = own && input.digests !== undefined ? input.digests : await fileDigests(final.artifact.path);
        return { inspection, digests };
      },
      store: async (final) => {
        const key = tarballKey(ref, version, { sha256: final.artifact.sha256Hex, filename });
        await this.#options.artifacts.putFile(key, final.artifact, "application/octet-stream");
        // The scope is local from now on (never filled from the upstream), even if the commit fails.
        if (ref.scope !== undefined) await markScopeLocal(this.#options.documents, "npm", ref.scope);
      },
      commit: (current, final, validated) => {
        const mine = recordOf(final, validated);
        const existing = current?.versions[version];
        if (existing?.publishId === mine.publishId) return undefined; // our own write
        if (existing !== undefined || Object.hasOwn(current?.unpublished ?? {}, version)) throw conflict();
        const at = mine.publishedAt;
        const base: NpmPackageDocument = current ??
          { name: ref.id, versions: {}, distTags: {}, created: at, modified: at, rev: "0-new" };
        const versions = { ...base.versions, [version]: mine };
        const distTags = { ...base.distTags };
        if (input.tags === "auto") {
          if (highestVersion(Object.keys(versions)) === version) distTags.latest = version;
        } else {
          for (const tag of input.tags) distTags[tag] = version;
        }
        distTags.latest ??= version;
        const readme = distTags.latest === version ? input.readme ?? validated.inspection.readme : undefined;
        return {
          ...base,
          versions,
          distTags,
          ...(readme === undefined ? {} : { readme: readme.text, readmeFilename: readme.filename }),
          modified: at,
          rev: nextRev(base.rev),
        };
      },
      summarize: (doc) => summarize(ref, doc, "local"),
      discard: async (final, _validated, winner) => {
        if (winner?.versions[version]?.tarball.sha256 === final.artifact.sha256Hex) return;
        await this.#options.artifacts.delete(tarballKey(ref, version, { sha256: final.artifact.sha256Hex, filename }));
      },
    };
  }
}

/**
 * Checks a dist-tag name: URL-safe, and not something npm would read as a
 * version or range.
 *
 * @throws {BadRequestError} naming the rule.
 */
export function checkTagName(tag: string): void {
  if (tag === "" || encodeURIComponent(tag) !== tag || tag.length > 128) {
    throw new BadRequestError(`"${tag}" is not a valid dist-tag name`);
  }
  if (semver.validRange(tag) !== null) {
    throw new BadRequestError(`"${tag}" cannot be a dist-tag: it reads as a version range`);
  }
}

/** SHA-1 (hex) and SHA-512 (base64) of a file, read once. */
export async function fileDigests(path: string): Promise<TarballDigests> {
  const { sha1, sha512 } = await hashFile(path, ["sha1", "sha512"]);
  return { sha1Hex: sha1.toString("hex"), sha512Base64: sha512.toString("base64") };
}

/** The version document as stored: without what the registry sets itself, and with the right name and version. */
function cleanManifest(metadata: Record<string, unknown>, ref: PackageRef, version: string): Record<string, unknown> {
  const manifest = Object.fromEntries(Object.entries(metadata).filter(([key]) => !REGISTRY_FIELDS.includes(key)));
  return { ...manifest, name: ref.id, version };
}

function deprecationOf(document: unknown): string | undefined {
  const deprecated = (document as { deprecated?: unknown } | null)?.deprecated;
  return typeof deprecated === "string" && deprecated !== "" ? deprecated : undefined;
}

/** Where a version's tarball is stored, and the validators it is served with. */
export function tarballInfo(ref: PackageRef, version: string, record: NpmVersionRecord): ArtifactInfo {
  return {
    key: tarballKey(ref, version, record.tarball),
    size: record.tarball.size,
    etag: `"${record.tarball.sha256}"`,
    lastModified: new Date(record.publishedAt),
  };
}
