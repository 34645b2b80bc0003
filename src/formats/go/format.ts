/**
 * The Go format: a module proxy (the GOPROXY protocol) under `/go`, on the
 * format-neutral core, with publishing, pull-through from an upstream proxy
 * and the checksum database passed through to it.
 *
 * @module
 */
import { Hono } from "hono";
import { stageStream } from "../../core/staging.ts";
import type { StagedFile } from "../../core/staging.ts";
import { BadRequestError, ConflictError, type RegistryError } from "../../errors.ts";
import type { AppEnv } from "../../http/middleware.ts";
import { textErrorResponse } from "../../http/problem.ts";
import { type Format, type FormatDefinition, type FormatServices, refusal } from "../format.ts";
import { MAX_ZIP_BYTES, zipLimitSetting } from "./module_zip.ts";
import { compileModulePatterns } from "./patterns.ts";
import { PullThrough } from "./pull_through.ts";
import { GoRegistry, type ModuleDocument, moduleRef, summarize } from "./registry.ts";
import { goPage } from "./page.ts";
import { createGoApi, GO_AUTH_CHALLENGE, GO_BASE_PATH, refOf } from "./routes.ts";

/** Builds the Go format. */
export function createGoFormat(services: FormatServices): Format {
  const { config } = services;
  const registry = new GoRegistry({
    publisher: services.publisher,
    artifacts: services.artifacts,
    archiveLimits: config.archiveLimits,
    now: services.now,
  });
  const maxZipBytes = Math.min(config.maxArchiveBytes, MAX_ZIP_BYTES);
  const exclude = compileModulePatterns(config.goExclude.join(","));
  const upstream = services.upstream("go", maxZipBytes);
  const pullThrough = upstream === undefined ? undefined : new PullThrough({
    upstream,
    registry,
    catalog: services.catalog,
    exclude,
    archiveLimits: config.archiveLimits,
    logger: services.logger,
  });
  const ref = (pkg: { scope?: string; name: string }) => {
    if (pkg.scope !== undefined) throw new BadRequestError(`Go modules have no scope (got "${pkg.scope}")`);
    return refOf(pkg.name, (why) => new BadRequestError(why));
  };
  return {
    id: "go",
    paths: [GO_BASE_PATH],
    uploadLimit: { bytes: maxZipBytes, setting: zipLimitSetting(maxZipBytes) },
    routes: (http) =>
      new Hono<AppEnv>().route(
        GO_BASE_PATH,
        createGoApi({
          registry,
          pullThrough,
          upstream,
          exclude,
          auth: http.auth,
          scratchDir: services.scratchDir,
          maxZipBytes,
          publicBaseUrl: http.publicBaseUrl,
          prepare: http.prepare,
          serve: http.serve,
          serveArtifact: http.serveArtifact,
          now: services.now,
        }),
      ),
    // As the go command shows it: the status, and the text body under "server response:".
    errorResponse: (error: RegistryError) => textErrorResponse(error, GO_AUTH_CHALLENGE),
    ref,
    catalogEntry: (document) => {
      const module = document as ModuleDocument;
      return Object.keys(module.versions).length === 0 ? null : summarize(moduleRef(module.path), module);
    },
    async versions(pkg) {
      const document = await registry.read(ref(pkg));
      if (document === null || Object.keys(document.versions).length === 0) return null;
      return Object.fromEntries(
        Object.values(document.versions).map((v) => [v.version, { publishedAt: v.time, metadata: {} }]),
      );
    },
    async ingest(pkg, release) {
      let zip: StagedFile | undefined;
      try {
        zip = await stageStream(services.scratchDir, release.archive, maxZipBytes);
        const prepared = await registry.prepare({ ref: ref(pkg), version: release.version, zip }, {
          transforms: "ingest",
        });
        const document = await prepared.commit();
        return { status: "published", checksum: document.versions[release.version].zip.sha256 };
      } catch (error) {
        if (error instanceof ConflictError) return { status: "exists" };
        return refusal(error);
      } finally {
        await zip?.dispose();
      }
    },
    async page(pkg, request) {
      const module = ref(pkg);
      const document = await registry.read(module);
      return document === null ? null : await goPage(document, module, request, services.readmes);
    },
  };
}

/** The Go format's definition (see `src/formats/index.ts`). */
export const goFormat: FormatDefinition = { id: "go", create: createGoFormat };
