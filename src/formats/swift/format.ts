/**
 * The Swift format: the Swift Package Registry API (SE-0292) under `/swift`,
 * on the format-neutral core.
 *
 * @module
 */
import { Hono } from "hono";
import { PublishJobs } from "../../core/publish_jobs.ts";
import type { AppEnv } from "../../http/middleware.ts";
import { type StagedFile, stageStream } from "../../core/staging.ts";
import { ConflictError, type RegistryError, SignerChangeError } from "../../errors.ts";
import { problemFromError } from "../../http/problem.ts";
import { type Format, type FormatDefinition, type FormatServices, refusal } from "../format.ts";
import { type PackageRef, packageRef } from "./identity.ts";
import type { PublishedRelease } from "./publish.ts";
import { Moderation } from "./moderation.ts";
import { SignerContinuity } from "./continuity.ts";
import { SigningPolicy } from "./signing.ts";
import { catalogEntry, SwiftRegistry } from "./registry.ts";
import { SwiftSearch } from "./search.ts";
import { SwiftUpstream } from "./upstream.ts";
import { checkReleaseMetadata, MAX_METADATA_BYTES, type PackageIndex } from "./release.ts";
import { createSwiftApi, SWIFT_AUTH_CHALLENGE, SWIFT_BASE_PATH } from "./routes.ts";
import { parseVersion } from "./version.ts";
import { swiftPage, swiftUpstreamPage } from "./page.ts";

/** The Swift format of a process, with its registry (for the built-in mirrors), moderation and signer continuity (for the CLI). */
export interface SwiftFormat extends Format {
  readonly registry: SwiftRegistry;
  readonly moderation: Moderation;
  readonly continuity: SignerContinuity;
}

/** How often each node deletes its copies of releases taken down elsewhere. */
const TAKEDOWN_SWEEP_INTERVAL_MS = 60_000;

/** Builds the Swift format. */
export function createSwiftFormat(services: FormatServices): SwiftFormat {
  const { config } = services;
  const clock = () => new Date(services.now());
  const registry = new SwiftRegistry({
    publisher: services.publisher,
    artifacts: services.artifacts,
    documents: services.documents,
    signing: new SigningPolicy({
      trustedRoots: config.swift.trustedRoots,
      requireSigned: config.swift.requireSigned,
      now: clock,
    }),
    archiveLimits: config.archiveLimits,
    clock,
  });
  const continuity = new SignerContinuity({ publisher: services.publisher, logger: services.logger, clock });
  const moderation = new Moderation({
    publisher: services.publisher,
    artifacts: services.artifacts,
    documents: services.documents,
    catalog: services.catalog,
    logger: services.logger,
    clock,
  });
  const pullThrough = services.upstream("swift", config.maxArchiveBytes);
  const upstream = pullThrough && new SwiftUpstream({
    upstream: pullThrough,
    scopes: config.swift.upstreamScopes,
    documents: services.documents,
    store: services.store,
    artifacts: services.artifacts,
    catalog: services.catalog,
    logger: services.logger,
  });
  const search = new SwiftSearch({
    catalog: services.catalog,
    versionsOf: async (scope, name) => {
      const ref = packageRef(scope, name);
      const pkg = await registry.getPackage(ref);
      if (pkg !== null) return Object.values(pkg.releases).filter((r) => !r.takedown).map((r) => r.version);
      if (upstream === undefined || !await upstream.fills(ref)) return null;
      // An upstream that fails leaves the version unknown rather than failing the search.
      const listing = await upstream.listing(ref).catch(() => null);
      return listing?.releases.filter((r) => !r.problem).map((r) => r.version) ?? null;
    },
  });
  const publishJobs = new PublishJobs<PublishedRelease>(undefined, services.now, services.peers);
  const asSwiftRef = (ref: { scope?: string; name: string }): PackageRef => packageRef(ref.scope ?? "", ref.name);
  return {
    id: "swift",
    paths: [SWIFT_BASE_PATH],
    // The archive, and room for the metadata part, two signatures and the multipart envelope.
    uploadLimit: {
      bytes: config.maxArchiveBytes + MAX_METADATA_BYTES + 512 * 1024,
      setting: "REGISTRY_MAX_ARCHIVE_BYTES, plus room for metadata and signatures",
    },
    registry,
    moderation,
    continuity,
    // Every node deletes its own copies of releases taken down anywhere (no lease: each node's disk is its own).
    schedule: (scheduler) =>
      scheduler.add({
        name: "swift-takedown-sweep",
        intervalMs: TAKEDOWN_SWEEP_INTERVAL_MS,
        run: async () => void await moderation.sweep(),
      }),
    routes: (http) =>
      new Hono<AppEnv>().route(
        SWIFT_BASE_PATH,
        createSwiftApi({
          registry,
          moderation,
          continuity,
          search,
          upstream,
          pageSize: config.swift.pageSize,
          auth: http.auth,
          publishJobs,
          scratchDir: services.scratchDir,
          maxArchiveBytes: config.maxArchiveBytes,
          status: http.status,
          publicBaseUrl: http.publicBaseUrl,
          prepare: http.prepare,
          serve: http.serve,
          serveArtifact: http.serveArtifact,
          logger: services.logger,
        }),
      ),
    errorResponse: (error: RegistryError) => problemFromError(error, SWIFT_AUTH_CHALLENGE, { "Content-Version": "1" }),
    ref: asSwiftRef,
    async versions(ref) {
      const pkg = await registry.getPackage(asSwiftRef(ref));
      if (pkg === null) return null;
      return Object.fromEntries(
        Object.values(pkg.releases).map((r) => [r.version, { publishedAt: r.publishedAt, metadata: r.metadata }]),
      );
    },
    async ingest(ref, release) {
      let archive: StagedFile | undefined;
      try {
        archive = await stageStream(services.scratchDir, release.archive, config.maxArchiveBytes);
        const version = parseVersion(release.version);
        const metadata = checkReleaseMetadata(release.metadata ?? {});
        const prepared = await registry.prepare({ ref: asSwiftRef(ref), version, archive, metadata }, {
          transforms: "ingest",
        });
        const pkg = await prepared.commit();
        return { status: "published", checksum: pkg.releases[version].checksum };
      } catch (error) {
        // A signer conflict is a refusal: the version is still free.
        if (error instanceof ConflictError && !(error instanceof SignerChangeError)) return { status: "exists" };
        return refusal(error);
      } finally {
        await archive?.dispose();
      }
    },
    catalogEntry: (document) => {
      const pkg = document as PackageIndex;
      return catalogEntry(packageRef(pkg.scope, pkg.name), pkg) ?? null;
    },
    async page(ref, request) {
      const swiftRef = asSwiftRef(ref);
      const pkg = await registry.getPackage(swiftRef);
      if (pkg !== null) return await swiftPage(pkg, swiftRef, request, services.readmes);
      if (upstream === undefined || !await upstream.fills(swiftRef)) return null;
      const listing = await upstream.listing(swiftRef);
      if (listing === null) return null;
      return await swiftUpstreamPage(listing, swiftRef, request, upstream, services.store, services.readmes);
    },
    close: () => publishJobs.settle(),
  };
}

/** The Swift format's definition (see `src/formats/index.ts`). */
export const swiftFormat: FormatDefinition = { id: "swift", create: createSwiftFormat };
