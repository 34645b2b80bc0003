/**
 * The npm format: the npm registry API under `/npm`, on the format-neutral
 * core, with pull-through from `REGISTRY_NPM_UPSTREAM`.
 *
 * @module
 */
import { Hono } from "hono";
import * as semver from "semver";
import { type StagedFile, stageStream } from "../../core/staging.ts";
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError, type RegistryError } from "../../errors.ts";
import type { AppEnv } from "../../http/middleware.ts";
import { errorHeaders } from "../../http/problem.ts";
import { type Format, type FormatDefinition, type FormatServices, refusal } from "../format.ts";
import { npmRef, npmRefOf } from "./names.ts";
import { type NpmPackageDocument, summarize } from "./document.ts";
import { NpmRegistry } from "./registry.ts";
import { createNpmApi, MAX_DOCUMENT_BYTES, NPM_AUTH_CHALLENGE, NPM_BASE_PATH } from "./routes.ts";
import { inspectTarball } from "./tarball.ts";
import { NpmUpstream } from "./upstream.ts";
import { npmPage, npmUpstreamPage } from "./page.ts";

/** Builds the npm format. */
export function createNpmFormat(services: FormatServices): Format {
  const { config } = services;
  const registry = new NpmRegistry({
    publisher: services.publisher,
    documents: services.documents,
    artifacts: services.artifacts,
    catalog: services.catalog,
    archiveLimits: config.archiveLimits,
    now: services.now,
    logger: services.logger,
  });
  const core = services.upstream("npm", config.maxArchiveBytes);
  const upstream = core === undefined ? undefined : new NpmUpstream({
    upstream: core,
    store: services.store,
    documents: services.documents,
    catalog: services.catalog,
    ttlMs: config.upstreams.npm?.ttlMs ?? 0,
    now: services.now,
  });
  return {
    id: "npm",
    paths: [NPM_BASE_PATH],
    // The tarball travels as base64 (4 bytes for every 3) inside the JSON document.
    uploadLimit: {
      bytes: Math.ceil(config.maxArchiveBytes / 3) * 4 + MAX_DOCUMENT_BYTES,
      setting: "REGISTRY_MAX_ARCHIVE_BYTES as base64, plus room for the publish document",
    },
    routes: (http) =>
      new Hono<AppEnv>().route(
        NPM_BASE_PATH,
        createNpmApi({
          registry,
          upstream,
          auth: http.auth,
          catalog: services.catalog,
          scratchDir: services.scratchDir,
          maxArchiveBytes: config.maxArchiveBytes,
          publicBaseUrl: http.publicBaseUrl,
          prepare: http.prepare,
          serve: http.serve,
          serveArtifact: http.serveArtifact,
          logger: services.logger,
        }),
      ),
    errorResponse: (error: RegistryError) =>
      new Response(JSON.stringify({ error: error.message }), {
        status: error.status,
        headers: { ...errorHeaders(error, NPM_AUTH_CHALLENGE), "Content-Type": "application/json" },
      }),
    ref: npmRefOf,
    catalogEntry: (document) => {
      const doc = document as NpmPackageDocument;
      return Object.keys(doc.versions).length === 0 ? null : summarize(npmRef(doc.name), doc, "local");
    },
    async page(pkg, request) {
      const ref = npmRefOf(pkg);
      const doc = await registry.read(ref);
      if (doc !== null && Object.keys(doc.versions).length > 0) return npmPage(doc, ref, request);
      if (upstream === undefined) return null;
      try {
        return npmUpstreamPage(await upstream.raw(ref), ref, request);
      } catch (error) {
        if (error instanceof NotFoundError) return null;
        throw error;
      }
    },
    async versions(ref) {
      const doc = await registry.read(npmRefOf(ref));
      if (doc === null || Object.keys(doc.versions).length === 0) return null;
      return Object.fromEntries(
        Object.entries(doc.versions).map(([v, r]) => [v, { publishedAt: r.publishedAt, metadata: r.manifest }]),
      );
    },
    // A tarball from a source becomes a version as `npm publish` would make it: the version document is its
    // package.json; `latest` moves to it when it is the highest release.
    async ingest(pkg, release) {
      let tarball: StagedFile | undefined;
      try {
        const ref = npmRefOf(pkg);
        tarball = await stageStream(services.scratchDir, release.archive, config.maxArchiveBytes);
        if (semver.valid(release.version) !== release.version) {
          throw new BadRequestError(`"${release.version}" is not a valid semantic version`);
        }
        // The version document comes from the tarball (the publish checks that it names this version).
        const inspection = await inspectTarball(tarball.path, config.archiveLimits);
        const { packageJson, readme } = inspection;
        const input = {
          ref,
          version: release.version,
          manifest: { ...packageJson, _id: `${ref.id}@${release.version}` },
          ...(readme === undefined ? {} : { readme }),
          tarball,
          inspection,
          tags: "auto" as const,
        };
        const doc = await registry.publish(input, { transforms: "ingest" });
        return { status: "published", checksum: doc.versions[release.version].tarball.sha256 };
      } catch (error) {
        if (error instanceof ConflictError || error instanceof ForbiddenError) return { status: "exists" };
        return refusal(error);
      } finally {
        await tarball?.dispose();
      }
    },
  };
}

/** The npm format's definition (see `src/formats/index.ts`). */
export const npmFormat: FormatDefinition = { id: "npm", create: createNpmFormat };
