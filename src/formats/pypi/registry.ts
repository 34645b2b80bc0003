/**
 * PyPI projects on the format-neutral core: reading projects and their files,
 * the PyPI side of an upload (inspection, the file record, one more file in a
 * release), and yanking. Storage, transforms, claims and the commit are the
 * core's ({@link Publisher}, {@link Artifacts}).
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { ArtifactInfo, Artifacts } from "../../core/artifacts.ts";
import { type CatalogEntry, catalogIdentity } from "../../core/catalog.ts";
import type { PackageRef } from "../../core/package.ts";
import type { FinalArtifact, PreparedPublish, PrepareOptions, Publisher, PublishPlan } from "../../core/publisher.ts";
import type { StagedFile } from "../../core/staging.ts";
import type { ZipLimits } from "../../core/zip_scan.ts";
import { ConflictError, NotFoundError } from "../../errors.ts";
import { type DistributionInspection, inspectDistribution } from "./inspect.ts";
import { checkVersion, type DistributionFilename, versionIdentity } from "./names.ts";
import { type FileRecord, keys, latestVersion, type PypiProject, sortVersions } from "./project.ts";

/** One upload, with the file staged on disk and its name and version checked against each other. */
export interface UploadInput {
  ref: PackageRef;
  /** The version in normal form. */
  version: string;
  filename: string;
  file: DistributionFilename;
  archive: StagedFile;
  /** Release metadata shown to transforms and hooks. */
  metadata?: Record<string, unknown>;
}

/** Dependencies of a {@link PypiRegistry}. */
export interface PypiRegistryOptions {
  publisher: Publisher;
  artifacts: Artifacts;
  archiveLimits: ZipLimits;
  now: () => number;
}

/** PyPI projects: read, upload, yank. */
export class PypiRegistry {
  readonly #publisher: Publisher;
  readonly #artifacts: Artifacts;
  readonly #limits: ZipLimits;
  readonly #now: () => number;

  constructor(options: PypiRegistryOptions) {
    this.#publisher = options.publisher;
    this.#artifacts = options.artifacts;
    this.#limits = options.archiveLimits;
    this.#now = options.now;
  }

  /** The project's document, or `null` when nothing was uploaded to it here. */
  project(ref: PackageRef): Promise<PypiProject | null> {
    return this.#publisher.read<PypiProject>(ref);
  }

  /** True while `project` (as {@link project} returned it, `null` included) is the project's current document. */
  stillCurrent(ref: PackageRef, project: PypiProject | null): () => boolean {
    return this.#publisher.stillCurrent(ref, project);
  }

  /** A wheel's core metadata (kept in memory once read). */
  readMetadata(ref: PackageRef, file: FileRecord): Promise<Uint8Array<ArrayBuffer>> {
    return this.#artifacts.read(keys.metadata(ref, file));
  }

