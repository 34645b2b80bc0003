/**
 * Wires a configured registry together and serves it: storage, core, auth and
 * the HTTP app, over bounded connections (src/http/listen.ts), with HTTPS when
 * a certificate is configured.
 *
 * @module
 */
import { createAuthChain } from "../auth/chain.ts";
import { type Config, ConfigError } from "../config.ts";
import { hostname } from "node:os";
import { openRegistry } from "../core/open_registry.ts";
import { startSources } from "../ingest/sources.ts";
import { catalogMissing, rebuildCatalog } from "../formats/catalog_rebuild.ts";
import { Scheduler } from "../scheduler/scheduler.ts";
import { LeaseManager } from "../storage/leases.ts";
import type { Logger } from "../log.ts";
import type { TieredStore } from "../storage/tiered_store.ts";
import { VERSION } from "../version.ts";
import { createApp } from "./app.ts";
import { type ConnectionServer, nativeServeOnConnection, serveConnections } from "./listen.ts";
import { Metrics } from "./metrics.ts";
import { defaultMaxConnections, raiseOpenFilesLimit } from "./open_files.ts";
import { problemResponse } from "./problem.ts";
import { createStatus } from "./status.ts";
import { createWebPages } from "../web/pages.ts";
import { type KeyPair, type KeyPairWatcher, readKeyPair, watchKeyPair } from "./tls.ts";

/** A registry that is listening. */
export interface RunningServer {
  /** `http://host:port` (or `https://`) the server listens on. */
  url: string;
  port: number;
  /** Open client connections. */
  readonly connections: number;
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
  nativeServeOnConnection();
  const openFiles = await raiseOpenFilesLimit();
  if (openFiles.raisedFrom !== undefined) {
    logger.log("info", "raised the open-files limit", { from: openFiles.raisedFrom, to: openFiles.limit?.soft });
  }
  if (openFiles.problem !== undefined) {
    logger.log("warn", "the open-files limit is unknown or could not be raised", { problem: openFiles.problem });
  }
  let keyPair: KeyPair | undefined;
  if (config.tls !== undefined) {
    keyPair = await readKeyPair(config.tls).catch((error) => {
      throw new ConfigError(`REGISTRY_TLS_CERT/REGISTRY_TLS_KEY cannot be read: ${(error as Error).message}`);
    });
  }
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
  for (const format of open.formats) format.schedule?.(scheduler);
  // The catalog is rebuilt soon after start when a format has packages but no catalog (they predate it), then daily.
  scheduler.add({
    name: "catalog-rebuild",
    intervalMs: 24 * 3_600_000,
    firstRunAfterMs: await catalogMissing(open.formats, storage.store, open.catalog) ? 0 : 24 * 3_600_000,
    leaseTtlMs: 10 * 60_000,
    run: () =>
      rebuildCatalog(open.formats, storage.store, open.documents, open.catalog, logger, options.now ?? Date.now)
        .then(() => {}),
  });
  const sources = startSources(config, open, scheduler, logger, metrics);
  const status = createStatus({ config, open, sources, scheduler, version: VERSION });
  const pages = !config.web ? undefined : createWebPages({
    formats: open.formats,
    catalog: open.catalog,
    auth,
    status,
    runJob: (name) => {
      if (!scheduler.status().some((job) => job.name === name)) return false;
      scheduler.requestRun(name);
      return true;
    },
    version: VERSION,
  });
  const app = createApp({
    formats: open.formats,
    pages,
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

  let server: ConnectionServer;
  const maxConnections = config.connections.max ?? defaultMaxConnections(openFiles.limit);
  try {
    server = serveConnections({
      hostname: config.host,
      port: config.port,
      tls: keyPair,
      limits: {
        maxConnections,
        maxPerIp: config.connections.perIp,
        headerTimeoutMs: config.connections.headerTimeoutMs,
        idleTimeoutMs: config.connections.idleTimeoutMs,
        exemptIps: config.rateLimit.trustedProxies,
      },
      handler: app.fetch,
      onError: (error) => {
        logger.log("error", "unhandled error outside the app", { error: String(error) });
        return problemResponse(500, "Internal Server Error", "internal error");
      },
      logger,
    });
  } catch (error) {
    sources.stop();
    await scheduler.stop();
    await open.close();
    const message = (error as Error).message;
    throw new ConfigError(
      keyPair !== undefined && !(error instanceof Deno.errors.AddrInUse) &&
        !(error instanceof Deno.errors.PermissionDenied)
        ? `REGISTRY_TLS_CERT/REGISTRY_TLS_KEY cannot be used: ${message}`
        : `REGISTRY_HOST/REGISTRY_PORT (--host/--port): cannot listen on ${config.host}:${config.port}: ${message}`,
    );
  }
  metrics.observeConnections(() => server.stats());
  const port = server.addr.port;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `${keyPair === undefined ? "http" : "https"}://${host}:${port}`;
  let watcher: KeyPairWatcher | undefined;
  if (config.tls !== undefined && keyPair !== undefined) {
    watcher = watchKeyPair(config.tls, keyPair, (pair) => server.replaceKeyPair(pair), logger);
  }
  logger.log("info", "registry listening", {
    url,
    swift: `${config.publicUrl ?? url}/swift`,
    dataDir: config.dataDir,
    maxConnections,
    openFilesLimit: openFiles.limit?.soft,
  });
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
    get connections() {
      return server.connections;
    },
    async shutdown() {
      watcher?.stop();
      sources.stop();
      await scheduler.stop();
      await server.shutdown();
      await open.close();
    },
  };
}
