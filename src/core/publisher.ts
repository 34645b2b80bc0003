/**
 * The publish pipeline every format shares: claim the version, check it is
 * free, run the artifact transforms, let the format validate the final
 * artifact, store its blobs, commit it into the package document with
 * compare-and-swap, then run the `afterPublish` hooks.
 *
 * The package document update is the single commit point: a crash before it
 * leaves unreferenced blobs and no release; after it, the whole release.
 * Exactly one of several concurrent publishes of a version commits: the
 * version is claimed in this process, and the commit is a compare-and-swap.
 * An asynchronous publish, answered 202 before it commits, also claims the
 * version for the whole cluster (a lease in storage, renewed while it runs),
 * so it never later loses to another node: the loser gets its 409 at once.
 *
 * @module
 */
import type { PublishedRelease } from "../../plugins/types.ts";
import {
  ConflictError,
  InsufficientStorageError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  UnprocessableError,
} from "../errors.ts";
import type { Logger } from "../log.ts";
import { callHook, HOOK_TIMEOUT_MS } from "../plugins/hooks.ts";
import type { NamedTransform } from "../plugins/host.ts";
import type { DocumentCache } from "../storage/document_cache.ts";
import { ContentionError } from "../storage/json_document.ts";
import type { Lease, LeaseManager } from "../storage/leases.ts";
import type { Catalog, CatalogEntry } from "./catalog.ts";
import { keySegment, packageDocumentKey, packageName, type PackageRef } from "./package.ts";
import { type StagedFile, stageStream } from "./staging.ts";

/** An artifact and its metadata as they stand after the transforms. */
export interface FinalArtifact {
  artifact: StagedFile;
  metadata: Record<string, unknown>;
}

/**
 * One publish, as a format describes it to the pipeline. `D` is the format's
 * package document, `V` what its validation learned about the artifact.
 */
export interface PublishPlan<D, V> {
  ref: PackageRef;
  version: string;
  /** The artifact as received (staged on disk); the caller disposes of it. */
  artifact: StagedFile;
  metadata: Record<string, unknown>;
  /** The artifact's file name, where the format has one. */
  filename?: string;
  /**
   * What the publish claims while it runs (default: the version). A format
   * whose versions hold several artifacts claims the artifact (PyPI: the file
   * name), so uploads of a version's wheels and sdist may run side by side.
   */
  claim?: string;
  /** A signed release: a transform that would change it refuses it instead. */
  sealed?: boolean;
  /** @throws {ConflictError} when `document` already holds this release. */
  ensureAbsent(document: D | null): void;
  /** Validates the final artifact. @throws a client error (422, 413, ...) naming the problem. */
  validate(final: FinalArtifact): Promise<V>;
  /** Writes the release's blobs (under keys that include their checksum). */
  store(final: FinalArtifact, validated: V): Promise<void>;
  /**
   * The package document with the release added, or `undefined` when it
   * already holds exactly this publish (a write whose answer was lost). Runs
   * inside the compare-and-swap and may run more than once.
   *
   * @throws {ConflictError} when the release was taken meanwhile.
   */
  commit(document: D | null, final: FinalArtifact, validated: V): D | undefined;
  /** Removes the blobs `store` wrote after a lost commit, unless `winner` uses the same ones. */
  discard(final: FinalArtifact, validated: V, winner: D | null): Promise<void>;
  /** The package's catalog entry after the commit (for listings and search). */
  summarize(document: D): CatalogEntry;
}

/** A validated publish holding its version's claim: commit it, or abandon it to free the claim. */
export interface PreparedPublish<D> {
  /** Stores the blobs and commits the release (frees the claim either way). Returns the stored document. */
  commit(): Promise<D>;
  /** Frees the claim without storing anything. */
  abandon(): Promise<void>;
}

/** A release this process committed, for the operators' status. */
export interface RecentPublish {
  format: string;
  /** How clients write the package's name. */
  id: string;
  /** The package's key within its format. */
  key: string;
  version: string;
  checksum: string;
  /** ISO 8601 time of the commit. */
  at: string;
  /** Whether a client published it or an ingestion source (a mirror) did. */
  via: TransformSet;
}

/** How many commits {@link Publisher.recent} remembers. */
export const RECENT_PUBLISHES = 50;

/** Which transforms a publish runs: those of a publish by a client, or of ingestion (mirrors, sources). */
export type TransformSet = "publish" | "ingest";

/** Options of {@link Publisher.prepare}. */
export interface PrepareOptions {
  /** Which transforms run (default `publish`). */
  transforms?: TransformSet;
  /**
   * Claim the version across the cluster before anything else (for a publish
   * answered before it commits). A claim left by a crashed node lapses after
   * a minute.
   */
  claimCluster?: boolean;
}

