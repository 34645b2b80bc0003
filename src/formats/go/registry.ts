/**
 * Go modules on the format-neutral core: the module document (versions
 * published here, and versions pinned from the upstream), where their files
 * are stored, and the Go side of a publish (checking the module zip, deriving
 * `.mod` and `.info`). Storage, transforms, claims and the commit are the
 * core's ({@link Publisher}, {@link Artifacts}).
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { ArtifactInfo, Artifacts } from "../../core/artifacts.ts";
import { type CatalogEntry, catalogIdentity } from "../../core/catalog.ts";
import { keySegment, packagePrefix, type PackageRef } from "../../core/package.ts";
import type { FinalArtifact, PreparedPublish, PrepareOptions, Publisher } from "../../core/publisher.ts";
import type { StagedFile } from "../../core/staging.ts";
import { BadRequestError, ConflictError } from "../../errors.ts";
import type { ArchiveLimits } from "../../core/zip_scan.ts";
import {
  checkModulePath,
  checkVersionForPath,
  compareVersions,
  escapeCase,
  isPseudoVersion,
  latestVersion,
  ModuleRuleError,
} from "./module.ts";
import { goModH1, inspectModuleZip, type ModuleZipInspection } from "./module_zip.ts";

/** A stored file of a version (its zip or its go.mod) and its hashes. */
export interface StoredFile {
  /** Lowercase hex SHA-256 of the bytes served (part of the storage key). */
  sha256: string;
  size: number;
  /** The go.sum hash (`h1:`...). */
  h1: string;
}

/** A version published here. Never changes once committed. */
export interface LocalVersion {
  version: string;
  /** When it was published (RFC 3339, whole seconds): the `.info` Time. */
  time: string;
  zip: StoredFile;
  /** The `.mod`: the zip's go.mod, or `module <path>` for +incompatible versions. */
  mod: StoredFile;
  /** Recognises this publish's own commit when it runs again after a lost answer. */
  publishId: string;
}

/**
 * A version pulled through from the upstream: each part is pinned when first
 * served, and served from here ever after (a later, different copy from the
 * upstream is refused).
 */
export interface UpstreamVersion {
  version: string;
  /** The upstream's `.info` Time. */
  time?: string;
  mod?: StoredFile;
  zip?: StoredFile;
}

/** The document of one module (`go/packages/<key>/index.json`). */
export interface ModuleDocument {
  /** The module path. */
  path: string;
  /** Versions published here, by version. */
  versions: Record<string, LocalVersion>;
  /** Versions pinned from the upstream (unused while the module has versions of its own). */
  upstream?: Record<string, UpstreamVersion>;
}

/** The parts of a version the proxy serves from storage. */
export type StoredPart = "zip" | "mod";

/**
 * The ref of a module path. The key is the case-encoded path, each element an
 * object-key segment, closed by a final `@` segment: no module path element
 * contains `@`, so one module's files never sit inside another's folder
 * (`example.com/a` next to `example.com/a/index.json`).
 *
 * @throws {ModuleRuleError} when the path is not a valid module path.
 * @example
 * moduleRef("github.com/Azure/go").key; // "github.com/_21azure/go/@"
 */
export function moduleRef(path: string): PackageRef {
  checkModulePath(path);
  return {
    format: "go",
    name: path,
    key: [...escapeCase(path).split("/").map(keySegment), "@"].join("/"),
    id: path,
  };
}

/** True when the module has versions published here (then it never shows upstream versions). */
export function hasLocalVersions(document: ModuleDocument | null): document is ModuleDocument {
  return document !== null && Object.keys(document.versions).length > 0;
}

/** An RFC 3339 time in whole seconds, as the go command writes `.info` Times. */
export function wholeSecondTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, "Z");
}

/** Dependencies of a {@link GoRegistry}. */
export interface GoRegistryOptions {
  publisher: Publisher;
  artifacts: Artifacts;
  archiveLimits: ArchiveLimits;
  now: () => number;
}

/** What a publish hands to the registry: the module zip, already staged. */
export interface ModulePublish {
  ref: PackageRef;
  version: string;
  zip: StagedFile;
}

/** Go modules: read versions and their files, publish, pin upstream versions. */
export class GoRegistry {
  readonly #publisher: Publisher;
  readonly #artifacts: Artifacts;
  readonly #limits: ArchiveLimits;
  readonly #now: () => number;

  constructor(options: GoRegistryOptions) {
    this.#publisher = options.publisher;
    this.#artifacts = options.artifacts;
    this.#limits = options.archiveLimits;
    this.#now = options.now;
  }

