/**
 * Pull-through from an upstream GOPROXY for modules with no versions of
 * their own here. Version lists and `@latest` come from the upstream (cached
 * and revalidated by the core {@link Upstream}); each version's `.info` Time,
 * `.mod` and `.zip` are pinned the first time they are served: stored under
 * their SHA-256 (with their go.sum `h1:` hashes) and served from storage ever
 * after, so a version never changes once served, and stays available when
 * the upstream is down. The upstream states no checksums: a later copy that
 * differs from the pinned one (another node racing, say) is refused.
 *
 * @module
 */
import type { Catalog } from "../../core/catalog.ts";
import type { PackageRef } from "../../core/package.ts";
import type { StagedFile } from "../../core/staging.ts";
import type { Upstream } from "../../core/upstream.ts";
import { BadGatewayError, NotFoundError, RegistryError } from "../../errors.ts";
import type { Logger } from "../../log.ts";
import { declaredModulePath } from "./go_mod.ts";
import { checkVersionForPath, escapeCase, isCanonicalVersion, isPseudoVersion } from "./module.ts";
import { inspectModuleZip, MAX_GO_MOD_BYTES } from "./module_zip.ts";
import type { ModulePatterns } from "./patterns.ts";
import {
  type GoRegistry,
  modFile,
  type ModuleDocument,
  sortVersions,
  type StoredFile,
  type StoredPart,
  summarize,
} from "./registry.ts";
import type { ArchiveLimits } from "../../core/zip_scan.ts";

/** Dependencies of a {@link PullThrough}. */
export interface PullThroughOptions {
  upstream: Upstream;
  registry: GoRegistry;
  catalog: Catalog;
  /** Modules never asked of the upstream (`REGISTRY_GO_EXCLUDE`). */
  exclude: ModulePatterns;
  archiveLimits: ArchiveLimits;
  logger: Logger;
}

/** A version's `.info`. */
export interface VersionInfo {
  Version: string;
  Time: string;
}

/**
 * What the upstream answered, and until when that answer stands (its
 * `freshUntil`: the upstream is not asked again before; 0 when unknown).
 */
export interface FromUpstream<T> {
  value: T;
  freshUntil: number;
}

/** Pull-through of Go modules from one upstream GOPROXY. */
export class PullThrough {
  readonly #options: PullThroughOptions;
  /** Downloads in progress, by module, version and part: concurrent misses share one. */
  readonly #inFlight = new Map<string, Promise<StoredFile>>();
  /** Evicted parts being stored again. */
  readonly #restoring = new Map<string, Promise<void>>();

  constructor(options: PullThroughOptions) {
    this.#options = options;
  }

  /** True when `path` may be asked of the upstream (it is not excluded). */
  covers(path: string): boolean {
    return !this.#options.exclude.matches(path);
  }

  /**
   * The module's versions at the upstream (canonical, valid for the path,
   * without pseudo-versions), with those pinned in `document`; `null` when
   * neither knows the module.
   */
  async list(ref: PackageRef, document: ModuleDocument | null): Promise<FromUpstream<string[]> | null> {
    const listed = await this.#options.upstream.document(`${escapeCase(ref.name)}/@v/list`, "text/plain");
    const pinned = Object.keys(document?.upstream ?? {});
    if (listed === null && pinned.length === 0) return null;
    const versions = new Set(pinned.filter((v) => !isPseudoVersion(v)));
    for (const line of new TextDecoder().decode(listed?.body ?? new Uint8Array()).split("\n")) {
      const version = line.trim().split(/\s+/)[0];
      if (suits(ref, version) && !isPseudoVersion(version)) versions.add(version);
    }
    return { value: sortVersions(versions), freshUntil: listed?.freshUntil ?? 0 };
  }

  /** The upstream's `@latest`, or `null` when it has none. */
  async latest(ref: PackageRef): Promise<FromUpstream<VersionInfo> | null> {
    const latest = await this.#options.upstream.document(`${escapeCase(ref.name)}/@latest`);
    if (latest === null) return null;
    const info = parseInfo(latest.body, `${ref.name}/@latest`);
    if (!suits(ref, info.Version)) throw new BadGatewayError(`the upstream's @latest of ${ref.name} is not valid`);
    return { value: info, freshUntil: latest.freshUntil };
  }

  /**
   * A version's `.info`: pinned, or asked of the upstream and pinned.
   *
   * @throws {NotFoundError} when the upstream does not have the version.
   */
  async info(ref: PackageRef, version: string, document: ModuleDocument | null): Promise<VersionInfo> {
    const known = document?.upstream?.[version]?.time;
    if (known !== undefined) return { Version: version, Time: known };
    const path = upstreamPath(ref, version, "info");
    const fetched = await this.#options.upstream.document(path);
    if (fetched === null) throw notFound(ref, version);
    const info = parseInfo(fetched.body, path);
    if (info.Version !== version) {
      throw new BadGatewayError(`the upstream answered ${path} with the .info of ${info.Version}`);
    }
    const pinned = await this.#options.registry.pin(ref, version, { time: info.Time });
    return { Version: version, Time: pinned.time! };
  }

  /**
   * A version's `.mod` or `.zip`, pinned, or downloaded from the upstream,
   * checked and pinned now.
   *
   * @throws {NotFoundError} when the upstream does not have the version.
   * @throws {BadGatewayError} when the upstream fails or sends something the go command would refuse.
   */
  part(ref: PackageRef, version: string, part: StoredPart, document: ModuleDocument | null): Promise<StoredFile> {
    const known = document?.upstream?.[version]?.[part];
    if (known !== undefined) return Promise.resolve(known);
    const id = `${ref.key}@${version}/${part}`;
    let pending = this.#inFlight.get(id);
    if (pending === undefined) {
      pending = this.#fetch(ref, version, part).finally(() => this.#inFlight.delete(id));
      this.#inFlight.set(id, pending);
    }
    return pending;
  }

