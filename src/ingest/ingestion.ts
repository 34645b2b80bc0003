/**
 * Ingestion wiring: the GitHub source for a configuration, over an open
 * registry, and one sync pass over the configured repositories.
 *
 * @module
 */
import type { GitHubConfig } from "../config.ts";
import type { OpenRegistry } from "../core/open_registry.ts";
import type { Logger } from "../log.ts";
import { ConfigError } from "../config.ts";
import { pluginStorage } from "../plugins/host.ts";
import { DocumentCache } from "../storage/document_cache.ts";
import { GitHubSource, type ProgressListener, RateLimitedError, type SyncSummary } from "./github.ts";

/** A configured GitHub ingestion. */
export interface Ingestion {
  source: GitHubSource;
  /**
   * One pass: the repositories named in `only` (`owner/repo`), or every
   * configured one (REGISTRY_SYNC_PACKAGES and REGISTRY_SPI_PACKAGE_LIST).
   */
  pass(only?: string[], onProgress?: ProgressListener, signal?: AbortSignal): Promise<SyncSummary>;
}

/**
 * Builds the GitHub ingestion for `github` settings over `open`: a source on
 * the same contract as plugin sources (`ctx.registry`, its own storage).
 */
export function createIngestion(
  github: GitHubConfig,
  open: OpenRegistry,
  logger: Logger,
  options: { fetch?: typeof fetch; now?: () => number } = {},
): Ingestion {
  if (!open.formats.some((f) => f.id === "swift")) {
    throw new ConfigError("REGISTRY_GITHUB_TOKEN mirrors Swift packages: REGISTRY_FORMATS must include swift");
  }
  const source = new GitHubSource({
    token: github.token,
    apiUrl: github.apiUrl,
    registry: open.sources.for("github"),
    storage: pluginStorage(open.storage.store, new DocumentCache(open.storage.store, { maxAgeMs: 0 }), "github"),
    logger,
    concurrency: github.concurrency,
    requestTimeoutMs: github.requestTimeoutMs,
    retryAfterMs: github.retryAfterMs,
    fetch: options.fetch,
    clock: options.now && (() => new Date(options.now!())),
  });
  return {
    source,
    async pass(only, onProgress, signal) {
      const startedAt = new Date();
      const empty: SyncSummary = { packages: 0, newVersions: 0, skipped: 0, failed: 0, apiRequests: 0 };
      const waiting = await source.rateLimitedUntil();
      if (waiting !== undefined) {
        logger.log("warn", "sync skipped: rate limited", { until: waiting });
        return { ...empty, rateLimitedUntil: waiting };
      }
      const before = source.requestCount;
      let repositories;
      try {
        repositories = only && only.length > 0
          ? only.map((name) => {
            const [owner, repo] = name.split("/");
            return { owner, repo };
          })
          : github.spiPackageList
          ? await source.fromPackageList(github.spiPackageList, github.packages)
          : await source.resolve(github.packages);
      } catch (error) {
        if (!(error instanceof RateLimitedError)) throw error;
        await source.recordRateLimit(error.until);
        const limited = {
          ...empty,
          apiRequests: source.requestCount - before,
          rateLimitedUntil: error.until.toISOString(),
        };
        await source.recordPass(limited, startedAt);
        return limited;
      }
      const summary = {
        ...await source.sync(repositories, onProgress, signal),
        apiRequests: source.requestCount - before,
      };
      await source.recordPass(summary, startedAt);
      return summary;
    },
  };
}
