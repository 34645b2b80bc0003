/**
 * `main.ts plugin check <path>`: loads and validates a plugin the way start-up
 * does, without serving, and reports what it provides.
 *
 * @module
 */
import { silentLogger } from "../log.ts";
import { capabilities, loadPlugins } from "../plugins/host.ts";
import { DiskStore } from "../storage/disk_store.ts";
import { DocumentCache } from "../storage/document_cache.ts";
import { SourceRegistry } from "../formats/registry_api.ts";

/** Loads the plugin at `use` (path or built-in name) with `options`; returns the exit code. */
export async function runPluginCheck(use: string, options: Record<string, unknown> = {}): Promise<number> {
  const scratch = await Deno.makeTempDir({ prefix: "registry-plugin-check-" });
  const store = new DiskStore(`${scratch}/objects`, `${scratch}/tmp`);
  try {
    await store.init();
    // Nothing is served here: a source that publishes while being checked is told no format is.
    const sources = new SourceRegistry(new DocumentCache(store, { maxAgeMs: 0 }), store);
    const set = await loadPlugins([{ use, options }], {
      store,
      logger: silentLogger,
      metadataMaxAgeMs: 0,
      registry: (name) => sources.for(name),
    });
    const [{ plugin, source, sha256 }] = set.loaded;
    console.log(`ok: plugin "${plugin.name}" from ${source}${sha256 ? ` (sha256 ${sha256})` : ""}`);
    console.log(`provides: ${capabilities(plugin).join(", ") || "nothing"}`);
    return 0;
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 1;
  } finally {
    await store.close();
    await Deno.remove(scratch, { recursive: true });
  }
}
