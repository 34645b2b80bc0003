/**
 * Chooses the storage a configuration asks for: local disk alone (the source
 * of truth, never evicted), or S3 as the source of truth with disk as a
 * bounded cache.
 *
 * @module
 */
import { join } from "node:path";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { DiskStore } from "./disk_store.ts";
import type { ObjectStore } from "./object_store.ts";
import { createS3Client, S3Store } from "./s3_store.ts";
import { TieredStore } from "./tiered_store.ts";

/** How long another node's metadata writes may take to show here, with S3 (ms). */
export const SHARED_METADATA_MAX_AGE_MS = 2_000;

/** The storage of one process. */
export interface OpenStorage {
  store: ObjectStore;
  /** Present when S3 is on: the disk cache in front of it. */
  cache?: TieredStore;
  /** How long metadata may be trusted from memory (see {@link SHARED_METADATA_MAX_AGE_MS}). */
  metadataMaxAgeMs: number;
  /** Finishes background caching and releases connections. */
  close(): Promise<void>;
}

/** Opens (and prepares on disk) the storage for `config`. */
export async function openStorage(config: Config, logger: Logger): Promise<OpenStorage> {
  if (config.s3 === undefined) {
    const store = new DiskStore(join(config.dataDir, "objects"), join(config.dataDir, "tmp", "objects"));
    await store.init();
    return { store, metadataMaxAgeMs: Infinity, close: () => Promise.resolve() };
  }
  const client = createS3Client(config.s3);
  const cache = new TieredStore({
    cacheDir: join(config.dataDir, "cache"),
    remote: new S3Store(client, config.s3.bucket, config.s3.prefix),
    maxBytes: config.diskMaxBytes,
    logger,
  });
  await cache.init();
  logger.log("info", "storage: S3 is the source of truth, disk a cache", {
    bucket: config.s3.bucket,
    prefix: config.s3.prefix,
    endpoint: config.s3.endpoint ?? "(AWS)",
    diskMaxBytes: config.diskMaxBytes,
  });
  return {
    store: cache,
    cache,
    metadataMaxAgeMs: SHARED_METADATA_MAX_AGE_MS,
    async close() {
      await cache.settle();
      client.destroy();
    },
  };
}
