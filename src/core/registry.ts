/**
 * The registry core: packages, releases and identifiers over an
 * {@link ObjectStore}. It knows nothing of HTTP; formats call it.
 *
 * Publishing stores the archive and manifests under a key that includes the
 * archive's checksum, then commits the release by a compare-and-swap update of
 * the package index. The index update is the single commit point: a crash
 * before it leaves unreferenced blobs and no release; after it, the whole
 * release. Exactly one of several concurrent publishes of a version commits.
 *
 * @module
 */
import {
  ConflictError,
  InsufficientStorageError,
  NotFoundError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  UnprocessableError,
} from "../errors.ts";
import type { PublishedRelease } from "../../plugins/types.ts";
import { callHook, HOOK_TIMEOUT_MS } from "../plugins/hooks.ts";
import type { NamedTransform } from "../plugins/host.ts";
import type { Logger } from "../log.ts";
import { DocumentCache } from "../storage/document_cache.ts";
import { ContentionError } from "../storage/json_document.ts";
import { type ByteRange, type ObjectBody, type ObjectStore, readObjectBytes } from "../storage/object_store.ts";
import { LruCache } from "../util/lru_cache.ts";
import { type ArchiveInspection, type ArchiveLimits, DEFAULT_ARCHIVE_LIMITS, inspectSourceArchive } from "./archive.ts";
import { packageId, type PackageRef } from "./identity.ts";
import {
  type IdentifierIndex,
  keys,
  type PackageIndex,
  type ReleaseRecord,
  type SigningRecord,
  wholeSecondIso,
} from "./release.ts";
import { normalizeRepositoryUrl } from "./repository_url.ts";
import { type StagedFile, stageStream } from "./staging.ts";

/** What a publish hands to the core. The archive is already staged on disk. */
export interface PublishInput {
  ref: PackageRef;
  version: string;
  archive: StagedFile;
  metadata: Record<string, unknown>;
  signing?: SigningRecord;
  metadataSignatureBase64?: string;
}

/** A validated publish holding its version's slot: commit it, or abandon it to free the slot. */
export interface PreparedPublish {
  /** Stores the archive and manifests and commits the release (frees the slot either way). */
  commit(): Promise<ReleaseRecord>;
  /** Frees the slot without storing anything. */
  abandon(): void;
}

/** A release together with the package it belongs to. */
export interface ReleaseView {
  pkg: PackageIndex;
  release: ReleaseRecord;
}

/** Dependencies of the {@link Registry}. */
export interface RegistryOptions {
  store: ObjectStore;
  logger: Logger;
  clock?: () => Date;
  archiveLimits?: ArchiveLimits;
  /** Bytes of manifest bodies kept in memory (default 32 MiB). */
  manifestCacheBytes?: number;
  /** Bytes of small archives (up to 1 MiB each) kept in memory (default 64 MiB; 0 turns it off). */
  archiveCacheBytes?: number;
  /**
   * How long package indexes and identifier maps are trusted from memory
   * before a cheap revalidation (default `Infinity`: this process is the only writer).
   */
  metadataMaxAgeMs?: number;
  /** Artifact transforms run on every publish, before anything is stored. */
  transforms?: NamedTransform[];
  /** Called after each release is committed (failures are the callee's to log). */
  afterPublish?: (release: PublishedRelease) => Promise<void>;
  /** Where transformed archives are staged. */
  scratchDir: string;
}

/** Packages and releases: read, publish, look up by repository URL. */
export class Registry {
  readonly #store: ObjectStore;
  readonly #logger: Logger;
  readonly #clock: () => Date;
  readonly #archiveLimits: ArchiveLimits;
  readonly #documents: DocumentCache;
  readonly #manifests: LruCache<string, Uint8Array<ArrayBuffer>>;
  readonly #archives: LruCache<string, Uint8Array<ArrayBuffer>>;
  readonly #smallArchiveBytes: number;
  readonly #inFlight = new Set<string>();
  readonly #transforms: NamedTransform[];
  readonly #background = new Set<Promise<void>>();
  readonly #afterPublish: (release: PublishedRelease) => Promise<void>;
  readonly #scratchDir: string;

