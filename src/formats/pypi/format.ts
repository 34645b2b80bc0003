/**
 * The PyPI format under `/pypi`: the simple repository API that pip reads,
 * the upload API that twine speaks, yanking, and pull-through from an
 * upstream index, on the format-neutral core.
 *
 * @module
 */
import { Hono } from "hono";
import { type StagedFile, stageStream } from "../../core/staging.ts";
import { BadRequestError, ConflictError, type RegistryError } from "../../errors.ts";
import type { AppEnv } from "../../http/middleware.ts";
import { textErrorResponse } from "../../http/problem.ts";
import { type Format, type FormatDefinition, type FormatServices, refusal } from "../format.ts";
import { checkFilenameAgrees, checkVersion, parseDistributionFilename } from "./names.ts";
import { filesByRelease, type PypiProject, refOf } from "./project.ts";
import { UpstreamProjects } from "./proxy.ts";
import { pypiPage, pypiUpstreamPage } from "./web_page.ts";
import { PypiRegistry, summarize } from "./registry.ts";
import { createPypiApi, PYPI_AUTH_CHALLENGE, PYPI_BASE_PATH } from "./routes.ts";
import { MAX_FIELD_BYTES, publish } from "./upload.ts";

/** The PyPI format of a process, with its registry (for commands and tests). */
export interface PypiFormat extends Format {
  readonly registry: PypiRegistry;
}

/** Builds the PyPI format. */
export function createPypiFormat(services: FormatServices): PypiFormat {
  const { config } = services;
  const registry = new PypiRegistry({
    publisher: services.publisher,
    artifacts: services.artifacts,
    archiveLimits: config.archiveLimits,
    now: services.now,
  });
  const upstream = services.upstream("pypi", config.maxArchiveBytes);
  const upstreamProjects = upstream === undefined ? undefined : new UpstreamProjects({
    upstream,
    ttlMs: config.upstreams.pypi.ttlMs,
    catalog: services.catalog,
    store: services.store,
    now: services.now,
  });
  return {
    id: "pypi",
    paths: [PYPI_BASE_PATH],
    uploadLimit: {
      bytes: config.maxArchiveBytes + MAX_FIELD_BYTES + 1024 * 1024,
      setting: "REGISTRY_MAX_ARCHIVE_BYTES, plus room for the upload's fields",
    },
    registry,
    routes: (http) =>
      new Hono<AppEnv>().route(
        PYPI_BASE_PATH,
        createPypiApi({
          registry,
          upstream: upstreamProjects,
          catalog: services.catalog,
          auth: http.auth,
          scratchDir: services.scratchDir,
          maxFileBytes: config.maxArchiveBytes,
          publicBaseUrl: http.publicBaseUrl,
          prepare: http.prepare,
          serve: http.serve,
          serveArtifact: http.serveArtifact,
        }),
      ),
    // Plain text, as pip and twine show it; a conflict is 400 (what twine recognises).
    errorResponse: (error: RegistryError) =>
      textErrorResponse(error, PYPI_AUTH_CHALLENGE, error.status === 409 ? 400 : error.status),
    ref: refOf,
    catalogEntry: (document) => {
      const project = document as PypiProject;
      return Object.keys(project.files).length === 0
        ? null
        : summarize(refOf({ format: "pypi", name: project.name }), project);
    },
    async page(pkg, request) {
      const ref = refOf(pkg);
      const project = await registry.project(ref);
      if (project !== null && Object.keys(project.files).length > 0) {
        return await pypiPage(project, ref, request, (file) => registry.readMetadata(ref, file));
      }
      const fromUpstream = await upstreamProjects?.project(ref);
      return fromUpstream ? pypiUpstreamPage(fromUpstream, request) : null;
    },
    async versions(ref) {
      const project = await registry.project(ref);
      if (project === null) return null;
      const byRelease = filesByRelease(project);
      return Object.fromEntries(
        Object.entries(project.releases).map(([id, release]) => {
          const own = byRelease.get(id) ?? [];
          return [release.version, {
            publishedAt: own.map((f) => f.uploadedAt).sort()[0],
            metadata: {
              files: own.map((f) => f.filename).sort(),
              ...(release.yanked ? { yanked: release.yanked.reason } : {}),
            },
          }];
        }),
      );
    },
    async ingest(ref, release) {
      let archive: StagedFile | undefined;
      try {
        archive = await stageStream(services.scratchDir, release.archive, config.maxArchiveBytes);
        const filename = release.filename;
        if (filename === undefined) throw new BadRequestError("a PyPI release needs the file's name (filename)");
        const version = checkVersion(release.version);
        const file = parseDistributionFilename(filename);
        checkFilenameAgrees(file, filename, ref.name, version);
        const project = await publish(
          registry,
          { ref, version, filename, file, archive, metadata: release.metadata },
          "ingest",
        );
        return { status: "published", checksum: project.files[filename].sha256 };
      } catch (error) {
        if (error instanceof ConflictError) return { status: "exists" };
        return refusal(error);
      } finally {
        await archive?.dispose();
      }
    },
  };
}

/** The PyPI format's definition (see `src/formats/index.ts`). */
export const pypiFormat: FormatDefinition = { id: "pypi", create: createPypiFormat };
