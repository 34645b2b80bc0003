/**
 * Assembles a registry for a configuration: storage, plugins and the core.
 * Shared by the server and by commands that work on the same data (`sync`).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { type Config, ConfigError } from "../config.ts";
import type { Logger } from "../log.ts";
import { loadPlugins, PluginLoadError, type PluginSet } from "../plugins/host.ts";
import type { PluginSpec } from "../plugins/spec.ts";
import { type OpenStorage, openStorage } from "../storage/open_storage.ts";
import type { Metrics } from "../http/metrics.ts";
import { Registry } from "./registry.ts";

/** A registry with everything it was built from. */
export interface OpenRegistry {
  registry: Registry;
  storage: OpenStorage;
  plugins: PluginSet;
  /** Where uploads and transformed archives are staged. */
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
}

/**
 * Opens storage, loads the plugins and builds the registry.
 *
 * @throws {ConfigError} when a plugin cannot be loaded.
 */
export async function openRegistry(
  config: Config,
  logger: Logger,
  { scratchName = "uploads", metrics, now = Date.now }: OpenRegistryOptions = {},
): Promise<OpenRegistry> {
  const storage = await openStorage(config, logger, metrics);
  const scratchDir = join(config.dataDir, "tmp", scratchName);
  await Deno.remove(scratchDir, { recursive: true }).catch(() => {});
  await Deno.mkdir(scratchDir, { recursive: true });
  let plugins: PluginSet;
  try {
    plugins = await loadPlugins(pluginSpecs(config), {
      store: storage.store,
      logger,
      metadataMaxAgeMs: storage.metadataMaxAgeMs,
      onHookError: (plugin) => metrics?.pluginErrors.inc({ plugin }),
      now,
    });
  } catch (error) {
    await storage.close();
    if (error instanceof PluginLoadError) throw new ConfigError(error.message);
    throw error;
  }
  const registry = new Registry({
    store: storage.store,
    logger,
    metadataMaxAgeMs: storage.metadataMaxAgeMs,
    transforms: plugins.transforms,
    afterPublish: plugins.afterPublish,
    scratchDir,
    archiveLimits: config.archiveLimits,
    archiveCacheBytes: config.memoryCacheBytes,
    clock: () => new Date(now()),
  });
  return {
    registry,
    storage,
    plugins,
    scratchDir,
    async close() {
      await registry.settle();
      await storage.close();
    },
  };
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
