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
import { type OpenStorage, openStorage, type OpenStorageOptions } from "../storage/open_storage.ts";
import { ScratchDir } from "../storage/scratch_dir.ts";
import type { Metrics } from "../http/metrics.ts";
import { Registry } from "./registry.ts";

/** A registry with everything it was built from. */
export interface OpenRegistry {
  registry: Registry;
  storage: OpenStorage;
  plugins: PluginSet;
  /** Where uploads and transformed archives are staged: a directory of this process only. */
  scratchDir: string;
  close(): Promise<void>;
}

/**
 * Opens storage, loads the plugins and builds the registry. Scratch files go
 * to a directory of this process under `<data>/tmp/<scratchName>`, so other
 * processes on the same data directory are never disturbed.
 *
 * @throws {ConfigError} when a plugin cannot be loaded.
 */
export async function openRegistry(
  config: Config,
  logger: Logger,
  scratchName = "uploads",
  metrics?: Metrics,
  storageOptions: OpenStorageOptions = {},
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
  let plugins: PluginSet;
  try {
    plugins = await loadPlugins(pluginSpecs(config), {
      store: storage.store,
      logger,
      metadataMaxAgeMs: storage.metadataMaxAgeMs,
      onHookError: (plugin) => metrics?.pluginErrors.inc({ plugin }),
    });
  } catch (error) {
    await scratch.release();
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
  });
  return {
    registry,
    storage,
    plugins,
    scratchDir,
    async close() {
      await registry.settle();
      await scratch.release();
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