  /**
   * Stores a pinned part again after its copy was evicted (or was kept where
   * earlier versions of this registry kept it: then it is moved): downloaded
   * from the upstream and kept only when it is the pinned bytes.
   *
   * @throws {BadGatewayError} when the upstream fails, no longer has it, or serves other bytes.
   */
  restore(ref: PackageRef, version: string, part: StoredPart, pinned: StoredFile): Promise<void> {
    const id = `${ref.key}@${version}/${part} again`;
    let pending = this.#restoring.get(id);
    if (pending === undefined) {
      pending = this.#restore(ref, version, part, pinned).finally(() => this.#restoring.delete(id));
      this.#restoring.set(id, pending);
    }
    return pending;
  }

  async #restore(ref: PackageRef, version: string, part: StoredPart, pinned: StoredFile): Promise<void> {
    if (await this.#options.registry.moveLegacyPart(ref, version, part, pinned.sha256)) return;
    const path = upstreamPath(ref, version, part);
    const staged = await this.#options.upstream.stage(path);
    if (staged === null) {
      throw new BadGatewayError(`the upstream no longer has ${path}, and this node's copy was evicted`);
    }
    try {
      if (staged.sha256Hex !== pinned.sha256) {
        this.#otherCopy(ref, version, part, pinned.sha256, staged.sha256Hex);
        throw new BadGatewayError(`the upstream's ${path} is not the copy pinned here; it was not stored`);
      }
      await this.#options.registry.storePart(ref, version, part, staged, pinned.sha256);
    } finally {
      await staged.dispose();
    }
  }

  async #fetch(ref: PackageRef, version: string, part: StoredPart): Promise<StoredFile> {
    const { upstream, registry } = this.#options;
    const path = upstreamPath(ref, version, part);
    const staged = await upstream.stage(path);
    if (staged === null) throw notFound(ref, version);
    try {
      const { file, bytes } = await this.#check(ref, version, part, staged, path);
      await registry.storePart(ref, version, part, bytes ?? staged, file.sha256);
      const pinned = await registry.pin(ref, version, { [part]: file });
      const kept = pinned[part]!;
      if (kept.sha256 !== file.sha256) {
        // Another copy was served first (by another node): that one stays, this one goes.
        this.#otherCopy(ref, version, part, kept.sha256, file.sha256);
        await registry.deletePart(ref, version, part, file.sha256, "upstream");
      } else {
        const document = await registry.read(ref);
        if (document !== null) await this.#options.catalog.record(summarize(ref, document, "upstream"));
      }
      return kept;
    } finally {
      await staged.dispose();
    }
  }

  /** Logs that the upstream sent other bytes than those pinned for a version's part (they are not kept). */
  #otherCopy(ref: PackageRef, version: string, part: StoredPart, pinned: string, received: string): void {
    this.#options.logger.log("error", "the upstream served a different copy of a pinned module version", {
      module: ref.name,
      version,
      part,
      pinned,
      received,
    });
  }

  /** Checks a downloaded part as the go command would; the `.mod` is small and returned as bytes. */
  async #check(
    ref: PackageRef,
    version: string,
    part: StoredPart,
    staged: StagedFile,
    path: string,
  ): Promise<{ file: StoredFile; bytes?: Uint8Array }> {
    const refused = (why: string) =>
      new BadGatewayError(`the upstream's ${path} is refused: ${why}; it was not stored`, 60);
    if (part === "mod") {
      if (staged.size > MAX_GO_MOD_BYTES) throw refused(`over ${MAX_GO_MOD_BYTES} bytes`);
      const bytes = await Deno.readFile(staged.path);
      const declared = declaredModulePath(new TextDecoder().decode(bytes));
      if (declared !== null && declared !== ref.name) throw refused(`it declares the module "${declared}"`);
      return { file: modFile(bytes), bytes };
    }
    try {
      const inspection = await inspectModuleZip(staged.path, {
        module: ref.name,
        version,
        goMod: "optional",
        limits: this.#options.archiveLimits,
      });
      return { file: { sha256: staged.sha256Hex, size: staged.size, h1: inspection.h1 } };
    } catch (error) {
      if (error instanceof RegistryError && error.status < 500) throw refused(error.message);
      throw error;
    }
  }
}

/** The upstream path of a version's `.info`, `.mod` or `.zip`. */
function upstreamPath(ref: PackageRef, version: string, extension: "info" | StoredPart): string {
  return `${escapeCase(ref.name)}/@v/${escapeCase(version)}.${extension}`;
}

/** True when `version` is canonical and valid for the module's path. */
function suits(ref: PackageRef, version: string | undefined): version is string {
  if (version === undefined || !isCanonicalVersion(version)) return false;
  try {
    checkVersionForPath(ref.name, version);
    return true;
  } catch {
    return false;
  }
}

function parseInfo(body: Uint8Array, path: string): VersionInfo {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(body));
  } catch {
    throw new BadGatewayError(`the upstream's ${path} is not JSON`);
  }
  const { Version, Time } = (value ?? {}) as Record<string, unknown>;
  if (typeof Version !== "string" || typeof Time !== "string" || Number.isNaN(Date.parse(Time))) {
    throw new BadGatewayError(`the upstream's ${path} lacks a Version or a valid Time`);
  }
  return { Version, Time };
}

function notFound(ref: PackageRef, version: string): NotFoundError {
  return new NotFoundError(`not found: ${ref.name}@${version}: unknown version`);
}