/** Dependencies of a {@link Publisher}. */
export interface PublisherOptions {
  /** The package documents. */
  documents: DocumentCache;
  /** Cluster-wide claims of versions being published. */
  claims: LeaseManager;
  transforms: Record<TransformSet, NamedTransform[]>;
  /** Runs the `afterPublish` hooks (failures are the callee's to log). */
  afterPublish: (release: PublishedRelease) => Promise<void>;
  /** Package summaries, updated after each commit. */
  catalog: Catalog;
  /** Where transformed artifacts are staged. */
  scratchDir: string;
  logger: Logger;
  /** The clock (recent publishes); default `Date.now`. */
  now?: () => number;
}

/** How long a cluster claim holds a version unless renewed (it is renewed every third of it while held). */
const CLAIM_TTL_MS = 60_000;

/** Runs publishes of every format through one pipeline. */
export class Publisher {
  readonly #options: PublisherOptions;
  readonly #inFlight = new Set<string>();
  readonly #background = new Set<Promise<void>>();
  readonly #recent: RecentPublish[] = [];

  constructor(options: PublisherOptions) {
    this.#options = options;
  }

  /** The releases this process committed last, newest first (at most 50). */
  recent(): RecentPublish[] {
    return [...this.#recent];
  }

  /** Reads a package document (`null` when the package has none). */
  read<D>(ref: PackageRef): Promise<D | null> {
    return this.#options.documents.read<D>(packageDocumentKey(ref));
  }

  /**
   * Whether `document` (as {@link read} returned it) is still the package's
   * current document, answered from memory: the freshness of responses
   * prepared from it (`HttpServices.serve`).
   */
  stillCurrent(ref: PackageRef, document: unknown): () => boolean {
    const key = packageDocumentKey(ref);
    const documents = this.#options.documents;
    return () => documents.isCurrent(key, document);
  }

  /**
   * Changes a package document with compare-and-swap (yank, tags,
   * deprecation: whatever a format keeps there besides its releases).
   */
  update<D>(ref: PackageRef, mutate: (current: D | null) => D | undefined): Promise<D> {
    return this.#options.documents.update<D>(packageDocumentKey(ref), mutate);
  }

  /**
   * Validates a publish without storing anything: claims the version, checks
   * it is free, runs the transforms and the format's validation. The handle
   * stores and commits it.
   *
   * @throws {ConflictError} when the version exists or is being published.
   * @throws a client error when the artifact is refused.
   */
  async prepare<D, V>(plan: PublishPlan<D, V>, options: PrepareOptions = {}): Promise<PreparedPublish<D>> {
    const { ref, version } = plan;
    const claim = await this.#claim(plan, options.claimCluster ?? false);
    const staged: StagedFile[] = [];
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      await claim.release();
      for (const file of staged) await file.dispose();
    };
    let final: FinalArtifact;
    let validated: V;
    try {
      plan.ensureAbsent(await this.read<D>(ref));
      final = await this.#transform(plan, this.#options.transforms[options.transforms ?? "publish"], staged);
      validated = await plan.validate(final);
    } catch (error) {
      await release();
      throw error;
    }
    return {
      commit: async () => {
        try {
          const document = await this.#commit(plan, final, validated);
          this.#remember(plan, final, options.transforms ?? "publish");
          await this.#options.catalog.record(plan.summarize(document));
          this.#runAfterPublish({
            format: ref.format,
            package: packageName(ref),
            id: ref.id,
            version,
            checksum: final.artifact.sha256Hex,
            metadata: final.metadata,
          });
          return document;
        } catch (error) {
          if (error instanceof ContentionError) throw new ServiceUnavailableError("storage is busy, try again", 1);
          throw error;
        } finally {
          await release();
        }
      },
      abandon: release,
    };
  }

  /** Waits for `afterPublish` hooks still running (for shutdown and tests). */
  async settle(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
  }

  /**
   * Claims the version in this process and, when asked, in the cluster (a
   * lease renewed every third of its TTL until released). A claim lost
   * meanwhile is no danger: the commit's compare-and-swap still lets one win.
   */
  async #claim(plan: PublishPlan<unknown, unknown>, cluster: boolean): Promise<{ release(): Promise<void> }> {
    const { ref } = plan;
    const claimed = plan.claim ?? plan.version;
    const local = `${ref.format}:${ref.key}@${claimed}`;
    const what = plan.claim ?? `release ${plan.version}`;
    const busy = () => new ConflictError(`${what} of ${ref.id} is already being published`);
    if (this.#inFlight.has(local)) throw busy();
    this.#inFlight.add(local);
    if (!cluster) return { release: () => Promise.resolve(void this.#inFlight.delete(local)) };
    const { claims } = this.#options;
    let lease: Lease | null;
    try {
      lease = await claims.acquire(`${ref.format}/${ref.key}/${keySegment(claimed)}`, CLAIM_TTL_MS);
    } catch (error) {
      this.#inFlight.delete(local);
      throw error;
    }
    if (lease === null) {
      this.#inFlight.delete(local);
      throw busy();
    }
    const renewal = setInterval(() => {
      if (lease !== null) claims.renew(lease, CLAIM_TTL_MS).then((renewed) => lease = renewed, () => {});
    }, CLAIM_TTL_MS / 3);
    return {
      release: async () => {
        clearInterval(renewal);
        this.#inFlight.delete(local);
        if (lease !== null) await claims.remove(lease).catch(() => {});
      },
    };
  }

  /**
   * Runs the transforms in order; each may refuse the release, replace the
   * artifact (staged anew, recorded in `staged` for disposal) or add metadata.
   */
  async #transform<D, V>(
    plan: PublishPlan<D, V>,
    transforms: NamedTransform[],
    staged: StagedFile[],
  ): Promise<FinalArtifact> {
    let current: FinalArtifact = { artifact: plan.artifact, metadata: plan.metadata };
    for (const { plugin, transform } of transforms) {
      const step = await this.#runTransform(plugin, transform, plan, current);
      if (step.artifact !== undefined) staged.push(step.artifact);
      const changed = step.artifact !== undefined || step.metadata !== undefined;
      if (changed && plan.sealed) {
        throw new UnprocessableError(`${transform.name}: a signed release cannot be changed by a transform`);
      }
      current = {
        artifact: step.artifact ?? current.artifact,
        metadata: step.metadata === undefined ? current.metadata : { ...current.metadata, ...step.metadata },
      };
    }
    return current;
  }

  /**
   * One transform, its replacement staged, under one deadline that grows with
   * the artifact (10 s, plus 1 s per 10 MiB). The input file stays open until
   * the replacement is staged, so a transform may pass it through.
   */
  async #runTransform<D, V>(
    plugin: string,
    transform: NamedTransform["transform"],
    plan: PublishPlan<D, V>,
    current: FinalArtifact,
  ): Promise<{ artifact?: StagedFile; metadata?: Record<string, unknown> }> {
    const file = await Deno.open(current.artifact.path, { read: true });
    let late = false;
    const work = async () => {
      const result = await transform.transform({
        format: plan.ref.format,
        package: packageName(plan.ref),
        version: plan.version,
        archive: file.readable,
        size: current.artifact.size,
        metadata: current.metadata,
        ...(plan.filename === undefined ? {} : { filename: plan.filename }),
      });
      if (typeof result !== "object" || result === null) throw new Error("transform returned no result object");
      if (result.reject !== undefined) {
        await result.archive?.cancel();
        const detail = `${transform.name}: ${result.reject}`;
        throw result.status === 413 ? new PayloadTooLargeError(detail) : new UnprocessableError(detail);
      }
      const artifact = result.archive ? await stageStream(this.#options.scratchDir, result.archive) : undefined;
      if (late) {
        await artifact?.dispose(); // the deadline passed: nobody will use it
        return {};
      }
      return { artifact, metadata: result.metadata };
    };
    try {
      return await callHook(
        plugin,
        work,
        HOOK_TIMEOUT_MS + Math.ceil(current.artifact.size / (10 * 1024 * 1024)) * 1000,
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

  async #commit<D, V>(plan: PublishPlan<D, V>, final: FinalArtifact, validated: V): Promise<D> {
    try {
      await plan.store(final, validated);
      const document = await this.update<D>(plan.ref, (current) => plan.commit(current, final, validated));
      this.#options.logger.log("info", "release published", {
        format: plan.ref.format,
        package: plan.ref.id,
        version: plan.version,
        checksum: final.artifact.sha256Hex,
        size: final.artifact.size,
      });
      return document;
    } catch (error) {
      // Another publish won, or a write found the disk full (so the release did
      // not land): drop our blobs unless they are the committed release's too.
      if (error instanceof ConflictError || error instanceof InsufficientStorageError) {
        await plan.discard(final, validated, await this.read<D>(plan.ref));
      }
      throw error;
    }
  }

  #remember(plan: PublishPlan<unknown, unknown>, final: FinalArtifact, via: TransformSet): void {
    const { ref, version } = plan;
    const at = new Date((this.#options.now ?? Date.now)()).toISOString();
    const checksum = final.artifact.sha256Hex;
    this.#recent.unshift({ format: ref.format, id: ref.id, key: ref.key, version, checksum, at, via });
    this.#recent.length = Math.min(this.#recent.length, RECENT_PUBLISHES);
  }

  #runAfterPublish(release: PublishedRelease): void {
    // Lifecycle hooks run after the answer, never holding it up; shutdown waits for them.
    const hooks = this.#options.afterPublish(release)
      .catch((error) => this.#options.logger.log("error", "afterPublish failed", { error: String(error) }))
      .finally(() => this.#background.delete(hooks));
    this.#background.add(hooks);
  }
}