  constructor(options: RegistryOptions) {
    this.#store = options.store;
    this.#transforms = options.transforms ?? [];
    this.#afterPublish = options.afterPublish ?? (() => Promise.resolve());
    this.#scratchDir = options.scratchDir;
    this.#documents = new DocumentCache(options.store, { maxAgeMs: options.metadataMaxAgeMs ?? Infinity });
    this.#logger = options.logger;
    this.#clock = options.clock ?? (() => new Date());
    this.#archiveLimits = options.archiveLimits ?? DEFAULT_ARCHIVE_LIMITS;
    this.#manifests = new LruCache(options.manifestCacheBytes ?? 32 * 1024 * 1024, (b) => b.byteLength);
    const archiveBudget = options.archiveCacheBytes ?? 64 * 1024 * 1024;
    this.#archives = new LruCache(archiveBudget, (b) => b.byteLength);
    this.#smallArchiveBytes = Math.min(1024 * 1024, archiveBudget);
  }

  /** The package's index, or `null` when it has no releases. */
  getPackage(ref: PackageRef): Promise<PackageIndex | null> {
    return this.#documents.read<PackageIndex>(keys.packageIndex(ref));
  }

  /** The package's index. @throws {NotFoundError} when it does not exist. */
  async requirePackage(ref: PackageRef): Promise<PackageIndex> {
    const pkg = await this.getPackage(ref);
    if (pkg === null) throw new NotFoundError(`package ${packageId(ref)} not found`);
    return pkg;
  }

  /** A release. @throws {NotFoundError} when the package or version does not exist. */
  async requireRelease(ref: PackageRef, version: string): Promise<ReleaseView> {
    const pkg = await this.requirePackage(ref);
    const release = pkg.releases[version];
    if (release === undefined) throw new NotFoundError(`release ${version} of ${packageId(ref)} not found`);
    return { pkg, release };
  }

