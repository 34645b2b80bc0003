/**
 * Withdrawing releases. A yank marks a release as not to be resolved any
 * more: the release list shows it with a 410 `problem` (SwiftPM skips it),
 * while its metadata, manifests and archive keep answering, so builds pinned
 * to it still work. A takedown (legal or security) removes it: every
 * endpoint of the release answers 410 and its bytes are deleted, from the
 * bucket and from the disk of every node (each node sweeps the list of
 * takedowns). Both are recorded in the package document (who, when, why),
 * so every node on one bucket sees them within the documents' bound.
 *
 * @module
 */
import type { Artifacts } from "../../core/artifacts.ts";
import type { Catalog } from "../../core/catalog.ts";
import type { Publisher } from "../../core/publisher.ts";
import { BadRequestError, ConflictError, NotFoundError } from "../../errors.ts";
import type { Logger } from "../../log.ts";
import type { DocumentCache } from "../../storage/document_cache.ts";
import { packageId, type PackageRef } from "./identity.ts";
import { keys, type PackageIndex, type ReleaseRecord, wholeSecondIso, type WithdrawalRecord } from "./release.ts";
import { catalogEntry } from "./registry.ts";

/** Longest reason accepted for a yank or takedown. */
export const MAX_REASON_LENGTH = 1000;

/** What a withdrawal needs from its caller. */
export interface Withdrawal {
  /** Who asks (a principal id, or `cli:<user>`). */
  by: string;
  reason: string;
}

/** One taken-down release whose stored objects every node deletes. */
interface TakedownEntry {
  package: string;
  version: string;
  at: string;
  /** Object keys of its archive and manifests. */
  keys: string[];
}

interface TakedownList {
  releases: TakedownEntry[];
}

/** Dependencies of {@link Moderation}. */
export interface ModerationOptions {
  publisher: Publisher;
  artifacts: Artifacts;
  documents: DocumentCache;
  catalog: Catalog;
  logger: Logger;
  clock: () => Date;
}

/** Yank, unyank and takedown of Swift releases. */
export class Moderation {
  readonly #options: ModerationOptions;
  /** Takedowns whose objects this process has deleted (`package@version`). */
  readonly #swept = new Set<string>();

  constructor(options: ModerationOptions) {
    this.#options = options;
  }

  /**
   * Yanks a release (a second yank with another reason replaces the reason).
   *
   * @throws {NotFoundError} when the release does not exist.
   * @throws {ConflictError} when it was taken down.
   * @throws {BadRequestError} for a missing or overlong reason.
   */
  async yank(ref: PackageRef, version: string, withdrawal: Withdrawal): Promise<ReleaseRecord> {
    const record = this.#record(withdrawal);
    return await this.#change(ref, version, "release yanked", withdrawal, (release) => {
      if (release.takedown !== undefined) throw taken(ref, release);
      if (release.yanked?.reason === record.reason) return undefined;
      return { ...release, yanked: record };
    });
  }

  /**
   * Makes a yanked release available again (a no-op when it is not yanked).
   *
   * @throws {NotFoundError} when the release does not exist.
   * @throws {ConflictError} when it was taken down.
   */
  async unyank(ref: PackageRef, version: string, by: string): Promise<ReleaseRecord> {
    return await this.#change(ref, version, "release unyanked", { by, reason: "" }, (release) => {
      if (release.takedown !== undefined) throw taken(ref, release);
      if (release.yanked === undefined) return undefined;
      const { yanked: _yanked, ...rest } = release;
      return rest;
    });
  }

  /**
   * Takes a release down: recorded first (every endpoint answers 410 from
   * then on), then its objects are deleted. Asking again finishes a deletion
   * that storage interrupted; the first record stays.
   *
   * @throws {NotFoundError} when the release does not exist.
   * @throws {BadRequestError} for a missing or overlong reason.
   */
  async takedown(ref: PackageRef, version: string, withdrawal: Withdrawal): Promise<ReleaseRecord> {
    const record = this.#record(withdrawal);
    const release = await this.#change(ref, version, "release taken down", withdrawal, (release) => {
      if (release.takedown !== undefined) return undefined;
      const { yanked: _yanked, ...rest } = release;
      return { ...rest, takedown: record };
    });
    const entry: TakedownEntry = {
      package: ref.key,
      version,
      at: release.takedown!.at,
      keys: [
        keys.archive(ref, version, release.checksum),
        ...release.manifests.map((m) => keys.manifest(ref, version, release.checksum, m.filename)),
      ],
    };
    await this.#options.documents.update<TakedownList>(keys.takedowns(), (current) => {
      if (current?.releases.some((r) => r.package === entry.package && r.version === version)) return undefined;
      return { releases: [...current?.releases ?? [], entry] };
    });
    await this.sweep();
    return release;
  }

  /**
   * Deletes the objects of every takedown this process has not handled yet
   * (from the bucket, this node's disk and memory). Each node runs it
   * periodically, so no copy survives anywhere.
   *
   * @returns how many takedowns were handled.
   */
  async sweep(): Promise<number> {
    const list = await this.#options.documents.read<TakedownList>(keys.takedowns());
    let handled = 0;
    for (const entry of list?.releases ?? []) {
      const id = `${entry.package}@${entry.version}`;
      if (this.#swept.has(id)) continue;
      for (const key of entry.keys) await this.#options.artifacts.delete(key);
      this.#swept.add(id);
      handled++;
    }
    return handled;
  }

  #record(withdrawal: Withdrawal): WithdrawalRecord {
    return { at: wholeSecondIso(this.#options.clock()), by: withdrawal.by, reason: checkedReason(withdrawal.reason) };
  }

  /** Applies `change` to one release (compare-and-swap), updates the catalog and logs. */
  async #change(
    ref: PackageRef,
    version: string,
    message: string,
    withdrawal: Withdrawal,
    change: (release: ReleaseRecord) => ReleaseRecord | undefined,
  ): Promise<ReleaseRecord> {
    const pkg = await this.#options.publisher.update<PackageIndex>(ref, (current) => {
      const release = current?.releases[version];
      if (current === null || release === undefined) {
        throw new NotFoundError(`release ${version} of ${packageId(ref)} not found`);
      }
      const changed = change(release);
      return changed === undefined ? undefined : { ...current, releases: { ...current.releases, [version]: changed } };
    });
    const entry = catalogEntry(ref, pkg);
    if (entry === undefined) await this.#options.catalog.remove("swift", ref.key);
    else await this.#options.catalog.record(entry);
    this.#options.logger.log("info", message, {
      package: packageId(pkg),
      version,
      by: withdrawal.by,
      ...(withdrawal.reason ? { reason: withdrawal.reason } : {}),
    });
    return pkg.releases[version];
  }
}

/**
 * The reason of an admin action, trimmed.
 *
 * @throws {BadRequestError} when it is empty or longer than {@link MAX_REASON_LENGTH}.
 */
export function checkedReason(reason: string): string {
  const trimmed = reason.trim();
  if (trimmed === "") throw new BadRequestError("a reason is required");
  if (trimmed.length > MAX_REASON_LENGTH) {
    throw new BadRequestError(`the reason is longer than ${MAX_REASON_LENGTH} characters`);
  }
  return trimmed;
}

function taken(ref: PackageRef, release: ReleaseRecord): ConflictError {
  return new ConflictError(`release ${release.version} of ${packageId(ref)} was taken down; it cannot change`);
}
