/**
 * Example ingestion source: reports the package folders found in a directory
 * and remembers when it last looked, in the plugin's own storage. (What a
 * source hands to the registry is defined by the ingestion work; this shows
 * the shape and the context a source gets.)
 *
 * Options: `{ "path": "/srv/packages" }`.
 *
 * @module
 */
import type { PluginFactory } from "../types.ts";

const factory: PluginFactory<{ path: string }> = ({ options, logger, storage }) => {
  if (typeof options.path !== "string" || !options.path.startsWith("/")) {
    throw new Error("options.path must be an absolute directory path");
  }
  return {
    name: "directory-source",
    sources: [{
      name: "directory",
      async sync(signal) {
        const packages: string[] = [];
        for await (const entry of Deno.readDir(options.path)) {
          if (signal.aborted) return;
          if (entry.isDirectory) packages.push(entry.name);
        }
        await storage.update<{ lastSync: string; packages: string[] }>("state.json", () => ({
          lastSync: new Date().toISOString(),
          packages: packages.sort(),
        }));
        logger.info("directory scanned", { packages: packages.length });
      },
    }],
  };
};

export default factory;