  /** The module's document, or `null` when nothing is known of it. */
  read(ref: PackageRef): Promise<ModuleDocument | null> {
    return this.#publisher.read<ModuleDocument>(ref);
  }

  /**
   * Whether `document` (as {@link read} returned it) is still the module's
   * current document: the freshness of answers built from it.
   */
  stillCurrent(ref: PackageRef, document: ModuleDocument | null): () => boolean {
    return this.#publisher.stillCurrent(ref, document);
  }

  /** A stored file of a version, as served (its ETag is the quoted SHA-256; `time` is its Last-Modified). */
  fileInfo(
    ref: PackageRef,
    version: string,
    part: StoredPart,
    file: StoredFile,
    time: string,
    origin: PartOrigin,
  ): ArtifactInfo {
    return {
      key: storageKey(ref, version, part, file.sha256, origin),
      size: file.size,
      etag: `"${file.sha256}"`,
      lastModified: new Date(time),
    };
  }

  /** The bytes of a stored `.mod` (kept in memory once read). */
  readMod(ref: PackageRef, version: string, file: StoredFile, origin: PartOrigin): Promise<Uint8Array<ArrayBuffer>> {
    return this.#artifacts.read(storageKey(ref, version, "mod", file.sha256, origin));
  }

  /** Stores a part of an upstream version under its checksum (see {@link pin}). */
  async storePart(ref: PackageRef, version: string, part: StoredPart, file: StagedFile | Uint8Array, sha256: string) {
    const key = storageKey(ref, version, part, sha256, "upstream");
    const type = part === "zip" ? "application/zip" : "text/plain; charset=utf-8";
    if (file instanceof Uint8Array) await this.#artifacts.putBytes(key, file, type);
    else await this.#artifacts.putFile(key, file, type);
  }

  /**
   * Moves a part of an upstream version from where registries before the
   * bound on upstream copies kept it (beside local versions) to its place
   * under `upstream/`; false when there is none there.
   */
  moveLegacyPart(ref: PackageRef, version: string, part: StoredPart, sha256: string): Promise<boolean> {
    const type = part === "zip" ? "application/zip" : "text/plain; charset=utf-8";
    return this.#artifacts.move(
      storageKey(ref, version, part, sha256, "local"),
      storageKey(ref, version, part, sha256, "upstream"),
      type,
    );
  }

  /** Removes a stored part (a copy that lost to another). */
  deletePart(ref: PackageRef, version: string, part: StoredPart, sha256: string, origin: PartOrigin): Promise<void> {
    return this.#artifacts.delete(storageKey(ref, version, part, sha256, origin));
  }

  /**
   * Records what was served of an upstream version: fields already pinned stay
   * as they are. Returns the version as stored (the caller serves that one:
   * when another node pinned a different copy first, that copy wins).
   */
  async pin(ref: PackageRef, version: string, patch: Omit<UpstreamVersion, "version">): Promise<UpstreamVersion> {
    const document = await this.#publisher.update<ModuleDocument>(ref, (current) => {
      const known = current?.upstream?.[version];
      const merged: UpstreamVersion = { ...patch, ...known, version };
      if (known !== undefined && JSON.stringify(merged) === JSON.stringify(known)) return undefined;
      const base = current ?? { path: ref.name, versions: {} };
      return { ...base, upstream: { ...base.upstream, [version]: merged } };
    });
    return document.upstream![version];
  }

  /**
   * Validates a publish without storing anything (see {@link Publisher.prepare}).
   *
   * @throws {BadRequestError} when the version does not suit the module path.
   * @throws {ConflictError} when the version exists (here or served from the upstream).
   * @throws {UnprocessableError} / {PayloadTooLargeError} when the zip is refused.
   */
  prepare(input: ModulePublish, options: PrepareOptions = {}): Promise<PreparedPublish<ModuleDocument>> {
    const { ref, version } = input;
    checkVersion(ref, version);
    const incompatible = version.endsWith("+incompatible");
    // One record per publish attempt: the commit may run again after a lost answer and must recognise itself.
    let record: LocalVersion | undefined;
    const recordOf = (final: FinalArtifact, inspection: ModuleZipInspection): LocalVersion =>
      record ??= {
        version,
        time: wholeSecondTime(this.#now()),
        zip: { sha256: final.artifact.sha256Hex, size: final.artifact.size, h1: inspection.h1 },
        mod: modFile(modBytes(ref, inspection)),
        publishId: crypto.randomUUID(),
      };
    return this.#publisher.prepare<ModuleDocument, ModuleZipInspection>({
      ref,
      version,
      artifact: input.zip,
      metadata: {},
      ensureAbsent: (document) => ensureAbsent(document, ref, version),
      validate: (final) =>
        inspectModuleZip(final.artifact.path, {
          module: ref.name,
          version,
          goMod: incompatible ? "forbidden" : "required",
          limits: this.#limits,
        }),
      store: async (final, inspection) => {
        const { zip, mod } = recordOf(final, inspection);
        await this.#artifacts.putFile(storageKey(ref, version, "zip", zip.sha256), final.artifact, "application/zip");
        await this.#artifacts.putBytes(
          storageKey(ref, version, "mod", mod.sha256),
          modBytes(ref, inspection),
          "text/plain; charset=utf-8",
        );
      },
      commit: (current, final, inspection) => {
        const mine = recordOf(final, inspection);
        if (current?.versions[version]?.publishId === mine.publishId) return undefined; // our own write
        ensureAbsent(current, ref, version);
        const base = current ?? { path: ref.name, versions: {} };
        return { ...base, versions: { ...base.versions, [version]: mine } };
      },
      discard: async (final, inspection, winner) => {
        const { zip, mod } = recordOf(final, inspection);
        const kept = winner?.versions[version];
        if (kept?.zip.sha256 !== zip.sha256) await this.deletePart(ref, version, "zip", zip.sha256, "local");
        if (kept?.mod.sha256 !== mod.sha256) await this.deletePart(ref, version, "mod", mod.sha256, "local");
      },
      summarize: (document) => summarize(ref, document),
    }, options);
  }
}

