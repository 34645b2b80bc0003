/**
 * Chooses the storage a configuration asks for: local disk alone (the source
 * of truth, never evicted, except copies pulled through from upstream
 * registries, bounded by `REGISTRY_DISK_MAX_BYTES`: src/storage/evicting_store.ts),
 * or S3 as the source of truth with disk as a bounded cache.
 *
 * @module
 */
import { join } from "node:path";
import { type Config, ConfigError } from "../config.ts";
import type { Logger } from "../log.ts";
import { ChangeCounters, ChangeCountingStore } from "./change_counters.ts";
import { DiskStore } from "./disk_store.ts";
import { EvictingStore, type EvictingStoreStats } from "./evicting_store.ts";
import { type ObjectStore, StorageUnavailableError } from "./object_store.ts";
import { createS3Clients, type S3Clients, S3Store } from "./s3_store.ts";
import { TieredStore, type TieredStoreStats } from "./tiered_store.ts";

/**
 * How long metadata may be trusted from memory before it is revalidated (ms):
 * other processes write it too (nodes sharing a bucket; `main.ts sync` or
 * `main.ts token` beside a server on one data directory).
 */
export const SHARED_METADATA_MAX_AGE_MS = 2_000;

/** What the storage is and how it is doing, for the operators' status. */
export interface StorageStatus {
  /** `disk` (the data directory is the source of truth) or `s3` (the bucket is; disk a cache). */
  backend: "disk" | "s3";
  s3?: {
    bucket: string;
    prefix: string;
    endpoint?: string;
    /** Whether the bucket answered just now. */
    reachable: boolean;
    error?: string;
  };
  /** The disk caches in front of S3: the main one and any format's own. */
  diskCaches: Array<{ name: string; usedBytes: number; maxBytes: number } & TieredStoreStats>;
  /** On local disk alone: the copies of upstream registries' bytes this worker bounds. */
  upstreamCopies?: EvictingStoreStats;
}

/** Keys of everything pulled through from an upstream registry: copies a node may evict and fetch again. */
export const UPSTREAM_COPIES_PREFIX = "upstream/";

/** The storage of one process. */
export interface OpenStorage {
  store: ObjectStore;
  /** Present when S3 is on and the disk cache was asked for: the cache in front of it. */
  cache?: TieredStore;
  /** How long metadata may be trusted from memory (see {@link SHARED_METADATA_MAX_AGE_MS}). */
  metadataMaxAgeMs: number;
  /**
   * A store on the same source of truth whose disk cache is its own: with S3,
   * a separate disk tier under `<data>/cache-<name>` bounded by `diskBytes`,
   * so its objects and other cached copies never evict each other; without a
   * disk cache (local disk alone, or a command beside a server), {@link store} itself.
   */
  separateStore(name: string, diskBytes: number): Promise<ObjectStore>;
  /** What the storage is and how it is doing (with S3, asks the bucket). */
  status(): Promise<StorageStatus>;
  /** Finishes background caching and releases connections and scratch directories. */
  close(): Promise<void>;
}

/** Options of {@link openStorage}. */
export interface OpenStorageOptions {
  /**
   * With S3: keep a disk cache in `<data>/cache` (default `true`). The cache
   * belongs to one process: commands that run beside a server (`token`,
   * `sync`) turn it off and talk to S3 directly. On local disk alone, they do
   * not take on the bound of upstream copies either.
   */
  diskCache?: boolean;
  /**
   * The worker opening the storage (src/http/workers.ts; index 0 for the first
   * or only one). With S3, each worker keeps a disk cache of its own with an
   * equal share of the budget (the cache's index lives in its memory).
   */
  worker?: { index: number; count: number };
  /**
   * Change counters shared by the workers: every write through the returned
   * stores bumps them (see src/storage/change_counters.ts).
   */
  changes?: ChangeCounters;
}

