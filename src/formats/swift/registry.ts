/**
 * Swift packages on the format-neutral core: reading releases, their
 * manifests and archives, looking packages up by repository URL, and the
 * Swift side of a publish (archive inspection, the release record, the
 * identifier index). Storage, transforms, claims and the commit are the
 * core's ({@link Publisher}, {@link Artifacts}).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { type ArtifactInfo, Artifacts } from "../../core/artifacts.ts";
import type { FinalArtifact, PreparedPublish, PrepareOptions, Publisher, PublishPlan } from "../../core/publisher.ts";
import type { StagedFile } from "../../core/staging.ts";
import { markScopeLocal } from "../../core/local_scopes.ts";
import { ConflictError } from "../../errors.ts";
import type { DocumentCache } from "../../storage/document_cache.ts";
import { type ArchiveInspection, type ArchiveLimits, DEFAULT_ARCHIVE_LIMITS, inspectSourceArchive } from "./archive.ts";
import { packageId, type PackageRef } from "./identity.ts";
import { type IdentifierIndex, keys, type PackageIndex, type ReleaseRecord, wholeSecondIso } from "./release.ts";
import { nextSigning } from "./continuity.ts";
import { signerName, type SignerRecord } from "./signer_certificate.ts";
import type { ReleaseSignatures, SigningPolicy } from "./signing.ts";
import { normalizeRepositoryUrl } from "./repository_url.ts";
import { sortVersionsDescending } from "./version.ts";
import type { CatalogEntry } from "../../core/catalog.ts";

/** What a publish hands to the Swift registry. The archive is already staged on disk. */
export interface PublishInput {
  ref: PackageRef;
  version: string;
  archive: StagedFile;
  metadata: Record<string, unknown>;
  /** The signatures sent, for a signed release. */
  signatures?: ReleaseSignatures;
  /** The `metadata` part exactly as sent (what its signature covers). */
  metadataBytes?: Uint8Array;
}

/** What validation learned about a publish: the archive's contents, and who signed it. */
interface ValidatedRelease {
  inspection: ArchiveInspection;
  signer?: SignerRecord;
}

/** A release together with the package it belongs to. */
export interface ReleaseView {
  pkg: PackageIndex;
  release: ReleaseRecord;
}

/** Dependencies of the {@link SwiftRegistry}. */
export interface SwiftRegistryOptions {
  publisher: Publisher;
  artifacts: Artifacts;
  /** Documents besides package indexes (the identifier index). */
  documents: DocumentCache;
  /** Which releases must be signed, and the check of signed ones. */
  signing: SigningPolicy;
  clock?: () => Date;
  archiveLimits?: ArchiveLimits;
}

/** Swift packages and releases: read, publish, look up by repository URL. */
export class SwiftRegistry {
  readonly #publisher: Publisher;
  readonly #artifacts: Artifacts;
  readonly #documents: DocumentCache;
  readonly #signing: SigningPolicy;
  readonly #clock: () => Date;
  readonly #archiveLimits: ArchiveLimits;

  constructor(options: SwiftRegistryOptions) {
    this.#signing = options.signing;
    this.#publisher = options.publisher;
    this.#artifacts = options.artifacts;
    this.#documents = options.documents;
    this.#clock = options.clock ?? (() => new Date());
    this.#archiveLimits = options.archiveLimits ?? DEFAULT_ARCHIVE_LIMITS;
  }

  /** The package's index, or `null` when it has no releases. */
  getPackage(ref: PackageRef): Promise<PackageIndex | null> {
    return this.#publisher.read<PackageIndex>(ref);
  }

  /** Whether `pkg` (as {@link getPackage} returned it) is still the package's current index (answered from memory). */
  stillCurrent(ref: PackageRef, pkg: PackageIndex): () => boolean {
    return this.#publisher.stillCurrent(ref, pkg);
  }

  /** Where a release's archive is stored, and the validators it is served with. */
  archiveInfo(ref: PackageRef, release: ReleaseRecord): ArtifactInfo {
    return archiveInfo(ref, release);
  }