/** Whether a version's files were published here or copied from the upstream (which may be evicted and fetched again). */
export type PartOrigin = "local" | "upstream";

/**
 * Where a part of a version is stored: `go/packages/<key>/<version>/<sha256>/{module.zip,go.mod}`,
 * or, copied from the upstream, the same under `upstream/go/parts/<key>/`.
 */
export function storageKey(
  ref: PackageRef,
  version: string,
  part: StoredPart,
  sha256: string,
  origin: PartOrigin = "local",
): string {
  const prefix = origin === "local" ? packagePrefix(ref) : `upstream/go/parts/${ref.key}`;
  return `${prefix}/${keySegment(version)}/${sha256}/${part === "zip" ? "module.zip" : "go.mod"}`;
}

/** The `.mod` of a version: its go.mod, or the one the go command assumes for code without one. */
function modBytes(ref: PackageRef, inspection: ModuleZipInspection): Uint8Array {
  return inspection.goMod ?? new TextEncoder().encode(`module ${ref.name}\n`);
}

/** The hashes of a `.mod`'s bytes. */
export function modFile(bytes: Uint8Array): StoredFile {
  return { sha256: sha256Hex(bytes), size: bytes.byteLength, h1: goModH1(bytes) };
}

/** Lowercase hex SHA-256 of bytes. */
function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Checks that `version` is canonical and suits the module's path.
 *
 * @throws {BadRequestError} naming the rule it breaks.
 */
export function checkVersion(ref: PackageRef, version: string): void {
  try {
    checkVersionForPath(ref.name, version);
  } catch (error) {
    if (error instanceof ModuleRuleError) throw new BadRequestError(error.message);
    throw error;
  }
}

/**
 * Checks that `version` is neither published here nor served from the upstream.
 *
 * @throws {ConflictError} when it is: a version is never replaced.
 */
export function ensureAbsent(document: ModuleDocument | null, ref: PackageRef, version: string): void {
  if (document?.versions[version] !== undefined) {
    throw new ConflictError(`${ref.name}@${version} already exists; a version is never replaced`);
  }
  if (document?.upstream?.[version] !== undefined) {
    throw new ConflictError(
      `${ref.name}@${version} was already served from the upstream; a version is never replaced`,
    );
  }
}

/** The catalog entry of a module. */
export function summarize(
  ref: PackageRef,
  document: ModuleDocument,
  origin: "local" | "upstream" = "local",
): CatalogEntry {
  const records = origin === "local" ? Object.values(document.versions) : Object.values(document.upstream ?? {});
  const versions = records.map((r) => r.version).filter((v) => !isPseudoVersion(v));
  const times = records.map((r) => r.time).filter((t): t is string => t !== undefined).sort();
  return {
    ...catalogIdentity(ref),
    latestVersion: latestVersion(versions) ?? latestVersion(records.map((r) => r.version)) ?? "",
    versions: records.length,
    updatedAt: times.at(-1) ?? new Date(0).toISOString(),
    origin,
  };
}

/** Versions sorted lowest first. */
export function sortVersions(versions: Iterable<string>): string[] {
  return [...versions].sort(compareVersions);
}