  /** The bytes of one of a release's manifests (kept in memory once read). */
  async readManifest(ref: PackageRef, release: ReleaseRecord, filename: string): Promise<Uint8Array<ArrayBuffer>> {
    const key = keys.manifest(ref, release.version, release.checksum, filename);
    const cached = this.#manifests.get(key);
    if (cached !== undefined) return cached;
    const object = await readObjectBytes(this.#store, key);
    if (object === null) {
      throw new ServiceUnavailableError(`manifest ${filename} of ${release.version} is missing from storage`);
    }
    this.#manifests.set(key, object.bytes);
    return object.bytes;
  }

  /** Opens a release's source archive (or a range of it) for streaming. */
  async openArchive(ref: PackageRef, release: ReleaseRecord, range?: ByteRange): Promise<ObjectBody> {
    const key = keys.archive(ref, release.version, release.checksum);
    if (release.size <= this.#smallArchiveBytes) {
      // Small archives are served from memory (immutable: their key holds their checksum).
      let bytes = this.#archives.get(key);
      if (bytes === undefined) {
        const object = await readObjectBytes(this.#store, key, this.#smallArchiveBytes);
        if (object === null) {
          throw new ServiceUnavailableError(`source archive of ${release.version} is missing from storage`);
        }
        bytes = object.bytes;
        if (bytes.byteLength === release.size) this.#archives.set(key, bytes);
      }
      const slice = range ? bytes.subarray(range.start, range.end + 1) : bytes;
      return {
        key,
        size: bytes.byteLength,
        etag: `"${release.checksum}"`,
        lastModified: new Date(release.publishedAt),
        body: new Response(slice).body!,
      };
    }
    const object = await this.#store.get(key, { range });
    if (object === null) {
      throw new ServiceUnavailableError(`source archive of ${release.version} is missing from storage`);
    }
    return object;
  }

  /**
   * Identifiers (`scope.name`) of packages with a release that declares the
   * repository `url` (in any of its spellings), sorted. Empty when none.
   */
  async lookupIdentifiers(url: string): Promise<string[]> {
    const normalized = normalizeRepositoryUrl(url);
    if (normalized === null) return [];
    const index = await this.#documents.read<IdentifierIndex>(keys.identifiers(normalized));
    const identifiers: string[] = [];
    for (const packageKey of index?.packages ?? []) {
      const [scope, name] = packageKey.split("/");
      const pkg = await this.getPackage({ scope, name, key: packageKey });
      if (pkg !== null && declaresUrl(pkg, normalized)) identifiers.push(packageId(pkg));
    }
    return identifiers.sort();
  }

  /**
   * Publishes a release: {@link prepare}, then commit.
   *
   * @throws {ConflictError} when the version exists or is being published.
   * @throws {UnprocessableError} when the archive is refused.
   */
  async publish(input: PublishInput): Promise<ReleaseRecord> {
    return await (await this.prepare(input)).commit();
  }

  /** Waits for lifecycle hooks still running (for shutdown and tests). */
  async settle(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
  }

  /** The artifact transforms every publish runs through. */
  get transforms(): readonly NamedTransform[] {
    return this.#transforms;
  }

  /**
   * Validates a publish without storing anything: claims the version (no other
   * publish of it may start until this one commits or is abandoned), checks it
   * does not exist, runs the artifact transforms (`options.transforms` instead
   * of the configured ones, for ingestion) and inspects the archive. The
   * returned handle stores and commits the release.
   *
   * @throws {ConflictError} when the version exists or is being published.
   * @throws {UnprocessableError} when the archive is refused.
   */
  async prepare(input: PublishInput, options: { transforms?: NamedTransform[] } = {}): Promise<PreparedPublish> {
    const { ref, version } = input;
    const flightKey = `${ref.key}@${version}`;
    if (this.#inFlight.has(flightKey)) {
      throw new ConflictError(`release ${version} of ${packageId(ref)} is already being published`);
    }
    this.#inFlight.add(flightKey);
    const transformed: StagedFile[] = [];
    let released = false;
    const release = () => {
      if (!released) this.#inFlight.delete(flightKey);
      released = true;
      for (const file of transformed) file.dispose();
    };
    let inspection: ArchiveInspection;
    let final: PublishInput;
    try {
      if ((await this.getPackage(ref))?.releases[version] !== undefined) throw conflict(ref, version);
      final = await this.#transform(input, options.transforms ?? this.#transforms, transformed);
      inspection = await inspectSourceArchive(final.archive.path, this.#archiveLimits);
    } catch (error) {
      release();
      throw error;
    }
    return {
      commit: async () => {
        try {
          const committed = await this.#commit(final, inspection);
          // Lifecycle hooks run after the answer, never holding it up; shutdown waits for them.
          const hooks = this.#afterPublish({
            id: packageId(ref),
            version,
            checksum: committed.checksum,
            metadata: committed.metadata,
          }).catch((error) => this.#logger.log("error", "afterPublish failed", { error: String(error) }))
            .finally(() => this.#background.delete(hooks));
          this.#background.add(hooks);
          return committed;
        } catch (error) {
          if (error instanceof ContentionError) throw new ServiceUnavailableError("storage is busy, try again", 1);
          throw error;
        } finally {
          release();
        }
      },
      abandon: release,
    };
  }

  /**
   * Runs the artifact transforms in order over the staged archive; each may
   * reject the release, replace the archive (staged anew, its files recorded
   * in `staged` for disposal) or add metadata.
   */
  async #transform(input: PublishInput, transforms: NamedTransform[], staged: StagedFile[]): Promise<PublishInput> {
    let current = input;
    for (const { plugin, transform } of transforms) {
      const step = await this.#runTransform(plugin, transform, current);
      if (step.archive !== undefined) staged.push(step.archive);
      const changed = step.archive !== undefined || step.metadata !== undefined;
      if (changed && input.signing !== undefined) {
        step.archive?.dispose();
        throw new UnprocessableError(`${transform.name}: a signed release cannot be changed by a transform`);
      }
      if (step.metadata !== undefined) current = { ...current, metadata: { ...current.metadata, ...step.metadata } };
      if (step.archive !== undefined) current = { ...current, archive: step.archive };
    }
    return current;
  }

  /**
   * One transform, its replacement archive staged, under one deadline that
   * grows with the archive (10 s, plus 1 s per 10 MiB). The input file stays
   * open until the replacement is staged, so a transform may pass it through.
   */
  async #runTransform(
    plugin: string,
    transform: NamedTransform["transform"],
    current: PublishInput,
  ): Promise<{ archive?: StagedFile; metadata?: Record<string, unknown> }> {
    const file = await Deno.open(current.archive.path, { read: true });
    let late = false;
    const work = async () => {
      const result = await transform.transform({
        package: { scope: current.ref.scope, name: current.ref.name },
        version: current.version,
        archive: file.readable,
        size: current.archive.size,
        metadata: current.metadata,
      });
      if (typeof result !== "object" || result === null) throw new Error("transform returned no result object");
      if (result.reject !== undefined) {
        await result.archive?.cancel();
        const detail = `${transform.name}: ${result.reject}`;
        throw result.status === 413 ? new PayloadTooLargeError(detail) : new UnprocessableError(detail);
      }
      const archive = result.archive ? await stageStream(this.#scratchDir, result.archive) : undefined;
      if (late) {
        await archive?.dispose(); // the deadline passed: nobody will use it
        return {};
      }
      return { archive, metadata: result.metadata };
    };
    try {
      return await callHook(
        plugin,
        work,
        HOOK_TIMEOUT_MS + Math.ceil(current.archive.size / (10 * 1024 * 1024)) * 1000,
      );
    } catch (error) {
      late = true;
      throw error;
    } finally {
      try {
        file.close();
      } catch { /* the transform read the stream to its end, which closed it */ }
    }
  }

  async #commit(input: PublishInput, inspection: ArchiveInspection): Promise<ReleaseRecord> {
    const { ref, version, archive } = input;
    const checksum = archive.sha256Hex;
    const release: ReleaseRecord = {
      version,
      checksum,
      size: archive.size,
      publishedAt: wholeSecondIso(this.#clock()),
      metadata: input.metadata,
      ...(input.signing ? { signing: input.signing } : {}),
      ...(input.metadataSignatureBase64 ? { metadataSignatureBase64: input.metadataSignatureBase64 } : {}),
      manifests: inspection.manifests.map(({ filename, swiftVersion, toolsVersion, content }) => ({
        filename,
        swiftVersion,
        toolsVersion,
        size: content.byteLength,
      })),
      publishId: crypto.randomUUID(),
    };

    try {
      await this.#store.put(keys.archive(ref, version, checksum), { file: archive.path }, {
        contentType: "application/zip",
      });
      for (const manifest of inspection.manifests) {
        await this.#store.put(keys.manifest(ref, version, checksum, manifest.filename), manifest.content, {
          contentType: "text/x-swift",
        });
      }
      // Identifier mappings first: harmless if the commit below fails, because
      // lookups only answer for URLs that a committed release declares.
      for (const url of repositoryUrls(release)) {
        await this.#documents.update<IdentifierIndex>(keys.identifiers(url), (current) => {
          if (current?.packages.includes(ref.key)) return undefined;
          return { url, packages: [...(current?.packages ?? []), ref.key] };
        });
      }
      await this.#documents.update<PackageIndex>(keys.packageIndex(ref), (current) => {
        const existing = current?.releases[version];
        if (existing?.publishId === release.publishId) return undefined; // our own write, answer lost
        if (existing !== undefined) throw conflict(ref, version);
        const base = current ?? { scope: ref.scope, name: ref.name, releases: {} };
        return { ...base, releases: { ...base.releases, [version]: release } };
      });
    } catch (error) {
      // Another publish won, or a write found the disk full (so it did not land):
      // drop our blobs unless they are the committed release's too.
      if (error instanceof ConflictError || error instanceof InsufficientStorageError) {
        const winner = (await this.getPackage(ref))?.releases[version];
        if (winner?.checksum !== checksum) await this.#deleteBlobs(ref, release);
      }
      throw error;
    }
    this.#logger.log("info", "release published", { package: packageId(ref), version, checksum, size: archive.size });
    return release;
  }

  async #deleteBlobs(ref: PackageRef, release: ReleaseRecord): Promise<void> {
    await this.#store.delete(keys.archive(ref, release.version, release.checksum));
    for (const manifest of release.manifests) {
      await this.#store.delete(keys.manifest(ref, release.version, release.checksum, manifest.filename));
    }
  }
}

function conflict(ref: PackageRef, version: string): ConflictError {
  return new ConflictError(`release ${version} of ${packageId(ref)} already exists`);
}

/** Normalised repository URLs a release declares in its metadata. */
function repositoryUrls(release: ReleaseRecord): string[] {
  const urls = release.metadata.repositoryURLs;
  if (!Array.isArray(urls)) return [];
  return [...new Set(urls.map((u) => normalizeRepositoryUrl(String(u))).filter((u): u is string => u !== null))];
}

function declaresUrl(pkg: PackageIndex, normalizedUrl: string): boolean {
  return Object.values(pkg.releases).some((release) => repositoryUrls(release).includes(normalizedUrl));
}