  /** The bytes of one of a release's manifests (kept in memory once read). */
  readManifest(ref: PackageRef, release: ReleaseRecord, filename: string): Promise<Uint8Array<ArrayBuffer>> {
    return this.#artifacts.read(keys.manifest(ref, release.version, release.checksum, filename));
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
      const pkg = await this.getPackage({ format: "swift", scope, name, key: packageKey, id: `${scope}.${name}` });
      if (pkg !== null && declaresUrl(pkg, normalized)) identifiers.push(packageId(pkg));
    }
    return identifiers.sort();
  }

  /**
   * Validates a publish without storing anything (see {@link Publisher.prepare}):
   * the version is claimed until the returned handle commits or is abandoned.
   *
   * @throws {ConflictError} when the version exists or is being published.
   * @throws {SignerChangeError} when the signer differs from the package's and no admin allowed it.
   * @throws {UnprocessableError} when the archive or a signature is refused.
   */
  prepare(input: PublishInput, options: PrepareOptions = {}): Promise<PreparedPublish<PackageIndex>> {
    return this.#publisher.prepare(this.#plan(input), options);
  }

  #plan(input: PublishInput): PublishPlan<PackageIndex, ValidatedRelease> {
    const { ref, version, signatures } = input;
    // One record per publish attempt: the commit may run again after a lost answer and must recognise itself.
    let release: ReleaseRecord | undefined;
    const recordOf = (final: FinalArtifact, { inspection, signer }: ValidatedRelease): ReleaseRecord =>
      release ??= {
        version,
        checksum: final.artifact.sha256Hex,
        size: final.artifact.size,
        publishedAt: wholeSecondIso(this.#clock()),
        metadata: final.metadata,
        ...(signatures
          ? { signing: { signatureBase64Encoded: toBase64(signatures.archive), signatureFormat: signatures.format } }
          : {}),
        ...(signatures?.metadata ? { metadataSignatureBase64: toBase64(signatures.metadata) } : {}),
        ...(signer ? { signer } : {}),
        manifests: inspection.manifests.map(({ filename, swiftVersion, toolsVersion, content }) => ({
          filename,
          swiftVersion,
          toolsVersion,
          size: content.byteLength,
        })),
        publishId: crypto.randomUUID(),
      };
    return {
      ref,
      version,
      artifact: input.archive,
      metadata: input.metadata,
      sealed: signatures !== undefined,
      ensureAbsent(pkg) {
        if (pkg?.releases[version] !== undefined) throw conflict(ref, version);
      },
      validate: async (final) => {
        if (signatures === undefined) this.#signing.checkUnsigned(ref);
        const inspection = await inspectSourceArchive(final.artifact.path, this.#archiveLimits);
        const signer = signatures && await this.#signing.verify({
          signatures,
          archivePath: final.artifact.path,
          metadata: input.metadataBytes,
          manifests: inspection.manifests,
        });
        // Refused here, before anything is stored; the commit checks again against the document it changes.
        nextSigning(await this.getPackage(ref), ref, version, signer);
        return { inspection, signer };
      },
      store: async (final, validated) => {
        const { inspection } = validated;
        const checksum = final.artifact.sha256Hex;
        await this.#artifacts.putFile(keys.archive(ref, version, checksum), final.artifact, "application/zip");
        for (const manifest of inspection.manifests) {
          await this.#artifacts.putBytes(
            keys.manifest(ref, version, checksum, manifest.filename),
            manifest.content,
            "text/x-swift",
          );
        }
        // The scope is local from now on (never filled from an upstream), even if the commit fails.
        await markScopeLocal(this.#documents, "swift", ref.scope);
        // Identifier mappings first: harmless if the commit fails, because
        // lookups only answer for URLs that a committed release declares.
        for (const url of repositoryUrls(recordOf(final, validated))) {
          await this.#documents.update<IdentifierIndex>(keys.identifiers(url), (current) => {
            if (current?.packages.includes(ref.key)) return undefined;
            return { url, packages: [...(current?.packages ?? []), ref.key] };
          });
        }
      },
      commit(current, final, validated) {
        const release = recordOf(final, validated);
        const existing = current?.releases[version];
        if (existing !== undefined && existing.publishId === release.publishId) return undefined; // our own write
        if (existing !== undefined) throw conflict(ref, version);
        const signing = nextSigning(current, ref, version, validated.signer);
        const base = current ?? { scope: ref.scope, name: ref.name, releases: {} };
        return { ...base, releases: { ...base.releases, [version]: release }, ...(signing ? { signing } : {}) };
      },
      // The release just committed is live, so there is an entry.
      summarize: (pkg) => catalogEntry(ref, pkg)!,
      discard: async (final, { inspection }, winner) => {
        const checksum = final.artifact.sha256Hex;
        if (winner?.releases[version]?.checksum === checksum) return;
        await this.#artifacts.delete(keys.archive(ref, version, checksum));
        for (const manifest of inspection.manifests) {
          await this.#artifacts.delete(keys.manifest(ref, version, checksum, manifest.filename));
        }
      },
    };
  }
}

