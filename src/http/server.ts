/**
 * Wires a configured registry together and serves it: storage, core, auth and
 * the HTTP app, on `Deno.serve`.
 *
 * @module
 */
import { createAuthChain } from "../auth/chain.ts";
import { type Config, ConfigError } from "../config.ts";
import { hostname } from "node:os";
import { openRegistry } from "../core/open_registry.ts";
import { startSources } from "../ingest/sources.ts";
import { Scheduler } from "../scheduler/scheduler.ts";
import { LeaseManager } from "../storage/leases.ts";
import type { Logger } from "../log.ts";
import type { TieredStore } from "../storage/tiered_store.ts";
import { VERSION } from "../version.ts";
import { createApp } from "./app.ts";
import { Metrics } from "./metrics.ts";

/** A registry that is listening. */
export interface RunningServer {
  /** `http://host:port` the server listens on. */
  url: string;
  port: number;
  /** The in-process job runner (ingestion passes). */
  scheduler: Scheduler;
  /** The disk cache in front of S3, when S3 is on (for tests and metrics). */
  cache?: TieredStore;
  /** Stops accepting, finishes in-flight requests and background publishes. */
  shutdown(): Promise<void>;
}

/** Optional dependencies of {@link startServer}. */
export interface ServerOptions {
  /** The clock (default `Date.now`); tests pass their own to control time. */
  now?: () => number;
}

/**
 * Starts a registry for `config`, logging to `logger`.
 *
 * @throws {ConfigError} when it cannot listen on the configured host and port.
 */
export async function startServer(
  config: Config,
  logger: Logger,
  options: ServerOptions = {},
): Promise<RunningServer> {
  const metrics = new Metrics();
  const open = await openRegistry(config, logger, { metrics, now: options.now });
  const { storage, plugins } = open;
  const auth = createAuthChain(plugins.authProviders, { requireAuthForRead: config.requireAuthForRead });
  const scheduler = new Scheduler(new LeaseManager(storage.store, { owner: hostname() }), logger);
  if (storage.cache !== undefined) {
    metrics.observeCache(storage.cache);
    // Writes evict as they go; this sweep also catches a budget lowered between restarts.
    const cache = storage.cache;
    scheduler.add({ name: "disk-eviction", intervalMs: 10 * 60_000, run: () => cache.evictIfNeeded() });
  }
  const sources = await startSources(config, open, scheduler, logger, metrics);
  const ingestion = sources.github;
  const status = async () => ({
    ingestion: ingestion === undefined ? { enabled: false, reason: "REGISTRY_GITHUB_TOKEN is not set" } : {
      enabled: true,
      rateLimitedUntil: await ingestion.source.rateLimitedUntil(),
      ...await ingestion.source.status(),
    },
    filesystem: sources.filesystemRoot === undefined
      ? { enabled: false }
      : { enabled: true, root: sources.filesystemRoot },
    jobs: scheduler.status(),
  });
  const app = createApp({
    formats: open.formats,
    auth,
    logger,
    metrics,
    metricsTokenSha256: config.metricsTokenSha256,
    rateLimit: config.rateLimit,
    requestTimeoutMs: config.requestTimeoutMs,
    status,
    publicUrl: config.publicUrl,
    version: VERSION,
    now: options.now ?? Date.now,
  });

  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({ hostname: config.host, port: config.port, onListen: () => {} }, app.fetch);
  } catch (error) {
    sources.stop();
    await scheduler.stop();
    await open.close();
    throw new ConfigError(
      `REGISTRY_HOST/REGISTRY_PORT (--host/--port): cannot listen on ${config.host}:${config.port}: ${
        (error as Error).message
      }`,
    );
  }
  const port = server.addr.port;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  logger.log("info", "registry listening", { url, swift: `${config.publicUrl ?? url}/swift`, dataDir: config.dataDir });
  if (config.github === undefined) {
    logger.log("info", "ingestion is off: REGISTRY_GITHUB_TOKEN is not set");
  }
  if (!auth.acceptsCredentials) {
    logger.log("warn", "publishing is disabled: set REGISTRY_ADMIN_TOKEN or configure an auth plugin");
  }
  return {
    url,
    port,
    cache: storage.cache,
    scheduler,
    async shutdown() {
      sources.stop();
      await scheduler.stop();
      await server.shutdown();
      await open.close();
    },
  };
}
