/**
 * Example ingestion source: publishes the releases listed in a JSON feed file
 * (written by a build system, say) into the registry, in any served format.
 * Releases the registry has are passed over; refused ones are recorded with
 * their reason (operators see them in the status) and not tried again.
 *
 * Feed: `[{ "format": "swift", "scope": "mona", "name": "LinkedList", "version": "1.0.0",
 *   "file": "/srv/artifacts/LinkedList-1.0.0.zip", "metadata": { "description": "..." } }]`
 * Options: `{ "feed": "/srv/feed.json" }`.
 *
 * @module
 */
import type { PackageName, PluginFactory } from "../types.ts";

interface FeedEntry extends PackageName {
  version: string;
  /** Absolute path of the artifact (a source archive, a tarball, a wheel, a module zip). */
  file: string;
  metadata?: Record<string, unknown>;
}

const factory: PluginFactory<{ feed: string }> = ({ options, registry, storage, logger, now }) => {
  if (typeof options.feed !== "string" || !options.feed.startsWith("/")) {
    throw new Error("options.feed must be the absolute path of a JSON feed file");
  }
  return {
    name: "release-feed",
    sources: [{
      name: "release-feed",
      async sync(signal) {
        const feed = JSON.parse(await Deno.readTextFile(options.feed)) as FeedEntry[];
        let published = 0;
        for (const entry of feed) {
          if (signal.aborted) return;
          const pkg: PackageName = { format: entry.format, scope: entry.scope, name: entry.name };
          if (!registry.formats.includes(pkg.format)) {
            logger.warn("format not served here", { format: pkg.format, name: pkg.name });
            continue;
          }
          if ((await registry.versions(pkg))?.[entry.version] !== undefined) continue;
          if ((await registry.skipped(pkg))[entry.version] !== undefined) continue;
          const file = await Deno.open(entry.file, { read: true });
          const outcome = await registry.publish({
            package: pkg,
            version: entry.version,
            archive: file.readable,
            filename: entry.file.split("/").pop(),
            metadata: entry.metadata,
          });
          if (outcome.status === "published") published++;
          if (outcome.status === "refused") await registry.skip(pkg, entry.version, outcome.reason);
        }
        await storage.update("state.json", () => ({ lastSync: new Date(now()).toISOString(), published }));
        logger.info("feed synced", { published });
      },
    }],
  };
};

export default factory;
