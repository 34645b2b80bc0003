/**
 * The build cache as a format: the bazel-remote HTTP protocol under `/cache`
 * (bazel, ccache) and Tuist's cache API under `/api/cache`, on the registry's
 * storage, auth, metrics and scheduler.
 *
 * Unlike the package formats it has no packages, versions or publish
 * pipeline: its entries are blobs that are overwritten (action cache) or
 * stored once without review (CAS), evicted when the cache is full, and
 * written thousands of times per build. Package documents, claims, plugin
 * transforms and catalog entries would cost every write several storage
 * round trips and keep records of what is meant to vanish, so it uses the
 * services it needs instead: a store with its own disk budget, the auth
 * chain, metrics, and scheduled sweeps holding a lease.
 *
 * @module
 */
import { hostname } from "node:os";
import { Hono } from "hono";
import { keySegment } from "../../core/package.ts";
import { BadRequestError, type RegistryError, UnprocessableError } from "../../errors.ts";
import type { AppEnv } from "../../http/middleware.ts";
import { errorHeaders, textErrorResponse } from "../../http/problem.ts";
import { SHARED_METADATA_MAX_AGE_MS } from "../../storage/open_storage.ts";
import { type Format, type FormatDefinition, type FormatServices, refusal } from "../format.ts";
import { AccessStamps } from "./access_stamps.ts";
import { BAZEL_AUTH_CHALLENGE, BAZEL_BASE_PATH, BAZEL_CACHE_REF, createBazelApi } from "./bazel_api.ts";
import { BlobCache } from "./blobs.ts";
import { tuistProject } from "./keys.ts";
import { CacheMetrics } from "./metrics.ts";
import { readUsage, Sweeper, UsageEstimate } from "./sweeper.ts";
import { createTuistApi, TUIST_AUTH_CHALLENGE, TUIST_BASE_PATH, tuistProjectRef } from "./tuist_api.ts";

/** Name of the scheduled sweep (one node at a time). */
const SWEEP_JOB = "cache-sweep";
/** Name of the scheduled write of this node's access stamps. */
const STAMPS_JOB = "cache-access-stamps";

const SWEEP_INTERVAL_MS = 5 * 60_000;
const STAMPS_INTERVAL_MS = 60_000;

/** Builds the build-cache format. */
export async function createCacheFormat(services: FormatServices): Promise<Format> {
  const { config, logger, now } = services;
  const store = await services.separateStore("build", config.cache.maxBytes);
  let requestSweep = () => {};
  const usage = new UsageEstimate(config.cache.maxBytes, () => requestSweep());
  const metrics = new CacheMetrics(services.metrics.registry, () => usage.bytes);
  const stamps = new AccessStamps({ store, node: `${keySegment(hostname())}-${crypto.randomUUID().slice(0, 8)}`, now });
  const blobs = new BlobCache({
    store,
    scratchDir: services.scratchDir,
    maxBlobBytes: config.cache.maxBlobBytes,
    memoryBytes: config.memoryCacheBytes,
    // Other nodes write to the same bucket: copies of mutable entries are re-checked this often.
    sharedMaxAgeMs: config.s3 === undefined ? Infinity : SHARED_METADATA_MAX_AGE_MS,
    now,
    metrics,
    onRead: (key) => stamps.touch(key),
    onStored: (size) => usage.stored(size),
  });
  const sweeper = new Sweeper({
    store,
    maxBytes: config.cache.maxBytes,
    now,
    logger,
    onEvict(key, namespace) {
      blobs.forget(key);
      metrics.evictions.inc(CacheMetrics.labels(namespace));
    },
  });
  usage.counted(await readUsage(store).catch(() => null));

  return {
    id: "cache",
    paths: [BAZEL_BASE_PATH, TUIST_BASE_PATH],
    uploadLimit: { bytes: config.cache.maxBlobBytes, setting: "REGISTRY_CACHE_MAX_BLOB_BYTES" },
    routes: (http) =>
      new Hono<AppEnv>()
        .route("/", createBazelApi({ blobs, http }))
        .route("/", createTuistApi({ blobs, http })),
    errorResponse: (error: RegistryError, path: string) =>
      path === TUIST_BASE_PATH || path.startsWith(`${TUIST_BASE_PATH}/`)
        ? Response.json({ message: error.message }, {
          status: error.status,
          headers: errorHeaders(error, TUIST_AUTH_CHALLENGE),
        })
        : textErrorResponse(error, BAZEL_AUTH_CHALLENGE),
    ref(pkg) {
      if (pkg.scope !== undefined) return tuistProjectRef(tuistProject(pkg.scope, pkg.name));
      if (pkg.name === BAZEL_CACHE_REF.name) return BAZEL_CACHE_REF;
      throw new BadRequestError(`the build cache has "bazel" and Tuist projects (account/project), not "${pkg.name}"`);
    },
    versions: () => Promise.resolve(null),
    ingest: () =>
      Promise.resolve(refusal(new UnprocessableError("the build cache takes blobs from build tools, not releases"))),
    schedule(scheduler) {
      requestSweep = () => scheduler.requestRun(SWEEP_JOB);
      scheduler.add({
        name: SWEEP_JOB,
        intervalMs: SWEEP_INTERVAL_MS,
        leaseTtlMs: 2 * 60_000,
        run: async (signal) => usage.counted(await sweeper.sweep(signal)),
      });
      scheduler.add({
        name: STAMPS_JOB,
        intervalMs: STAMPS_INTERVAL_MS,
        run: async () => {
          await stamps.flush();
          usage.counted(await readUsage(store));
        },
      });
    },
    async close() {
      await stamps.flush().catch((error) =>
        logger.log("warn", "could not write the build cache's access stamps", { error: String(error) })
      );
    },
  };
}

/** The build-cache format's definition (see `src/formats/index.ts`). */
export const cacheFormat: FormatDefinition = { id: "cache", create: createCacheFormat };