  /**
   * Yanks a release (`reason` given, "" for none) or unyanks it (`null`);
   * returns the stored document.
   *
   * @throws {NotFoundError} when the project or version does not exist.
   */
  setYanked(ref: PackageRef, version: string, reason: string | null): Promise<PypiProject> {
    return setYanked((mutate) => this.#publisher.update<PypiProject>(ref, mutate), ref, version, reason, this.#now);
  }

  /**
   * Validates an upload without storing anything (see {@link Publisher.prepare}):
   * the file name is claimed until the returned handle commits or is abandoned.
   *
   * @throws {ConflictError} when the file exists or is being uploaded.
   * @throws {UnprocessableError} / {PayloadTooLargeError} when the archive is refused.
   */
  prepare(input: UploadInput, options: PrepareOptions = {}): Promise<PreparedPublish<PypiProject>> {
    return this.#publisher.prepare(this.#plan(input), options);
  }

  #plan(input: UploadInput): PublishPlan<PypiProject, DistributionInspection> {
    const { ref, version, filename } = input;
    // One record per upload attempt: the commit may run again after a lost answer and must recognise itself.
    let record: FileRecord | undefined;
    const recordOf = (final: FinalArtifact, inspection: DistributionInspection): FileRecord =>
      record ??= {
        filename,
        version,
        packagetype: input.file.filetype,
        sha256: final.artifact.sha256Hex,
        size: final.artifact.size,
        uploadedAt: new Date(this.#now()).toISOString(),
        ...(inspection.requiresPython ? { requiresPython: inspection.requiresPython } : {}),
        ...(inspection.coreMetadata
          ? { metadata: { sha256: sha256Of(inspection.coreMetadata), size: inspection.coreMetadata.byteLength } }
          : {}),
        publishId: crypto.randomUUID(),
      };
    return {
      ref,
      version,
      filename,
      claim: filename,
      artifact: input.archive,
      metadata: input.metadata ?? {},
      ensureAbsent: (project) => checkFree(project, input),
      validate: (final) => inspectDistribution(final.artifact.path, input.file, ref.name, version, this.#limits),
      store: async (final, inspection) => {
        const file = recordOf(final, inspection);
        await this.#artifacts.putFile(keys.file(ref, file), final.artifact, contentTypeOf(filename));
        if (inspection.coreMetadata) {
          await this.#artifacts.putBytes(
            keys.metadata(ref, file),
            inspection.coreMetadata,
            "text/plain; charset=utf-8",
          );
        }
      },
      commit: (current, final, inspection) => {
        const file = recordOf(final, inspection);
        if (current?.files[filename]?.publishId === file.publishId) return undefined; // our own write
        checkFree(current, input);
        const id = versionIdentity(version);
        const base: PypiProject = current ?? { name: ref.name, releases: {}, files: {} };
        return {
          ...base,
          ...(inspection.summary ? { summary: inspection.summary } : {}),
          ...(inspection.keywords ? { keywords: inspection.keywords } : {}),
          releases: { ...base.releases, [id]: base.releases[id] ?? { version } },
          files: { ...base.files, [filename]: file },
        };
      },
      discard: async (final, inspection, winner) => {
        const file = recordOf(final, inspection);
        if (winner?.files[filename]?.sha256 === file.sha256) return;
        await this.#artifacts.delete(keys.file(ref, file));
        if (inspection.coreMetadata) await this.#artifacts.delete(keys.metadata(ref, file));
      },
      summarize: (project) => summarize(ref, project),
    };
  }
}

/**
 * The change of a yank or an unyank, applied with `update` (the publisher's,
 * or a command's own document store).
 *
 * @throws {NotFoundError} when the project or version does not exist.
 * @throws {BadRequestError} when `version` is not a version.
 */
export function setYanked(
  update: (mutate: (current: PypiProject | null) => PypiProject | undefined) => Promise<PypiProject>,
  ref: PackageRef,
  version: string,
  reason: string | null,
  now: () => number,
): Promise<PypiProject> {
  const id = versionIdentity(checkVersion(version));
  return update((current) => {
    if (current === null) throw new NotFoundError(`project ${ref.id} not found`);
    const release = Object.hasOwn(current.releases, id) ? current.releases[id] : undefined;
    if (release === undefined) throw new NotFoundError(`${ref.id} has no release ${version}`);
    if (reason === null && release.yanked === undefined) return undefined;
    if (reason !== null && release.yanked?.reason === reason) return undefined;
    const { yanked: _previous, ...rest } = release;
    const next = reason === null ? rest : { ...rest, yanked: { reason, at: new Date(now()).toISOString() } };
    return { ...current, releases: { ...current.releases, [id]: next } };
  });
}

/**
 * A file name is taken for good once uploaded, and a release has one sdist.
 *
 * @throws {ConflictError} ("File already exists", which `twine --skip-existing` recognises).
 */
function checkFree(project: PypiProject | null, input: UploadInput): void {
  if (project === null) return;
  if (project.files[input.filename] !== undefined) {
    throw new ConflictError(`File already exists: ${input.filename}. A file name can be uploaded only once.`);
  }
  if (input.file.kind !== "sdist") return;
  const id = versionIdentity(input.version);
  const sdist = Object.values(project.files).find((f) =>
    f.packagetype === "sdist" && versionIdentity(f.version) === id
  );
  if (sdist !== undefined) {
    throw new ConflictError(
      `An sdist of ${input.version} already exists (${sdist.filename}); a release has one sdist.`,
    );
  }
}

/** The catalog entry of a project: from its latest release. */
export function summarize(ref: PackageRef, project: PypiProject): CatalogEntry {
  const versions = Object.values(project.releases).map((r) => r.version);
  const files = Object.values(project.files);
  return {
    ...catalogIdentity(ref),
    name: project.name, // as uploaded, where the ref's is normalised
    ...(project.summary ? { description: project.summary } : {}),
    ...(project.keywords ? { keywords: project.keywords } : {}),
    latestVersion: latestVersion(versions) ?? versions[0],
    versions: versions.length,
    updatedAt: files.map((f) => f.uploadedAt).sort().at(-1)!,
    origin: "local",
  };
}

/** A project's files in page order: by version (PEP 440), then by file name. */
export function filesInOrder(project: PypiProject): FileRecord[] {
  const order = new Map(
    sortVersions(new Set(Object.values(project.files).map((f) => f.version))).map((v, i) => [v, i]),
  );
  return Object.values(project.files).sort((a, b) =>
    order.get(a.version)! - order.get(b.version)! || a.filename.localeCompare(b.filename)
  );
}

/** Where a file is stored, and the validators it is served with. */
export function fileInfo(ref: PackageRef, file: FileRecord): ArtifactInfo {
  return {
    key: keys.file(ref, file),
    size: file.size,
    etag: `"${file.sha256}"`,
    lastModified: new Date(file.uploadedAt),
  };
}

/** Where the core metadata (`metadata`) of a file is stored, and the validators it is served with. */
export function metadataInfo(
  ref: PackageRef,
  file: FileRecord,
  metadata: NonNullable<FileRecord["metadata"]>,
): ArtifactInfo {
  return {
    key: keys.metadata(ref, file),
    size: metadata.size,
    etag: `"${metadata.sha256}"`,
    lastModified: new Date(file.uploadedAt),
  };
}

/** The Content-Type a distribution file is served with. */
export function contentTypeOf(filename: string): string {
  if (filename.endsWith(".tar.gz")) return "application/gzip";
  if (filename.endsWith(".zip") || filename.endsWith(".whl")) return "application/zip";
  return "application/octet-stream";
}

function sha256Of(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
