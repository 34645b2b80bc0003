/**
 * Assembles a registry for a configuration: storage, plugins, the publish
 * pipeline and the served formats. Shared by the server and by commands that
 * work on the same data (`sync`).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { hostname } from "node:os";
import { join } from "node:path";
import { type Config, ConfigError } from "../config.ts";
import type { Format } from "../formats/format.ts";
import { FORMATS } from "../formats/index.ts";
import { SourceRegistry } from "../formats/registry_api.ts";
import { Metrics } from "../http/metrics.ts";
import type { Logger } from "../log.ts";
import { loadPlugins, type NamedTransform, PluginLoadError, type PluginSet } from "../plugins/host.ts";
import type { PluginSpec } from "../plugins/spec.ts";
import { DocumentCache } from "../storage/document_cache.ts";
import { LeaseManager } from "../storage/leases.ts";
import { type OpenStorage, openStorage, type OpenStorageOptions } from "../storage/open_storage.ts";
import { ScratchDir } from "../storage/scratch_dir.ts";
import { NO_PEERS, type Peers } from "../util/peers.ts";
import { Artifacts } from "./artifacts.ts";
import { Catalog } from "./catalog.ts";
import { Publisher } from "./publisher.ts";
import { ArchiveReadmes } from "./readmes.ts";
import { Upstream } from "./upstream.ts";

/** A registry with everything it was built from. */
export interface OpenRegistry {
  storage: OpenStorage;
  plugins: PluginSet;
  publisher: Publisher;
  /** The served formats, in mounting order. */
  formats: Format[];
  /** `ctx.registry` of the ingestion sources. */
  sources: SourceRegistry;
  /** Package summaries of every served format. */
  catalog: Catalog;
  /** The JSON documents of the core and the formats (package documents, indexes, the catalog). */
  documents: DocumentCache;
  /** The formats' pull-through upstreams (for their health in the status). */
  upstreams: Upstream[];
  /** The formats' stored artifacts. */
  artifacts: Artifacts;
  /** Where uploads and transformed archives are staged: a directory of this process only. */
  scratchDir: string;
  close(): Promise<void>;
}

/** Optional parts of {@link openRegistry}. */
export interface OpenRegistryOptions {
  /** Name of this process's scratch directory under `<data>/tmp` (default `uploads`). */
  scratchName?: string;
  metrics?: Metrics;
  /** The clock (default `Date.now`); tests pass their own to control time. */
  now?: () => number;
  /** The `fetch` for outbound HTTP (upstreams, plugins). */
  fetch?: typeof fetch;
  /**
   * How storage is opened (commands beside a running server skip the disk
   * cache; a worker of several says which it is and shares change counters).
   */
  storageOptions?: OpenStorageOptions;
  /** The other workers of this process, when there are several (see src/http/workers.ts). */
  peers?: Peers;
}

/**
 * Opens storage, loads the plugins, and builds the publish pipeline and the
 * formats `config.formats` names. Scratch files go to a directory of this
 * process under `<data>/tmp/<scratchName>`, so other processes on the same
 * data directory are never disturbed.
 *
 * @throws {ConfigError} when a plugin cannot be loaded.
 */