/** Opens (and prepares on disk) the storage for `config`. */
export async function openStorage(
  config: Config,
  logger: Logger,
  metrics?: { instrumentS3(client: S3Clients["client"]): void },
  options: OpenStorageOptions = {},
): Promise<OpenStorage> {
  const { index, count } = options.worker ?? { index: 0, count: 1 };
  const own = (dir: string) => index === 0 ? dir : `${dir}-worker${index}`;
  const changes = options.changes ?? new ChangeCounters();
  const counted = (inner: ObjectStore) => new ChangeCountingStore(inner, changes);
  if (config.s3 === undefined) {
    const disk = new DiskStore(join(config.dataDir, "objects"), join(config.dataDir, "tmp", "objects"));
    await disk.init();
    const bounded = new EvictingStore(disk, {
      prefix: UPSTREAM_COPIES_PREFIX,
      maxBytes: Math.floor(config.diskMaxBytes / count),
      logger,
    });
    // Commands beside a server (diskCache: false) leave the copies to the server's workers.
    if (options.diskCache !== false) await bounded.adoptExisting(index, count);
    const store = counted(bounded);
    return {
      store,
      metadataMaxAgeMs: SHARED_METADATA_MAX_AGE_MS,
      separateStore: () => Promise.resolve(store),
      status: () => Promise.resolve({ backend: "disk", diskCaches: [], upstreamCopies: bounded.stats }),
      close: () => disk.close(),
    };
  }
  const clients = createS3Clients(config.s3);
  metrics?.instrumentS3(clients.client);
  metrics?.instrumentS3(clients.conditional);
  const remote = new S3Store(clients, config.s3.bucket, config.s3.prefix);
  try {
    await remote.checkBucket();
  } catch (error) {
    if (!(error instanceof StorageUnavailableError)) {
      clients.destroy();
      throw new ConfigError(`REGISTRY_S3_BUCKET: ${(error as Error).message}`);
    }
    // Unreachable right now: start anyway, serve what the disk has, recover when S3 does.
    logger.log("warn", "S3 is unreachable at start-up; serving from the disk cache until it answers", {
      error: error.message,
    });
  }
  const s3 = config.s3;
  const s3Status = async (tiers: Array<[string, TieredStore]>): Promise<StorageStatus> => {
    let error: string | undefined;
    await remote.checkBucket().catch((e) => error = (e as Error).message);
    return {
      backend: "s3",
      s3: {
        bucket: s3.bucket,
        prefix: s3.prefix,
        ...(s3.endpoint === undefined ? {} : { endpoint: s3.endpoint }),
        reachable: error === undefined,
        ...(error === undefined ? {} : { error }),
      },
      diskCaches: tiers.map(([name, tier]) => ({
        name,
        usedBytes: tier.usedBytes,
        maxBytes: tier.maxBytes,
        ...tier.stats,
      })),
    };
  };
  if (options.diskCache === false) {
    const store = counted(remote);
    return {
      store,
      metadataMaxAgeMs: SHARED_METADATA_MAX_AGE_MS,
      separateStore: () => Promise.resolve(store),
      status: () => s3Status([]),
      close: () => Promise.resolve(clients.destroy()),
    };
  }
  const cache = new TieredStore({
    cacheDir: join(config.dataDir, own("cache")),
    remote,
    maxBytes: Math.floor(config.diskMaxBytes / count),
    logger,
  });
  await cache.init();
  logger.log("info", "storage: S3 is the source of truth, disk a cache", {
    bucket: config.s3.bucket,
    prefix: config.s3.prefix,
    endpoint: config.s3.endpoint ?? "(AWS)",
    diskMaxBytes: config.diskMaxBytes,
  });
  const separateTiers: Array<[string, TieredStore]> = [];
  return {
    store: counted(cache),
    cache,
    metadataMaxAgeMs: SHARED_METADATA_MAX_AGE_MS,
    async separateStore(name, diskBytes) {
      if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`invalid store name ${JSON.stringify(name)}`);
      const tier = new TieredStore({
        cacheDir: join(config.dataDir, own(`cache-${name}`)),
        remote,
        maxBytes: Math.floor(diskBytes / count),
        logger,
      });
      await tier.init();
      separateTiers.push([name, tier]);
      return counted(tier);
    },
    status: () => s3Status([["main", cache], ...separateTiers]),
    async close() {
      await cache.close();
      for (const [, tier] of separateTiers) await tier.close();
      clients.destroy();
    },
  };
}