/**
 * The catalog entry of a Swift package, from its latest release that is not
 * withdrawn (or yanked, when all are); `undefined` when every release was
 * taken down.
 */
export function catalogEntry(ref: PackageRef, pkg: PackageIndex): CatalogEntry | undefined {
  const live = sortVersionsDescending(Object.keys(pkg.releases)).filter((v) => !pkg.releases[v].takedown);
  if (live.length === 0) return undefined;
  const latestVersion = newestAvailable(live, (v) => pkg.releases[v].yanked !== undefined)!;
  const { signer } = pkg.releases[latestVersion];
  return {
    format: "swift",
    key: ref.key,
    id: `${pkg.scope}.${pkg.name}`,
    scope: pkg.scope,
    name: pkg.name,
    ...metadataSummary(pkg.releases[latestVersion].metadata),
    latestVersion,
    versions: live.length,
    updatedAt: live.map((v) => pkg.releases[v].publishedAt).sort().at(-1)!,
    ...(signer === undefined ? {} : { signer: signerName(signer) }),
    origin: "local",
  };
}

/**
 * The version a package is known by: the newest stable one of `versions`
 * (highest first) that is not `withdrawn` (or the newest pre-release), and
 * the same among all of them when every one is withdrawn.
 */
export function newestAvailable(
  versions: readonly string[],
  withdrawn: (version: string) => boolean,
): string | undefined {
  const available = versions.filter((v) => !withdrawn(v));
  const candidates = available.length > 0 ? available : versions;
  return candidates.find((v) => !v.includes("-")) ?? candidates[0];
}

/** What the catalog shows of release metadata: the description, author and organization names, license URL. */
export function metadataSummary(
  metadata: Record<string, unknown>,
): Pick<CatalogEntry, "description" | "authors" | "license"> {
  const author = metadata.author as { name?: unknown; organization?: { name?: unknown } } | undefined;
  const authors = [author?.name, author?.organization?.name].filter((n): n is string =>
    typeof n === "string" && n !== ""
  );
  const { description, licenseURL } = metadata;
  return {
    ...(typeof description === "string" ? { description } : {}),
    ...(authors.length > 0 ? { authors } : {}),
    ...(typeof licenseURL === "string" ? { license: licenseURL } : {}),
  };
}

/** Where a release's archive is stored, and the validators it is served with. */
function archiveInfo(ref: PackageRef, release: ReleaseRecord): ArtifactInfo {
  return {
    key: keys.archive(ref, release.version, release.checksum),
    size: release.size,
    etag: `"${release.checksum}"`,
    lastModified: new Date(release.publishedAt),
  };
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

/** True when a release that was not taken down declares the URL (only packages that can be served are named). */
function declaresUrl(pkg: PackageIndex, normalizedUrl: string): boolean {
  return Object.values(pkg.releases).some((release) =>
    release.takedown === undefined && repositoryUrls(release).includes(normalizedUrl)
  );
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}