export async function openRegistry(
  config: Config,
  logger: Logger,
  {
    scratchName = "uploads",
    metrics = new Metrics(),
    now = Date.now,
    fetch = globalThis.fetch,
    storageOptions = {},
    peers = NO_PEERS,
  }: OpenRegistryOptions = {},
): Promise<OpenRegistry> {
  const storage = await openStorage(config, logger, metrics, storageOptions);
  let scratch: ScratchDir;
  try {
    scratch = await ScratchDir.claim(join(config.dataDir, "tmp", scratchName));
  } catch (error) {
    await storage.close();
    throw error;
  }
  const scratchDir = scratch.path;
  const documents = new DocumentCache(storage.store, { maxAgeMs: storage.metadataMaxAgeMs, clock: now });
  const sources = new SourceRegistry(documents, storage.store);
  const hostDeps = {
    store: storage.store,
    logger,
    metadataMaxAgeMs: storage.metadataMaxAgeMs,
    onHookError: (plugin: string) => metrics.pluginErrors.inc({ plugin }),
    now,
    fetch,
    registry: (name: string) => sources.for(name),
  };
  let plugins: PluginSet;
  let ingestTransforms: NamedTransform[];
  try {
    plugins = await loadPlugins(pluginSpecs(config), hostDeps);
    ingestTransforms = await ingestionTransforms(plugins, () => loadPlugins([{ use: "normalize-archive" }], hostDeps));
  } catch (error) {
    await scratch.release();
    await storage.close();
    if (error instanceof PluginLoadError) throw new ConfigError(error.message);
    throw error;
  }
  const catalog = new Catalog({ documents, formats: config.formats, logger });
  const publisher = new Publisher({
    documents,
    catalog,
    claims: new LeaseManager(storage.store, { owner: hostname(), clock: now, prefix: "claims/" }),
    transforms: { publish: plugins.transforms, ingest: ingestTransforms },
    afterPublish: plugins.afterPublish,
    scratchDir,
    logger,
    now,
  });
  const upstreams: Upstream[] = [];
  const artifacts = new Artifacts({ store: storage.store, memoryBytes: config.memoryCacheBytes });
  const services = {
    config,
    publisher,
    artifacts,
    catalog,
    readmes: new ArchiveReadmes({ artifacts, store: storage.store, logger }),
    documents,
    store: storage.store,
    separateStore: (name: string, diskBytes: number) => storage.separateStore(name, diskBytes),
    scratchDir,
    logger,
    metrics,
    now,
    peers,
    upstream: (format: string, maxArtifactBytes: number) => {
      const settings = config.upstreams[format];
      if (settings === undefined) return undefined;
      const upstream = new Upstream({
        ...settings,
        format,
        store: storage.store,
        scratchDir,
        logger,
        fetch,
        now,
        maxArtifactBytes,
        onStale: (name) => metrics.upstreamStale.inc({ format: name }),
      });
      upstreams.push(upstream);
      return upstream;
    },
  };
  const formats: Format[] = [];
  for (const definition of FORMATS) {
    if (config.formats.includes(definition.id)) formats.push(await definition.create(services));
  }
  sources.bind(formats);
  return {
    storage,
    plugins,
    publisher,
    formats,
    sources,
    catalog,
    documents,
    upstreams,
    artifacts,
    scratchDir,
    async close() {
      for (const format of formats) await format.close?.();
      await publisher.settle();
      await scratch.release();
      await storage.close();
    },
  };
}

/**
 * The transforms ingested artifacts go through: `normalize-archive` first
 * (zipballs may hold symlinks and macOS junk; the operator's instance and
 * options when it is configured), then the other configured transforms.
 */
async function ingestionTransforms(
  plugins: PluginSet,
  loadDefault: () => Promise<PluginSet>,
): Promise<NamedTransform[]> {
  const configured = plugins.transforms.filter((t) => t.plugin === "normalize-archive");
  const normalize = configured.length > 0 ? configured : (await loadDefault()).transforms;
  return [...normalize, ...plugins.transforms.filter((t) => t.plugin !== "normalize-archive")];
}

/**
 * The plugins to load: the operator's admin token first (as a static-token
 * provider with every scope, when `REGISTRY_ADMIN_TOKEN` is set), then the
 * configured plugins in order.
 */
export function pluginSpecs(config: Config): PluginSpec[] {
  const admin: PluginSpec[] = config.adminTokenSha256 === undefined ? [] : [{
    use: "static-token",
    options: {
      tokens: [{
        name: "admin",
        sha256: Buffer.from(config.adminTokenSha256).toString("hex"),
        scopes: ["read", "publish", "admin"],
      }],
    },
  }];
  return [...admin, ...config.plugins];
}
